/** Helpers for the database engine tests: a server, a signed-in user, typed clients for the four services. */
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { ConnectionService, Engine, SslMode } from "../../gen/sqlstudio/database/v1/connection_pb.js";
import { QueryService, type ExecuteQueryResponse } from "../../gen/sqlstudio/database/v1/query_pb.js";
import { SchemaService } from "../../gen/sqlstudio/database/v1/schema_pb.js";
import { TableService } from "../../gen/sqlstudio/database/v1/table_pb.js";
import type { Value } from "../../gen/sqlstudio/database/v1/values_pb.js";
import { registerAndLogin, startAuthServer, type AuthTestServer } from "./auth.js";
import type { ServerInfo } from "./databases.js";
import { transportFor, type Protocol } from "./rpc.js";

/** A ConnectionSpec as a plain object. */
export interface SpecInit {
  name?: string;
  engine?: Engine;
  host?: string;
  port?: number;
  database?: string;
  username?: string;
  password?: string;
  sslMode?: SslMode;
  options?: Record<string, string>;
  readOnly?: boolean;
}

export type { Protocol };

export interface EngineClients {
  /** The transport the clients share (for the helpers of src/client/query.ts). */
  transport?: Transport;
  connections: Client<typeof ConnectionService>;
  queries: Client<typeof QueryService>;
  schemas: Client<typeof SchemaService>;
  tables: Client<typeof TableService>;
}

export { transportFor };

export function clientsFor(url: string, token: string, protocol: Protocol = "connect"): EngineClients {
  const t = transportFor(url, token, protocol);
  return { transport: t, connections: createClient(ConnectionService, t), queries: createClient(QueryService, t), schemas: createClient(SchemaService, t), tables: createClient(TableService, t) };
}

export interface EngineUser extends EngineClients {
  token: string;
  userId: string;
}

export async function engineUser(server: AuthTestServer, prefix = "eng", protocol: Protocol = "connect"): Promise<EngineUser> {
  const u = await registerAndLogin(server, prefix);
  return { ...clientsFor(server.url, u.session.accessToken, protocol), token: u.session.accessToken, userId: u.id };
}

/** A test server for the engine: development profile (private hosts allowed), SQLite inside its temp dir. */
export function startEngineServer(env: Record<string, string> = {}): Promise<AuthTestServer> {
  return startAuthServer({ env });
}

/** The spec of a profile for a test database server. */
export function specFor(db: ServerInfo, extra: SpecInit = {}): SpecInit {
  return {
    name: `${db.engine} ${db.database}`,
    engine: db.engine === "postgresql" ? Engine.POSTGRESQL : Engine.MYSQL,
    host: db.host,
    port: db.port,
    database: db.database,
    username: db.user,
    password: db.password,
    sslMode: SslMode.DISABLE,
    ...extra,
  };
}

export function sqliteSpec(file: string, extra: SpecInit = {}): SpecInit {
  return { name: `sqlite ${file}`, engine: Engine.SQLITE, host: file, ...extra };
}

export async function createConnection(u: EngineUser, spec: SpecInit): Promise<string> {
  const r = await u.connections.createConnection({ spec });
  return r.connection!.id;
}

export interface StatementResult {
  columns: { name: string; databaseType: string; nullable: boolean }[];
  rows: Value[][];
  rowCount: bigint;
  affectedRows: bigint;
  truncated: boolean;
}

/** Runs SQL through ExecuteQuery and collects each statement's result. */
export async function run(u: EngineClients, connectionId: string, sql: string, opts: { readOnly?: boolean; maxRows?: number; queryId?: string; timeoutMs?: number } = {}): Promise<StatementResult[]> {
  const out: StatementResult[] = [];
  for await (const m of u.queries.executeQuery({ connectionId, sql, readOnly: opts.readOnly, maxRows: BigInt(opts.maxRows ?? 0), queryId: opts.queryId, timeoutMs: BigInt(opts.timeoutMs ?? 0) })) {
    collect(out, m);
  }
  return out;
}

export function collect(out: StatementResult[], m: ExecuteQueryResponse) {
  const e = m.event;
  if (e.case === "header") out.push({ columns: e.value.columns.map((c) => ({ name: c.name, databaseType: c.databaseType, nullable: c.nullable })), rows: [], rowCount: 0n, affectedRows: 0n, truncated: false });
  else if (e.case === "rows") out[out.length - 1].rows.push(...e.value.rows.map((r) => r.values));
  else if (e.case === "footer") Object.assign(out[out.length - 1], { rowCount: e.value.rowCount, affectedRows: e.value.affectedRows, truncated: e.value.truncated });
}

/** A cell's kind and value, for compact assertions: ["intValue", 5n]. */
export const cell = (v: Value) => [v.kind.case, v.kind.value] as const;
