/** Helpers for the limit tests: the real server as its own process, a user, metrics and memory of it. */
import { readFileSync } from "node:fs";
import { Code, ConnectError } from "@connectrpc/connect";
import { fromBinary } from "@bufbuild/protobuf";
import { ErrorInfoSchema } from "../../gen/sqlstudio/common/v1/error_pb.js";
import { Engine, SslMode } from "../../gen/sqlstudio/database/v1/connection_pb.js";
import { authEnv, registerAndLogin } from "./auth.js";
import { clientsFor, type EngineClients, type Protocol } from "./engine.js";
import { spawnServer, type ChildServer } from "./server.js";

export interface LimitUser extends EngineClients {
  token: string;
  userId: string;
}

export async function limitServer(env: Record<string, string> = {}): Promise<ChildServer> {
  return spawnServer({ env: authEnv(env) });
}

export async function limitUser(server: { url: string }, prefix: string, protocol: Protocol = "connect"): Promise<LimitUser> {
  const u = await registerAndLogin(server as never, prefix);
  return { ...clientsFor(server.url, u.session.accessToken, protocol), token: u.session.accessToken, userId: u.id };
}

/** A profile for a hostile wire server (no TLS unless asked). */
export function hostileSpec(engine: "postgresql" | "mysql", at: { host: string; port: number }, extra: Record<string, unknown> = {}) {
  return {
    name: `hostile ${engine}`,
    engine: engine === "postgresql" ? Engine.POSTGRESQL : Engine.MYSQL,
    host: at.host,
    port: at.port,
    database: "db",
    username: "victim",
    password: "s3cret-database-password",
    sslMode: SslMode.DISABLE,
    ...extra,
  };
}

export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m![1]) / 1024;
}

/** Peak RSS while `work` runs (sampled every 50 ms). */
export async function peakRss<T>(pid: number, work: () => Promise<T>): Promise<{ peakMb: number; value: T }> {
  let peak = rssMb(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMb(pid));
    } catch {
      /* exited */
    }
  }, 50);
  try {
    const value = await work();
    return { peakMb: Math.max(peak, rssMb(pid)), value };
  } finally {
    clearInterval(timer);
  }
}

/** One metric's value from the server's /metrics (sum over series matching every label given). */
export async function metric(server: ChildServer, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${server.ports.metrics}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/** Polls `check` until it is true or `ms` pass; returns whether it became true. */
export async function eventually(check: () => boolean | Promise<boolean>, ms: number, every = 25): Promise<boolean> {
  const end = performance.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (performance.now() > end) return false;
    await new Promise((r) => setTimeout(r, every));
  }
}

export interface Outcome {
  ok: boolean;
  code?: Code;
  reason?: string;
  field?: string;
  message?: string;
  metadata?: Record<string, string>;
  /** ms from the start of the call. */
  ms: number;
  rows: number;
}

/** Runs ExecuteQuery to its end (or `limitMs`), counting rows; how it ended. */
export async function executeOutcome(
  u: EngineClients,
  req: { connectionId: string; sql: string; queryId?: string; timeoutMs?: number; maxRows?: number },
  opts: { signal?: AbortSignal; limitMs?: number } = {},
): Promise<Outcome> {
  const t0 = performance.now();
  let rows = 0;
  const run = (async (): Promise<Outcome> => {
    try {
      for await (const m of u.queries.executeQuery(
        { connectionId: req.connectionId, sql: req.sql, queryId: req.queryId, timeoutMs: BigInt(req.timeoutMs ?? 0), maxRows: BigInt(req.maxRows ?? 0) },
        { signal: opts.signal },
      )) {
        if (m.event.case === "rows") rows += m.event.value.rows.length;
      }
      return { ok: true, ms: performance.now() - t0, rows };
    } catch (e) {
      return { ...describe(e), ms: performance.now() - t0, rows };
    }
  })();
  if (!opts.limitMs) return run;
  const stuck = new Promise<Outcome>((resolve) => setTimeout(() => resolve({ ok: false, message: "still running at the limit", ms: opts.limitMs!, rows }), opts.limitMs).unref());
  return Promise.race([run, stuck]);
}

/** Code, reason, field and message of an RPC error. */
export function describe(e: unknown): Omit<Outcome, "ms" | "rows"> {
  const err = ConnectError.from(e);
  const info = err.details
    .map((d) => ("desc" in d ? undefined : d.type === ErrorInfoSchema.typeName ? fromBinary(ErrorInfoSchema, d.value) : undefined))
    .find((x) => x !== undefined);
  return { ok: false, code: err.code, reason: info?.reason, field: info?.field, message: err.rawMessage, metadata: info ? { ...info.metadata } : undefined };
}

/** Resolves with how a promise ended, or "stuck" after `ms`. */
export function within<T>(p: Promise<T>, ms: number): Promise<{ value?: T; error?: unknown; stuck?: true; ms: number }> {
  const t0 = performance.now();
  return Promise.race([
    p.then(
      (value) => ({ value, ms: performance.now() - t0 }),
      (error: unknown) => ({ error, ms: performance.now() - t0 }),
    ),
    new Promise<{ stuck: true; ms: number }>((resolve) => setTimeout(() => resolve({ stuck: true, ms }), ms).unref()),
  ]);
}
