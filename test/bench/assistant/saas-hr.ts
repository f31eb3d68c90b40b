/** A B2B SaaS product (project management) and its company's own HR system in one database: 112 tables. */
export const SAAS_HR = `
organizations: Customer companies (tenants) using the product | id, name, slug, plan_id>plans, created_at, country_code, industry, seats_purchased:integer, is_trial, trial_ends_at, churned_at
users: People who log in to the product | id, email, full_name, created_at, last_login_at, is_verified, locale, timezone, avatar_url
organization_members: Users in an organization with their role | id, organization_id>organizations, user_id>users, role(owner, admin, member, guest), joined_at, removed_at
invitations: Invitations to join an organization | id, organization_id>organizations, email, invited_by_user_id>users, role, sent_at, accepted_at, expires_at
user_sessions: Signed-in sessions of users | id, user_id>users, created_at, last_seen_at, ip_address, user_agent, revoked_at
login_events: Successful and failed sign-ins | id, user_id>users, email, succeeded:boolean, ip_address, occurred_at, method(password, sso, magic_link)
sso_configs: SAML / OIDC single sign-on settings per organization | id, organization_id>organizations, provider, entity_id, enforced:boolean, created_at
domains: Verified email domains of organizations | id, organization_id>organizations, domain, verified_at
teams: Teams inside an organization | id, organization_id>organizations, name, created_at
team_members: Users in a team | team_id*>teams, user_id*>users, added_at
projects: Projects customers manage in the product | id, organization_id>organizations, team_id>teams, name, status(active, archived), owner_user_id>users, created_at, due_date
project_members: Users with access to a project | project_id*>projects, user_id*>users, permission(view, edit, admin)
tasks: Work items in a project (the core object of the app) | id, project_id>projects, title, description, status(todo, in_progress, done), priority, assignee_user_id>users, reporter_user_id>users, created_at, completed_at, due_date, estimate_hours:numeric(6,2)
task_comments: Comments on tasks | id, task_id>tasks, user_id>users, body, created_at, edited_at
task_attachments: Files attached to tasks | id, task_id>tasks, uploaded_by_user_id>users, file_name, size_bytes:bigint, content_type, created_at
labels: Labels an organization defines for tasks | id, organization_id>organizations, name, color
task_labels: Labels on tasks | task_id*>tasks, label_id*>labels
task_dependencies: Task blocked-by relationships | task_id*>tasks, depends_on_task_id*>tasks
time_entries: Time users logged on tasks | id, task_id>tasks, user_id>users, started_at, minutes, billable:boolean, note
sprints: Time-boxed iterations of a project | id, project_id>projects, name, starts_on, ends_on, goal
sprint_tasks: Tasks planned into a sprint | sprint_id*>sprints, task_id*>tasks
plans: Pricing plans (Free, Team, Business, Enterprise) | id, name, monthly_price, annual_price, max_seats:integer, is_public
features: Product capabilities that plans can include | id, key, name, description
plan_features: Which features each plan includes, with limits | plan_id*>plans, feature_id*>features, limit_value:integer
subscriptions: An organization's paid subscription to a plan | id, organization_id>organizations, plan_id>plans, status(trialing, active, past_due, cancelled), billing_interval(month, year), seats:integer, current_period_start, current_period_end, started_at, cancelled_at, mrr
subscription_changes: Upgrades, downgrades and seat changes of subscriptions | id, subscription_id>subscriptions, from_plan_id>plans, to_plan_id>plans, from_seats:integer, to_seats:integer, mrr_delta, changed_at
billing_invoices: Invoices sent to customer organizations | id, organization_id>organizations, subscription_id>subscriptions, number, issued_at, due_at, paid_at, amount_due, amount_paid, currency, status(open, paid, void, uncollectible)
billing_invoice_lines: Lines of a customer invoice | id, invoice_id>billing_invoices, description, quantity, unit_amount, amount
billing_payments: Card and bank payments of customer invoices | id, invoice_id>billing_invoices, amount, paid_at, method, failure_reason, succeeded:boolean
billing_payment_methods: Cards on file of customer organizations | id, organization_id>organizations, brand, last4, expires_on, is_default
discount_coupons: Discount codes for subscriptions | id, code, percent_off:numeric(5,2), duration_months:integer, max_redemptions:integer, created_at
coupon_redemptions: Coupons applied to subscriptions | id, coupon_id>discount_coupons, subscription_id>subscriptions, redeemed_at
usage_records: Metered usage per organization and day (API calls, storage) | id, organization_id>organizations, metric(api_calls, storage_gb, automations), usage_date, quantity:bigint
usage_quotas: Monthly quotas per organization and metric | id, organization_id>organizations, metric, quota:bigint, period_start
api_tokens: Personal and service API tokens | id, user_id>users, organization_id>organizations, name, token_hash, created_at, last_used_at, revoked_at
api_requests: API calls made with tokens (sampled) | id, api_token_id>api_tokens, method, path, status_code:integer, duration_ms:integer, requested_at
webhooks: Webhook subscriptions of organizations | id, organization_id>organizations, url, events, is_active, created_at
webhook_events: Webhook deliveries | id, webhook_id>webhooks, event_type, status_code:integer, attempts, sent_at
integrations: Third-party apps the product integrates with (Slack, GitHub, Jira) | id, key, name, category
integration_connections: Integrations an organization connected | id, organization_id>organizations, integration_id>integrations, connected_by_user_id>users, connected_at, disconnected_at, status
notifications: In-app notifications sent to users | id, user_id>users, kind, title, body, created_at, read_at
notification_preferences: What each user wants to be notified about | id, user_id>users, kind, channel(email, push, in_app), is_enabled
audit_events: Security audit trail of organizations | id, organization_id>organizations, actor_user_id>users, action, target_type, target_id, ip_address, occurred_at
feature_flags: Feature flags for gradual rollout | id, key, description, default_enabled:boolean, created_at
feature_flag_overrides: Flags turned on or off for one organization | id, flag_id>feature_flags, organization_id>organizations, is_enabled, created_at
support_tickets: Customer support requests from users | id, organization_id>organizations, user_id>users, subject, status(open, pending, solved), priority, agent_employee_id>employees, created_at, first_response_at, solved_at
ticket_replies: Replies in support tickets | id, ticket_id>support_tickets, employee_id>employees, user_id>users, body, created_at
nps_responses: Net promoter score survey answers from users | id, user_id>users, organization_id>organizations, score, comment, submitted_at
onboarding_steps: Steps of the in-product onboarding checklist | id, key, title, position
onboarding_progress: Onboarding steps each organization completed | id, organization_id>organizations, step_id>onboarding_steps, completed_by_user_id>users, completed_at
cancellations: Why organizations cancelled their subscription | id, subscription_id>subscriptions, reason_id>churn_reasons, feedback, cancelled_at
churn_reasons: Reasons customers give for leaving | id, code, label
data_exports: Data export jobs requested by customers | id, organization_id>organizations, requested_by_user_id>users, status, requested_at, completed_at, file_url
automations: Workflow rules customers build (when X then Y) | id, project_id>projects, name, trigger, action, created_by_user_id>users, is_enabled, created_at
automation_runs: Executions of automation rules | id, automation_id>automations, started_at, finished_at, succeeded:boolean, error
dashboards: Report dashboards users build | id, organization_id>organizations, owner_user_id>users, name, created_at
dashboard_widgets: Charts on a dashboard | id, dashboard_id>dashboards, kind, config_json, position
employees: Our own company's staff (the HR system) | id, employee_number, first_name, last_name, work_email, personal_email, birth_date, hire_date, termination_date, department_id>departments, job_title_id>job_titles, manager_id>employees, office_id>office_locations, employment_type(full_time, part_time, contractor), gender, is_active
departments: Departments of the company (Engineering, Sales, Support) | id, name, code, parent_department_id>departments, head_employee_id>employees, cost_center
job_titles: Job titles and their level | id, title, level:integer, job_family, salary_band_id>salary_bands
salary_bands: Pay ranges per level and location | id, name, min_salary, max_salary, currency, location_zone
positions: Budgeted positions (headcount plan), filled or open | id, department_id>departments, job_title_id>job_titles, employee_id>employees, status(filled, open, frozen), budgeted_salary, opened_on
employment_contracts: Contracts of employees and their terms | id, employee_id>employees, contract_type, start_date, end_date, weekly_hours:numeric(5,2), probation_end_date, signed_on
compensation_history: Salary of each employee over time (one row per change) | id, employee_id>employees, effective_date, base_salary, currency, reason(hire, promotion, merit, adjustment), approved_by_employee_id>employees
payroll_runs: Monthly payroll runs | id, period_start, period_end, pay_date, status(draft, approved, paid), total_gross, total_net
payslips: Pay statements of employees per payroll run | id, payroll_run_id>payroll_runs, employee_id>employees, gross_pay, net_pay, tax_withheld, social_security, pension_contribution
payslip_lines: Earnings and deductions on a payslip | id, payslip_id>payslips, kind(earning, deduction), code, description, amount
bonuses: One-off bonuses paid to employees | id, employee_id>employees, amount, bonus_type(performance, signing, referral, spot), awarded_on, paid_in_payroll_run_id>payroll_runs
benefits: Benefit plans offered (health insurance, pension, gym) | id, name, provider, kind, employer_cost_monthly
benefit_enrollments: Employees enrolled in benefit plans | id, employee_id>employees, benefit_id>benefits, coverage_level(employee, employee_spouse, family), enrolled_on, ended_on, employee_cost_monthly
leave_types: Kinds of leave (vacation, sick, parental, unpaid) | id, name, is_paid, annual_allowance_days:numeric(5,2)
leave_balances: Remaining leave days per employee, type and year | id, employee_id>employees, leave_type_id>leave_types, year, entitled_days:numeric(5,2), taken_days:numeric(5,2), carried_over_days:numeric(5,2)
leave_requests: Time-off requests and their approval | id, employee_id>employees, leave_type_id>leave_types, start_date, end_date, days:numeric(5,2), status(pending, approved, rejected, cancelled), approver_employee_id>employees, requested_at, decided_at
public_holidays: Public holidays per office location | id, office_id>office_locations, holiday_date, name
office_locations: Company offices | id, name, city, country, timezone, address, capacity:integer
attendance_records: Daily check-in and check-out of employees | id, employee_id>employees, work_date, check_in_at, check_out_at, worked_minutes:integer, source(badge, app, manual)
shifts: Shift templates for support and operations staff | id, name, starts_at:time, ends_at:time, department_id>departments
shift_assignments: Which employee works which shift on which day | id, shift_id>shifts, employee_id>employees, shift_date, status
timesheets: Weekly timesheets of contractors and hourly staff | id, employee_id>employees, week_start, total_hours:numeric(6,2), status(draft, submitted, approved), approved_by_employee_id>employees, submitted_at
timesheet_entries: Hours per day and project code on a timesheet | id, timesheet_id>timesheets, work_date, hours:numeric(5,2), project_code
review_cycles: Performance review cycles (H1, H2) | id, name, starts_on, ends_on, status
performance_reviews: Performance reviews of employees in a cycle | id, cycle_id>review_cycles, employee_id>employees, reviewer_employee_id>employees, overall_rating:integer, summary, submitted_at, calibrated_rating:integer
goals: Objectives employees set (OKRs) | id, employee_id>employees, cycle_id>review_cycles, title, description, progress_percent:integer, status, due_date
goal_updates: Progress updates on goals | id, goal_id>goals, progress_percent:integer, note, created_at
feedback_notes: Peer feedback employees give each other | id, from_employee_id>employees, to_employee_id>employees, body, is_private, created_at
training_courses: Internal and external training courses | id, title, provider, duration_hours:numeric(5,1), cost, is_mandatory
course_enrollments: Employees taking training courses | id, course_id>training_courses, employee_id>employees, enrolled_on, completed_on, score, status
certifications: Professional certifications the company tracks | id, name, issuer, validity_months:integer
employee_certifications: Certifications held by employees | id, employee_id>employees, certification_id>certifications, obtained_on, expires_on
skills: Skills catalogue | id, name, category
employee_skills: Skills of employees with proficiency | employee_id*>employees, skill_id*>skills, proficiency:integer
job_requisitions: Open jobs the company is hiring for | id, position_id>positions, department_id>departments, job_title_id>job_titles, hiring_manager_id>employees, recruiter_id>employees, opened_on, closed_on, status(open, on_hold, filled, cancelled), headcount:integer
candidates: People applying for jobs | id, first_name, last_name, email, phone, source(referral, linkedin, careers_page, agency), referred_by_employee_id>employees, created_at
job_applications: A candidate's application to a requisition and its stage | id, candidate_id>candidates, requisition_id>job_requisitions, stage(applied, screen, interview, offer, hired, rejected), applied_at, rejected_reason, updated_at
interviews: Interviews scheduled with candidates | id, application_id>job_applications, interviewer_employee_id>employees, scheduled_at, kind(phone, technical, onsite, culture), duration_minutes:integer
interview_scorecards: Interviewers' ratings and recommendation | id, interview_id>interviews, rating:integer, recommendation(strong_yes, yes, no, strong_no), notes, submitted_at
job_offers: Offers made to candidates | id, application_id>job_applications, base_salary, equity_shares:integer, sign_on_bonus, start_date, status(draft, sent, accepted, declined), sent_at, decided_at
onboarding_tasks: Tasks for new hires' first weeks | id, employee_id>employees, title, owner_employee_id>employees, due_date, completed_at
offboarding_checklists: Steps when an employee leaves | id, employee_id>employees, item, completed_at, owner_employee_id>employees
expense_reports: Expense claims employees submit | id, employee_id>employees, title, submitted_at, status(draft, submitted, approved, reimbursed, rejected), approver_employee_id>employees, total_amount, currency, reimbursed_at
expense_items: Receipts on an expense report | id, report_id>expense_reports, category_id>expense_categories, expense_date, amount, merchant, receipt_url
expense_categories: Expense categories (travel, meals, software) | id, name, monthly_limit, gl_account
assets: Company equipment (laptops, phones, monitors) | id, asset_tag, kind, model, serial_number, purchased_on, purchase_cost, status(in_use, in_stock, retired)
asset_assignments: Which employee has which equipment | id, asset_id>assets, employee_id>employees, assigned_on, returned_on
emergency_contacts: Employees' emergency contacts | id, employee_id>employees, name, relationship, phone
employee_documents: Signed documents in an employee's file | id, employee_id>employees, kind, file_url, uploaded_at, expires_on
disciplinary_actions: Warnings and disciplinary measures | id, employee_id>employees, issued_by_employee_id>employees, kind, description, issued_on
promotions: Promotions of employees to a new title | id, employee_id>employees, from_job_title_id>job_titles, to_job_title_id>job_titles, effective_date, approved_by_employee_id>employees
engagement_surveys: Employee engagement surveys | id, title, sent_on, closes_on
engagement_responses: Anonymous answers to engagement surveys | id, survey_id>engagement_surveys, department_id>departments, question, score, comment, submitted_at
referral_bonuses: Bonuses for employees who referred a hire | id, employee_id>employees, candidate_id>candidates, amount, paid_on
`;
