/** A hospital group: patients, care, billing, staff and the medical supply chain: 96 tables. */
export const CLINIC = `
patients: Patients registered at any facility | id, mrn(medical record number), first_name, last_name, birth_date, sex, phone, email, address, city, postal_code, primary_provider_id>providers, created_at, deceased_on
patient_contacts: Next of kin and emergency contacts of patients | id, patient_id>patients, name, relationship, phone, is_emergency_contact
insurers: Insurance companies and public payers | id, name, payer_code, kind(private, medicare, medicaid, self_pay), phone
insurance_plans: Plans offered by insurers | id, insurer_id>insurers, name, plan_type(hmo, ppo, epo), copay_amount, deductible_amount
patient_insurance: Coverage of a patient (policy number, dates) | id, patient_id>patients, plan_id>insurance_plans, member_number, group_number, valid_from, valid_to, is_primary
facilities: Hospitals, clinics and labs of the group | id, name, kind(hospital, clinic, lab, imaging_center), address, city, phone, opened_on
departments: Clinical departments (cardiology, emergency, pediatrics) | id, facility_id>facilities, name, code, floor
specialties: Medical specialties | id, name, code
providers: Physicians, nurse practitioners and other clinicians who see patients | id, npi, first_name, last_name, kind(physician, nurse_practitioner, physician_assistant, therapist), primary_specialty_id>specialties, department_id>departments, hired_on, is_active, email
provider_specialties: All specialties a provider is board certified in | provider_id*>providers, specialty_id*>specialties, certified_on
nurses: Nursing staff | id, first_name, last_name, license_number, department_id>departments, hired_on, is_active
staff_shifts: Shifts worked by nurses and providers | id, nurse_id>nurses, provider_id>providers, department_id>departments, starts_at, ends_at, role
on_call_schedules: Which provider is on call for a department | id, provider_id>providers, department_id>departments, starts_at, ends_at
rooms: Exam rooms, operating rooms and wards | id, facility_id>facilities, department_id>departments, room_number, kind(exam, operating, ward, icu)
beds: Inpatient beds in rooms | id, room_id>rooms, bed_label, is_available
appointment_types: Visit types and their default length | id, name, duration_minutes:integer, is_telehealth
appointments: Scheduled visits of patients with providers | id, patient_id>patients, provider_id>providers, facility_id>facilities, room_id>rooms, appointment_type_id>appointment_types, starts_at, ends_at, status(scheduled, checked_in, completed, cancelled, no_show), booked_at, reason
appointment_reminders: SMS and email reminders for appointments | id, appointment_id>appointments, channel(sms, email), sent_at, confirmed_at
waitlist_entries: Patients waiting for an earlier slot | id, patient_id>patients, provider_id>providers, requested_at, earliest_date, status
encounters: Clinical encounters: a visit, an ER stay or an inpatient day with its documentation | id, patient_id>patients, provider_id>providers, appointment_id>appointments, admission_id>admissions, facility_id>facilities, encounter_type(office, emergency, inpatient, telehealth), started_at, ended_at, chief_complaint
vital_signs: Vitals measured during an encounter | id, encounter_id>encounters, measured_at, systolic_bp:integer, diastolic_bp:integer, heart_rate:integer, temperature_c:numeric(4,1), respiratory_rate:integer, spo2:integer, weight_kg:numeric(5,1), height_cm:numeric(5,1)
diagnosis_codes: ICD-10 diagnosis codes | id, code, description, chapter
encounter_diagnoses: Diagnoses recorded in an encounter | id, encounter_id>encounters, diagnosis_code_id>diagnosis_codes, is_primary, noted_at
problem_list: A patient's ongoing conditions (chronic problems) | id, patient_id>patients, diagnosis_code_id>diagnosis_codes, onset_date, resolved_date, status(active, resolved)
procedure_codes: CPT / procedure codes | id, code, description, base_price
encounter_procedures: Procedures performed in an encounter | id, encounter_id>encounters, procedure_code_id>procedure_codes, provider_id>providers, performed_at, quantity
surgeries: Operations performed in operating rooms | id, patient_id>patients, surgeon_provider_id>providers, anesthesiologist_provider_id>providers, room_id>rooms, procedure_code_id>procedure_codes, scheduled_at, started_at, ended_at, outcome
medications: Drug catalogue (name, form, strength) | id, name, generic_name, form, strength, rxnorm_code, is_controlled
prescriptions: Medications prescribed to patients | id, patient_id>patients, provider_id>providers, encounter_id>encounters, medication_id>medications, dose, frequency, route, quantity, refills:integer, prescribed_at, pharmacy_id>pharmacies, status(active, completed, cancelled)
pharmacies: Pharmacies prescriptions are sent to | id, name, address, phone, is_in_house
prescription_fills: Dispensing of prescriptions by pharmacies | id, prescription_id>prescriptions, pharmacy_id>pharmacies, filled_at, quantity, pharmacist_name
medication_administrations: Doses given to inpatients by nurses | id, admission_id>admissions, medication_id>medications, nurse_id>nurses, dose, administered_at, route
allergens: Substances patients can be allergic to | id, name, kind(drug, food, environmental)
patient_allergies: Allergies of patients and their severity | id, patient_id>patients, allergen_id>allergens, reaction, severity(mild, moderate, severe), noted_on
vaccines: Vaccine catalogue | id, name, cvx_code, manufacturer
immunizations: Vaccinations given to patients | id, patient_id>patients, vaccine_id>vaccines, administered_on, dose_number:integer, lot_number, nurse_id>nurses
lab_tests: Lab test catalogue (CBC, HbA1c, lipid panel) | id, name, loinc_code, specimen_type, unit, reference_low:numeric(10,3), reference_high:numeric(10,3), price
lab_orders: Lab tests ordered by providers | id, patient_id>patients, provider_id>providers, encounter_id>encounters, lab_test_id>lab_tests, ordered_at, priority(routine, urgent, stat), status(ordered, collected, resulted, cancelled)
specimens: Samples collected for lab orders | id, lab_order_id>lab_orders, collected_at, collected_by_nurse_id>nurses, specimen_type, barcode
lab_results: Results of lab tests | id, lab_order_id>lab_orders, resulted_at, value:numeric(12,4), unit, is_abnormal, comment
imaging_orders: Radiology orders (X-ray, CT, MRI) | id, patient_id>patients, provider_id>providers, encounter_id>encounters, modality(xray, ct, mri, ultrasound), body_part, ordered_at, status
imaging_studies: Images taken and the radiologist's report | id, imaging_order_id>imaging_orders, performed_at, radiologist_provider_id>providers, report, impression
referrals: Referrals from one provider to another or to a specialty | id, patient_id>patients, from_provider_id>providers, to_provider_id>providers, specialty_id>specialties, reason, referred_at, status
admissions: Inpatient hospital stays | id, patient_id>patients, facility_id>facilities, admitting_provider_id>providers, admitted_at, discharged_at, admission_type(emergency, elective, transfer), discharge_disposition(home, rehab, deceased, transfer)
bed_assignments: Which bed an admitted patient is in, over time | id, admission_id>admissions, bed_id>beds, assigned_at, released_at
transfers: Patient transfers between departments or facilities | id, admission_id>admissions, from_department_id>departments, to_department_id>departments, transferred_at, reason
clinical_notes: Provider notes (SOAP, progress, discharge summary) | id, encounter_id>encounters, provider_id>providers, note_type, body, signed_at
nursing_notes: Nurses' notes during a stay | id, admission_id>admissions, nurse_id>nurses, body, created_at
care_plans: Care plans for patients with chronic conditions | id, patient_id>patients, provider_id>providers, title, starts_on, ends_on, status
care_plan_goals: Goals of a care plan | id, care_plan_id>care_plans, description, target_date, achieved_on
family_history: Conditions of patients' relatives | id, patient_id>patients, relative, diagnosis_code_id>diagnosis_codes, noted_on
social_history: Smoking, alcohol and occupation of patients | id, patient_id>patients, smoking_status, alcohol_use, occupation, updated_at
consents: Consent forms patients signed | id, patient_id>patients, kind, signed_at, expires_on, document_url
claims: Insurance claims billed for encounters | id, patient_id>patients, encounter_id>encounters, patient_insurance_id>patient_insurance, submitted_at, total_billed, total_allowed, total_paid, status(submitted, accepted, denied, paid), denial_reason
claim_lines: Billed procedures on a claim | id, claim_id>claims, procedure_code_id>procedure_codes, diagnosis_code_id>diagnosis_codes, units:integer, billed_amount, allowed_amount, paid_amount
remittances: Payments received from insurers for claims | id, claim_id>claims, insurer_id>insurers, paid_amount, paid_at, check_number
patient_statements: Bills sent to patients for what insurance did not pay | id, patient_id>patients, statement_date, amount_due, due_date, status
patient_payments: Payments made by patients (copays, balances) | id, patient_id>patients, statement_id>patient_statements, amount, method(card, cash, check), paid_at
copays: Copays collected at check-in | id, appointment_id>appointments, amount, collected_at
charge_master: Prices of billable items per facility | id, facility_id>facilities, procedure_code_id>procedure_codes, price, effective_from
telehealth_sessions: Video visits and their connection quality | id, appointment_id>appointments, started_at, ended_at, platform, quality_score:integer
portal_accounts: Patients' accounts on the patient portal | id, patient_id>patients, username, created_at, last_login_at, is_active
portal_messages: Secure messages between patients and the care team | id, portal_account_id>portal_accounts, provider_id>providers, subject, body, sent_at, read_at, direction(inbound, outbound)
patient_surveys: Satisfaction survey answers after visits | id, appointment_id>appointments, patient_id>patients, score, comment, submitted_at
access_audit_log: Who opened which patient chart (HIPAA audit) | id, user_name, patient_id>patients, action, accessed_at, ip_address
supply_items: Medical supplies and consumables (gloves, syringes, stents) | id, name, sku, unit, category, reorder_level:integer, unit_cost, is_sterile
supply_vendors: Companies that sell medical supplies | id, name, contact_email, phone, lead_time_days:integer
vendor_items: Supplies each vendor sells and their price | id, vendor_id>supply_vendors, supply_item_id>supply_items, vendor_sku, price
supply_orders: Purchase orders for medical supplies | id, vendor_id>supply_vendors, facility_id>facilities, ordered_at, expected_at, received_at, status(draft, ordered, received, cancelled), total_cost
supply_order_lines: Lines of a supply purchase order | id, supply_order_id>supply_orders, supply_item_id>supply_items, quantity, unit_cost
storerooms: Supply rooms and central stores in facilities | id, facility_id>facilities, department_id>departments, name
supply_stock: Units of each supply item in each storeroom | id, storeroom_id>storerooms, supply_item_id>supply_items, quantity_on_hand:integer, updated_at
supply_usage: Supplies used for patients (charged to encounters) | id, supply_item_id>supply_items, encounter_id>encounters, storeroom_id>storerooms, quantity, used_at, nurse_id>nurses
supply_deliveries: Deliveries of supplies to facilities by couriers | id, supply_order_id>supply_orders, carrier_name, tracking_number, shipped_at, delivered_at, received_by_nurse_id>nurses
delivery_vehicles: The group's own vans that move supplies and specimens between sites | id, plate_number, model, capacity_kg:integer, is_refrigerated, home_facility_id>facilities
vehicle_routes: Scheduled courier routes between facilities | id, vehicle_id>delivery_vehicles, route_date, driver_name, departs_at, returns_at
route_stops: Stops of a courier route | id, route_id>vehicle_routes, facility_id>facilities, stop_order:integer, arrived_at, departed_at
specimen_transports: Specimens carried from clinics to the central lab | id, specimen_id>specimens, route_stop_id>route_stops, picked_up_at, delivered_at, temperature_ok:boolean
equipment: Medical devices (ventilators, infusion pumps, monitors) | id, facility_id>facilities, department_id>departments, kind, model, serial_number, purchased_on, status
equipment_maintenance: Maintenance and calibration of devices | id, equipment_id>equipment, performed_on, technician, kind(preventive, repair, calibration), notes, next_due_on
blood_bank_units: Blood units in stock | id, facility_id>facilities, blood_type, component(whole, plasma, platelets, red_cells), collected_on, expires_on, status
transfusions: Blood units transfused to patients | id, admission_id>admissions, blood_unit_id>blood_bank_units, transfused_at, nurse_id>nurses, reaction
diet_orders: Meal and diet orders for inpatients | id, admission_id>admissions, diet(regular, diabetic, low_sodium, npo), ordered_at, provider_id>providers
meal_deliveries: Meals delivered to patients' rooms | id, diet_order_id>diet_orders, delivered_at, meal(breakfast, lunch, dinner)
incident_reports: Patient safety incidents (falls, medication errors) | id, patient_id>patients, facility_id>facilities, reported_by_nurse_id>nurses, kind, severity, occurred_at, description
infection_cases: Hospital-acquired infections tracked by infection control | id, admission_id>admissions, organism, site, detected_on, is_hospital_acquired
clinical_trials: Research studies run at the hospital | id, title, sponsor, phase, starts_on, ends_on, principal_investigator_id>providers
trial_enrollments: Patients enrolled in clinical trials | id, trial_id>clinical_trials, patient_id>patients, enrolled_on, withdrawn_on, arm
`;
