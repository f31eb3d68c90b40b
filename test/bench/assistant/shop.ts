/** An online retailer with marketplaces, stores and a warehouse network: 118 tables. */
export const SHOP = `
customers: People with an account in the web shop | id, email(login and contact address), first_name, last_name, phone, birth_date, created_at, is_active, marketing_opt_in:boolean, default_address_id>addresses, loyalty_tier_id>loyalty_tiers, country_code
addresses: Postal addresses used for shipping and billing | id, customer_id>customers, line1, line2, city_id>cities, postal_code, region_id>regions, country_id>countries, is_default_shipping:boolean, is_default_billing:boolean, created_at
countries: ISO countries the shop sells to | id, iso_code, name, currency_id>currencies, is_shipping_enabled
regions: States, provinces and counties | id, country_id>countries, name, code
cities: Cities for address autocompletion | id, region_id>regions, name, population:integer
customer_segments: Marketing segments of customers | id, name, description, rule_json, created_at
customer_segment_members: Which customers belong to which segment | segment_id*>customer_segments, customer_id*>customers, added_at
customer_notes: Notes support agents keep about a customer | id, customer_id>customers, employee_id>employees, body, created_at
loyalty_tiers: Loyalty program levels (bronze, silver, gold) | id, name, min_points:integer, discount_percent:numeric(5,2)
loyalty_accounts: Points balance of each customer in the loyalty program | id, customer_id>customers, points_balance:integer, lifetime_points:integer, updated_at
loyalty_transactions: Points earned and redeemed | id, loyalty_account_id>loyalty_accounts, order_id>orders, points:integer, reason(earn, redeem, expire, adjust), created_at
wishlists: Lists of products customers save for later | id, customer_id>customers, name, is_public, created_at
wishlist_items: Products on a wishlist | id, wishlist_id>wishlists, product_variant_id>product_variants, added_at
carts: Shopping carts (one open per customer or guest session) | id, customer_id>customers, session_token, currency_id>currencies, created_at, updated_at, converted_order_id>orders
cart_items: Lines in a shopping cart | id, cart_id>carts, product_variant_id>product_variants, quantity, unit_price, added_at
abandoned_cart_emails: Reminder emails sent for carts left without checkout | id, cart_id>carts, sent_at, opened_at, clicked_at, recovered:boolean
products: Sellable products (the parent of variants) | id, name, slug, description, brand_id>brands, tax_class_id>tax_classes, status(draft, active, archived), created_at, updated_at, is_featured
product_variants: SKUs: a product in one size/colour with its own price and stock | id, product_id>products, sku, name, price, compare_at_price, weight_g, barcode, is_active
product_images: Photos of products | id, product_id>products, url, alt_text, position
product_attributes: Attribute definitions such as colour, size, material | id, name, code, data_type
product_attribute_values: Attribute values of a variant | id, product_variant_id>product_variants, attribute_id>product_attributes, value
categories: Category tree of the catalogue | id, parent_id>categories, name, slug, position, is_visible
product_categories: Which categories a product is listed in | product_id*>products, category_id*>categories, is_primary:boolean
brands: Brands / manufacturers of products | id, name, slug, country_id>countries, website
suppliers: Vendors the shop buys stock from | id, name, contact_email, phone, country_id>countries, payment_terms_days:integer, is_active
supplier_products: What each supplier can deliver and at what cost | id, supplier_id>suppliers, product_variant_id>product_variants, supplier_sku, unit_cost, lead_time_days:integer
purchase_orders: Orders the shop places with suppliers to restock | id, supplier_id>suppliers, warehouse_id>warehouses, status(draft, sent, received, cancelled), ordered_at, expected_at, received_at, total_cost
purchase_order_items: Lines of a purchase order | id, purchase_order_id>purchase_orders, product_variant_id>product_variants, quantity, unit_cost, received_quantity:integer
warehouses: Fulfilment centres and warehouses | id, name, code, address_id>addresses, is_active, capacity_units:integer
inventory_levels: Units on hand per variant and warehouse | id, warehouse_id>warehouses, product_variant_id>product_variants, on_hand:integer, reserved:integer, reorder_point:integer, updated_at
inventory_movements: Every change of stock (receipt, sale, adjustment, transfer) | id, warehouse_id>warehouses, product_variant_id>product_variants, quantity_change:integer, reason(receipt, sale, return, adjustment, transfer), reference_id, created_at
stock_transfers: Stock moved between warehouses | id, from_warehouse_id>warehouses, to_warehouse_id>warehouses, status, created_at, completed_at
stock_transfer_items: Lines of a stock transfer | id, stock_transfer_id>stock_transfers, product_variant_id>product_variants, quantity
inventory_snapshots: Nightly stock snapshot per warehouse for reporting | id, snapshot_date, warehouse_id>warehouses, product_variant_id>product_variants, on_hand:integer, stock_value
currencies: Currencies prices and orders can be in | id, code, name, symbol, decimals:integer
exchange_rates: Daily exchange rates to the base currency | id, currency_id>currencies, rate_date, rate:numeric(18,8)
price_lists: Price lists for channels and B2B customers | id, name, currency_id>currencies, is_default, valid_from, valid_to
price_list_items: Variant prices on a price list | id, price_list_id>price_lists, product_variant_id>product_variants, price
price_history: Past prices of variants | id, product_variant_id>product_variants, old_price, new_price, changed_at, changed_by_employee_id>employees
tax_classes: Tax classes of products (standard, reduced, exempt) | id, name, description
tax_rates: Tax rates per class and region | id, tax_class_id>tax_classes, country_id>countries, region_id>regions, rate:numeric(6,4), valid_from
orders: Customer orders placed on the web shop, apps and marketplaces | id, order_number, customer_id>customers, status(pending, paid, packed, shipped, delivered, cancelled), placed_at, currency_id>currencies, subtotal_amount, discount_amount, shipping_amount, tax_amount, total_amount, shipping_address_id>addresses, billing_address_id>addresses, channel(web, ios, android, marketplace, pos)
order_items: Line items of an order: which variant, how many, at what price | id, order_id>orders, product_variant_id>product_variants, quantity, unit_price, discount_amount, tax_amount, line_total
order_status_history: Every status change of an order | id, order_id>orders, from_status, to_status, changed_at, employee_id>employees
order_notes: Internal notes and gift messages on orders | id, order_id>orders, author_employee_id>employees, body, is_gift_message, created_at
order_discounts: Discounts applied to an order (coupon or promotion) | id, order_id>orders, coupon_id>coupons, promotion_id>promotions, amount
payments: Payments captured for orders | id, order_id>orders, payment_method_id>payment_methods, provider_id>payment_providers, amount, currency_id>currencies, status(authorized, captured, failed, voided), captured_at, provider_reference
payment_methods: Saved cards and wallets of customers | id, customer_id>customers, kind(card, paypal, apple_pay, klarna), card_brand, last4, expires_on, is_default
payment_providers: Payment service providers (Stripe, Adyen, PayPal) | id, name, is_active
refunds: Money paid back to customers | id, payment_id>payments, order_id>orders, amount, reason, status, created_at, processed_at
refund_items: Which order lines a refund covers | id, refund_id>refunds, order_item_id>order_items, quantity, amount
returns: Return merchandise authorizations (RMA) opened by customers | id, order_id>orders, customer_id>customers, status(requested, approved, received, rejected), requested_at, received_at, return_reason_id>return_reasons
return_items: Items sent back in a return | id, return_id>returns, order_item_id>order_items, quantity, condition(new, opened, damaged)
return_reasons: Why customers send items back | id, code, label
shipments: Parcels sent to customers | id, order_id>orders, warehouse_id>warehouses, carrier_id>carriers, shipping_method_id>shipping_methods, tracking_number, shipped_at, delivered_at, status(label_created, in_transit, delivered, lost, returned), weight_g
shipment_items: Order lines packed in a shipment | id, shipment_id>shipments, order_item_id>order_items, quantity
shipment_tracking_events: Tracking scans reported by carriers | id, shipment_id>shipments, event_code, description, location, occurred_at
carriers: Parcel carriers (UPS, DHL, USPS) | id, name, tracking_url_template, is_active
shipping_methods: Delivery options offered at checkout (standard, express, pickup) | id, carrier_id>carriers, name, delivery_days_min:integer, delivery_days_max:integer
shipping_zones: Groups of countries with the same shipping prices | id, name
shipping_zone_countries: Countries in a shipping zone | zone_id*>shipping_zones, country_id*>countries
shipping_rates: Shipping price per zone, method and weight band | id, zone_id>shipping_zones, shipping_method_id>shipping_methods, min_weight_g, max_weight_g, price
coupons: Discount codes customers enter at checkout | id, code, promotion_id>promotions, max_uses:integer, used_count:integer, valid_from, valid_to, is_active
coupon_redemptions: Each use of a coupon | id, coupon_id>coupons, order_id>orders, customer_id>customers, redeemed_at, discount_amount
promotions: Sales campaigns (percent off, buy one get one) | id, name, kind, percent_off:numeric(5,2), amount_off, starts_at, ends_at, is_active
promotion_products: Products a promotion applies to | promotion_id*>promotions, product_id*>products
gift_cards: Gift cards sold and their balance | id, code, initial_value, balance, currency_id>currencies, purchased_by_customer_id>customers, expires_on, created_at
gift_card_transactions: Gift card redemptions and top-ups | id, gift_card_id>gift_cards, order_id>orders, amount, created_at
reviews: Product reviews written by customers, with a 1-5 star rating | id, product_id>products, customer_id>customers, order_item_id>order_items, rating:integer, title, body, status(pending, published, rejected), created_at
review_votes: Helpful / not helpful votes on reviews | id, review_id>reviews, customer_id>customers, is_helpful, created_at
review_images: Photos customers attach to reviews | id, review_id>reviews, url
product_questions: Questions shoppers ask on a product page | id, product_id>products, customer_id>customers, body, created_at
product_answers: Answers to product questions | id, question_id>product_questions, employee_id>employees, customer_id>customers, body, created_at
newsletter_subscribers: Email addresses subscribed to the newsletter | id, email, customer_id>customers, subscribed_at, unsubscribed_at, source
email_campaigns: Marketing email campaigns | id, name, subject, segment_id>customer_segments, scheduled_at, sent_at, status
email_sends: Individual marketing emails sent | id, campaign_id>email_campaigns, customer_id>customers, sent_at, opened_at, clicked_at, bounced:boolean
marketing_channels: Acquisition channels (search, social, affiliate) | id, name, kind
web_sessions: Storefront visits with their UTM source | id, customer_id>customers, started_at, ended_at, utm_source, utm_medium, utm_campaign, channel_id>marketing_channels, device, landing_page
page_views: Pages viewed during a visit | id, session_id>web_sessions, url, product_id>products, viewed_at
search_queries: What shoppers typed in the site search | id, session_id>web_sessions, query_text, results_count:integer, searched_at
search_clicks: Search results shoppers clicked | id, search_query_id>search_queries, product_id>products, position, clicked_at
product_recommendations: Precomputed "customers also bought" pairs | id, product_id>products, recommended_product_id>products, score:numeric(8,4), computed_at
affiliate_partners: Affiliates who earn commission on referred sales | id, name, email, commission_percent:numeric(5,2), is_active
affiliate_commissions: Commission owed to affiliates per order | id, partner_id>affiliate_partners, order_id>orders, amount, status, created_at, paid_at
invoices: Invoices issued for orders | id, invoice_number, order_id>orders, customer_id>customers, issued_on, due_on, total_amount, tax_amount, status(issued, paid, void)
invoice_lines: Lines of an invoice | id, invoice_id>invoices, description, quantity, unit_price, tax_rate:numeric(6,4), line_total
credit_notes: Credit notes cancelling part of an invoice | id, invoice_id>invoices, refund_id>refunds, amount, issued_on
store_locations: Physical retail stores | id, name, address_id>addresses, opened_on, manager_employee_id>employees, is_open
employees: Staff of the company (stores, warehouses, support, office) | id, first_name, last_name, email, job_title, store_id>store_locations, warehouse_id>warehouses, hired_on, terminated_on, is_active
roles: Permission roles of the back office | id, name, description
employee_roles: Roles granted to employees | employee_id*>employees, role_id*>roles
pos_terminals: Point-of-sale tills in stores | id, store_id>store_locations, serial_number, is_active
pos_transactions: Sales rung up at a till in a store | id, terminal_id>pos_terminals, employee_id>employees, order_id>orders, total_amount, paid_with(cash, card), created_at
audit_logs: Back-office changes (who changed what) | id, employee_id>employees, entity, entity_id, action, changes_json, created_at
api_keys: Keys for partner integrations | id, name, key_hash, created_by_employee_id>employees, created_at, last_used_at, revoked_at
webhooks: Webhook endpoints of integrations | id, url, event_types, is_active, created_at
webhook_deliveries: Webhook calls and their results | id, webhook_id>webhooks, event_type, payload_json, response_status:integer, attempts, delivered_at
support_tickets: Customer service tickets | id, customer_id>customers, order_id>orders, subject, status(open, pending, solved, closed), priority, channel(email, chat, phone), assigned_employee_id>employees, created_at, solved_at
ticket_messages: Messages in a support ticket | id, ticket_id>support_tickets, author_employee_id>employees, author_customer_id>customers, body, created_at
ticket_tags: Tags on support tickets | ticket_id*>support_tickets, tag*
live_chats: Live chat conversations on the storefront | id, customer_id>customers, employee_id>employees, started_at, ended_at, rating:integer
marketplaces: External marketplaces the shop sells on (Amazon, eBay) | id, name, fee_percent:numeric(5,2)
marketplace_listings: Products listed on a marketplace | id, marketplace_id>marketplaces, product_variant_id>product_variants, external_id, price, is_active
marketplace_orders: Orders imported from marketplaces | id, marketplace_id>marketplaces, external_order_id, order_id>orders, fee_amount, imported_at
bundles: Product bundles sold as one item | id, name, product_id>products, discount_percent:numeric(5,2)
bundle_items: Variants inside a bundle | id, bundle_id>bundles, product_variant_id>product_variants, quantity
subscriptions: Subscribe-and-save subscriptions for repeat deliveries | id, customer_id>customers, product_variant_id>product_variants, interval_days:integer, next_order_on, status(active, paused, cancelled), created_at, cancelled_at
subscription_orders: Orders generated by a subscription | id, subscription_id>subscriptions, order_id>orders, created_at
fraud_checks: Fraud screening results of orders | id, order_id>orders, provider, score:numeric(5,2), decision(approve, review, decline), checked_at
chargebacks: Card payments disputed by the cardholder | id, payment_id>payments, amount, reason_code, status, opened_at, closed_at
sales_daily: Revenue and units per day and channel (reporting aggregate) | id, sales_date, channel, orders_count, units_sold:integer, gross_revenue, net_revenue
product_views_daily: Product page views per day (reporting aggregate) | id, view_date, product_id>products, views:integer, add_to_cart:integer
banners: Homepage banners and their schedule | id, title, image_url, link_url, starts_at, ends_at, position
cms_pages: Content pages (about, shipping policy) | id, slug, title, body, published_at
faq_entries: Frequently asked questions | id, question, answer, category, position
settings: Shop configuration key/values | id, key, value, updated_at
feature_flags: Switches for storefront features | id, key, is_enabled, description
experiments: A/B tests on the storefront | id, name, hypothesis, starts_at, ends_at, status
experiment_assignments: Which variant each visitor saw in an experiment | id, experiment_id>experiments, session_id>web_sessions, variant, assigned_at
experiment_conversions: Conversions attributed to experiment variants | id, assignment_id>experiment_assignments, order_id>orders, converted_at
delivery_slots: Time windows for same-day delivery | id, warehouse_id>warehouses, slot_date, starts_at, ends_at, capacity:integer, booked:integer
delivery_slot_bookings: Orders booked into a delivery slot | id, slot_id>delivery_slots, order_id>orders, booked_at
pickup_points: Parcel lockers and pickup shops | id, carrier_id>carriers, name, address_id>addresses, kind(locker, shop)
`;
