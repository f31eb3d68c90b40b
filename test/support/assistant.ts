/** Helpers for the assistant tests: a server wired to a provider stand-in, users, a schema with rows. */
import { createClient, type Client } from "@connectrpc/connect";
import { AssistantService } from "../../gen/sqlstudio/ai/v1/assistant_pb.js";
import { startProviderStandIn, type ModelCall, type ProviderKind, type ProviderStandIn, type Reply } from "./ai-provider.js";
import { type AuthTestServer } from "./auth.js";
import { engineUser, startEngineServer, transportFor, type EngineUser, type Protocol } from "./engine.js";

export interface AssistantUser extends EngineUser {
  ai: Client<typeof AssistantService>;
}

export function assistantClient(url: string, token: string, protocol: Protocol = "connect"): Client<typeof AssistantService> {
  return createClient(AssistantService, transportFor(url, token, protocol));
}

export async function assistantUser(server: AuthTestServer, prefix = "ai", protocol: Protocol = "connect"): Promise<AssistantUser> {
  const u = await engineUser(server, prefix, protocol);
  return { ...u, ai: assistantClient(server.url, u.token, protocol) };
}

/** A server whose assistant talks to a new stand-in of `kind`. */
export async function startAssistantServer(
  kind: ProviderKind,
  opts: { env?: Record<string, string>; reply?: (call: ModelCall) => Reply } = {},
): Promise<{ server: AuthTestServer; standIn: ProviderStandIn }> {
  const standIn = await startProviderStandIn(kind, opts.reply);
  const server = await startEngineServer(standIn.env({ AI_REQUESTS_PER_MINUTE: "1000", ...opts.env }));
  return { server, standIn };
}

/** Row values that must never reach a provider unless sample rows are asked for. */
export const ROW_VALUES = ["Zebulon Quickfoot", "zebulon@rows.example", "Marmalade Deluxe Jar", "ZX-7731-UNIQUE"];
/** A secret stored in a row: masked even in sample rows. */
export const ROW_SECRET = "sk-live-row-secret-abcdefghijklmnopqrstuvwxyz012345";

/**
 * A small shop with unrelated tables beside it. Portable SQL (SQLite, PostgreSQL, MariaDB), with
 * FKs; comments only where the engine has them (added by the caller).
 */
export const SHOP_DDL = [
  "CREATE TABLE customers (id INTEGER PRIMARY KEY, full_name VARCHAR(100) NOT NULL, email VARCHAR(200) NOT NULL, api_token VARCHAR(100), signup_date DATE)",
  "CREATE TABLE products (id INTEGER PRIMARY KEY, title VARCHAR(100) NOT NULL, sku VARCHAR(40) NOT NULL, unit_price DECIMAL(10,2) NOT NULL)",
  "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), status VARCHAR(20) NOT NULL, placed_at DATE NOT NULL)",
  "CREATE TABLE order_items (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id), product_id INTEGER NOT NULL REFERENCES products(id), quantity INTEGER NOT NULL)",
  "CREATE TABLE zz_audit_trail (id INTEGER PRIMARY KEY, actor VARCHAR(50), action_text VARCHAR(200))",
  "CREATE TABLE zz_feature_toggles (id INTEGER PRIMARY KEY, toggle_key VARCHAR(50), enabled_flag INTEGER)",
  "CREATE TABLE zz_payroll_ledger (id INTEGER PRIMARY KEY, employee_code VARCHAR(20), gross_wage DECIMAL(10,2))",
  `INSERT INTO customers VALUES (1, '${ROW_VALUES[0]}', '${ROW_VALUES[1]}', '${ROW_SECRET}', '2024-01-02')`,
  `INSERT INTO products VALUES (1, '${ROW_VALUES[2]}', '${ROW_VALUES[3]}', 12.34)`,
  "INSERT INTO orders VALUES (1, 1, 'paid', '2024-02-03')",
  "INSERT INTO order_items VALUES (1, 1, 1, 2)",
  "INSERT INTO zz_audit_trail VALUES (1, 'root', 'logged in')",
];
export const UNRELATED_TABLES = ["zz_audit_trail", "zz_feature_toggles", "zz_payroll_ledger"];

/** The whole text a provider received for a model request (system, messages). */
export function sentText(body: Record<string, unknown>): string {
  return JSON.stringify(body);
}
