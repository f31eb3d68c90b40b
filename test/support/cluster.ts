/**
 * Several server processes (`src/main.ts`) on one libSQL file, the local stand-in for one Turso
 * database, behind nginx (test/support/nginx.ts), with production settings, and typed clients
 * that reach them through the proxy's one address. Email goes through the real `resend` SDK to
 * the Resend stand-in (the one edge double).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type CallOptions, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { AuthService } from "../../gen/sqlstudio/auth/v1/auth_pb.js";
import { ConnectionService } from "../../gen/sqlstudio/database/v1/connection_pb.js";
import { QueryService } from "../../gen/sqlstudio/database/v1/query_pb.js";
import { SyncService } from "../../gen/sqlstudio/sync/v1/sync_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { startNginx, ROUTE_HEADER, type Proxy } from "./nginx.js";
import { startResendStandIn, tokenFromEmail, type ResendStandIn } from "./resend.js";
import { spawnServer, type ChildServer } from "./server.js";

export const CLUSTER_PUBLIC_URL = "https://studio.example.test";

/** What production needs (and what Cloud Run's service file sets), for processes on one file. */
export function productionEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ENVIRONMENT: "production",
    JWT_SECRET: randomBytes(48).toString("base64"),
    ENGINE_SECRET_KEY: randomBytes(32).toString("base64"),
    ALLOW_FILE_DATABASE_IN_PRODUCTION: "true",
    PUBLIC_URL: CLUSTER_PUBLIC_URL,
    CORS_ORIGINS: CLUSTER_PUBLIC_URL,
    // One proxy (nginx here, Google's front end on Cloud Run) appends the client's address.
    TRUST_PROXY: "1",
    // Cheap hashing: the journeys are about instances, not bcrypt.
    BCRYPT_COST: "4",
    LOG_LEVEL: "info",
    ...extra,
  };
}

export interface Cluster {
  /** instances[0] is instance 1. */
  instances: ChildServer[];
  proxy: Proxy;
  resend: ResendStandIn;
  /** The shared folder: app.db (the database), sqlite/ (SQLite profiles). */
  dir: string;
  dbFile: string;
  stop(): Promise<void>;
}

export async function startCluster(opts: { instances?: number; env?: Record<string, string> } = {}): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), "sqlstudio-cluster-"));
  const resend = await startResendStandIn();
  const env = productionEnv({ ...resend.env, ENGINE_SQLITE_DIR: join(dir, "sqlite"), ...opts.env });
  const instances: ChildServer[] = [];
  try {
    // One after the other: the first migrates the shared file, the others find it current.
    // A loaded 2-core machine can take long to start a process that loads TypeScript through tsx.
    for (let i = 0; i < (opts.instances ?? 3); i++) instances.push(await spawnServer({ dir, env, startTimeoutMs: 90_000 }));
    const proxyDir = join(dir, "nginx");
    mkdirSync(proxyDir);
    const proxy = await startNginx({ dir: proxyDir, instances: instances.map((s) => s.ports.api) });
    return {
      instances,
      proxy,
      resend,
      dir,
      dbFile: join(dir, "app.db"),
      async stop() {
        await proxy.stop();
        await Promise.all(instances.map((s) => s.stop()));
        await resend.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await Promise.all(instances.map((s) => s.stop()));
    await resend.close();
    throw e;
  }
}

/** Options of one call through the proxy: to instance N or the next in the rotation; which one served it. */
export interface Via {
  options: CallOptions;
  /** The instance that answered (from the proxy's x-upstream header), once headers arrived. */
  served?: number;
}

/** Typed clients over the proxy: Connect (JSON) over HTTP/2 and gRPC, both TLS to nginx. */
export class ProxyClients {
  readonly connect: Transport;
  readonly grpc: Transport;
  readonly auth: Client<typeof AuthService>;
  readonly sync: Client<typeof SyncService>;
  readonly connections: Client<typeof ConnectionService>;
  readonly queries: Client<typeof QueryService>;
  readonly grpcQueries: Client<typeof QueryService>;
  readonly health: Client<typeof Health>;

  constructor(readonly proxy: Proxy) {
    const nodeOptions = { ca: proxy.ca };
    this.connect = createConnectTransport({ baseUrl: proxy.url, httpVersion: "2", nodeOptions });
    this.grpc = createGrpcTransport({ baseUrl: proxy.url, nodeOptions });
    this.auth = createClient(AuthService, this.connect);
    this.sync = createClient(SyncService, this.connect);
    this.connections = createClient(ConnectionService, this.connect);
    this.queries = createClient(QueryService, this.connect);
    this.grpcQueries = createClient(QueryService, this.grpc);
    this.health = createClient(Health, this.connect);
  }

  /** Call options: `instance` pins the call to instance N (1-based); `token` authenticates it. */
  via(instance?: number, token?: string, extra: CallOptions = {}): Via {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (instance) headers[ROUTE_HEADER] = String(instance);
    const v: Via = {
      options: {
        ...extra,
        headers,
        onHeader: (h) => {
          v.served = this.proxy.instanceOf(h.get("x-upstream"));
        },
      },
    };
    return v;
  }
}

export interface Account {
  email: string;
  username: string;
  password: string;
}

let seq = 0;
export function newAccount(prefix: string): Account {
  const tag = `${prefix}${Date.now().toString(36)}${randomBytes(2).toString("hex")}${++seq}`.toLowerCase().slice(0, 32);
  return { email: `${tag}@example.test`, username: tag, password: `Quartz-${randomBytes(6).toString("hex")}-Lantern!` };
}

/** Registers and verifies (production requires a verified email) through the proxy, any instance. */
export async function verifiedAccount(c: ProxyClients, resend: ResendStandIn, prefix: string): Promise<Account> {
  const a = newAccount(prefix);
  await c.auth.register({ ...a, displayName: prefix }, c.via().options);
  const email = await resend.waitForEmail(a.email, { subject: /verify/i, timeoutMs: 10_000 });
  await c.auth.verifyEmail({ token: tokenFromEmail(email, CLUSTER_PUBLIC_URL, "verify-email") }, c.via().options);
  return a;
}
