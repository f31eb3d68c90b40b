/**
 * Database engine benchmarks (issue 5, DESIGN.md §7 and §10), each against a reference measured in
 * the same run:
 *  1. Rows per second of one realistic 5-column query streamed through QueryService.ExecuteQuery,
 *     over Connect (binary protobuf, HTTP/1.1) and gRPC (h2c) with connect-node clients, and over
 *     Connect with a bare node:http client that does not decode the batches (the server's own
 *     pace), against the driver reading the same query in the bench process without us:
 *     `pg-cursor` (batches of 1000, rowMode array, the raw-text type parser our driver uses; also
 *     pg's default type parsing) for PostgreSQL, `mysql2` streaming (`query().stream()`,
 *     rowsAsArray; the driver's typeCast and mysql2's default) for MariaDB. The references run
 *     before and after our paths in every round.
 *  2. The same rows read in this process through the pipeline's stages without the server (our
 *     driver's cursor with Queries.execute's batching, the protobuf encode and decode of the
 *     batches), so the gap between the reference and the server splits into parts.
 *  3. The server's memory during every run through it, and during one of 5,000,000 PostgreSQL
 *     rows read by the bare client: VmRSS sampled every 50 ms by a worker thread of the bench
 *     process, VmHWM (reset before each query), heapUsed sampled every 50 ms inside the server;
 *     growth over the baseline taken just before the query.
 * The server runs as a child process (`src/main.ts` through tsx, like `spawnServer`), so its CPU
 * and memory are its own; the clients and references run in the bench process.
 *
 *   BENCH_ENGINE_ROWS=1000000          rows per throughput run
 *   BENCH_ENGINE_ROUNDS=1              measured rounds (after one warm-up of every path)
 *   BENCH_ENGINE_STAGE_ROWS=200000     rows per in-process stage run
 *   BENCH_ENGINE_MEMORY_ROWS=5000000   rows of the extra memory run ("0" skips it)
 *   BENCH_ENGINE_PROFILE=1             also profile the server (V8 sampling profiler, in the child)
 *                                      during a bare-client and a Connect run; .cpuprofile in /tmp
 *   BENCH_ENGINE_ENGINES=postgresql,mariadb
 *   BENCH_ENGINE_SERVER_FLAGS="--max-semi-space-size=16"   node flags for the server child, after
 *                                      those of package.json's "start:prod" (which it always gets)
 * Run: npm run bench -- --only engine   (or: npx tsx test/bench/engine.ts, which only prints)
 */
import type { ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import mysql from "mysql2";
import pg from "pg";
import PgCursor from "pg-cursor";
import { ExecuteQueryRequestSchema, ExecuteQueryResponseSchema, RowBatchSchema } from "../../gen/sqlstudio/database/v1/query_pb.js";
import type { Interceptor, Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { executeQuery } from "../../src/client/query.js";
import { decodeRowBatch } from "../../src/client/rows.js";
import type { Cell, Cursor, Driver, Target } from "../../src/engine/driver.js";
import { rowBytes } from "../../src/engine/queries.js";
import { RowEncoder } from "../../src/engine/wire.js";
import { mysqlDriver } from "../../src/engine/drivers/mysql.js";
import { postgresDriver } from "../../src/engine/drivers/postgres.js";
import { authEnv, registerAndLogin } from "../support/auth.js";
import { startMariadb, startPostgres, type DatabaseServer, type ServerInfo } from "../support/databases.js";
import { clientsFor, specFor, type EngineClients, type Protocol } from "../support/engine.js";
import { startResendStandIn } from "../support/resend.js";
import { ROOT, spawnServer, TSX_LOADER } from "../support/server.js";
import { LOAD_RATE_LIMITS } from "../support/rate-limits.js";

/** Queries.execute's estimate for a raw row (textRowBytes there). */
const rawRowBytes = (row: (string | Uint8Array | null)[]) => row.reduce((n, v) => n + (v === null ? 2 : v.length + 3), 2);

type Log = (line: string) => void;
type EngineKey = "postgresql" | "mariadb";

const f0 = (x: number) => Math.round(x).toLocaleString("en-US");
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const int = (n: number) => n.toLocaleString("en-US");
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const sign = (bytes: number) => (bytes >= 0 ? "+" : "−") + mb(Math.abs(bytes));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ── the query ───────────────────────────────────────────────────────────────

/** int4, int8, text (32 chars), timestamptz, numeric (≈ 20 digits). */
export const pgSql = (n: number) => `SELECT g AS id, g * 2::int8 AS n, md5(g::text) AS s, now() AS t, g::numeric / 7 AS d FROM generate_series(1, ${n}) g`;
/** The same columns from MariaDB's Sequence engine: bigint unsigned, bigint, varchar(32), datetime, decimal. */
const mySql = (n: number) => `SELECT seq AS id, seq * 2 AS n, md5(seq) AS s, now() AS t, seq / 7 AS d FROM seq_1_to_${n}`;
const sqlFor = (e: EngineKey, n: number) => (e === "postgresql" ? pgSql(n) : mySql(n));

/** What our PostgreSQL driver gives pg: every value as PostgreSQL's text. */
const RAW_TYPES = { getTypeParser: () => (v: string) => v };
/** What our MySQL driver gives mysql2: binary columns as bytes, everything else as the server's text. */
const rawTypeCast = (field: { type: string; characterSet?: number; buffer(): Buffer | null; string(): string | null }) =>
  field.characterSet === 63 || field.type === "BIT" || field.type === "GEOMETRY" ? field.buffer() : field.string();

// ── CPU and memory of the server process ────────────────────────────────────

const CLK_TCK = 100; // getconf CLK_TCK on Linux x86-64

/** utime + stime of a process, µs (10 ms resolution). */
function procCpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLK_TCK;
}

function procMem(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN) * 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0); false when not allowed. */
function resetHwm(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** Samples VmRSS every 50 ms from a worker thread, so a busy bench thread never delays a sample. */
const SAMPLER = `
const { parentPort, workerData } = require("node:worker_threads");
const fs = require("node:fs");
const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(fs.readFileSync("/proc/" + workerData.pid + "/status", "utf8"))[1]) * 1024;
let timer = null, peak = 0, samples = 0;
parentPort.on("message", (m) => {
  if (m === "start") {
    peak = rss(); samples = 1;
    timer = setInterval(() => { try { const r = rss(); if (r > peak) peak = r; samples++; } catch {} }, 50);
    parentPort.postMessage({ type: "started" });
  } else if (m === "stop") {
    clearInterval(timer);
    try { peak = Math.max(peak, rss()); } catch {}
    parentPort.postMessage({ type: "stopped", peak, samples });
  }
});
`;

class RssSampler {
  private readonly worker: Worker;
  private waiting: ((m: { type: string; peak: number; samples: number }) => void) | undefined;
  constructor(pid: number) {
    this.worker = new Worker(SAMPLER, { eval: true, workerData: { pid } });
    this.worker.on("message", (m) => this.waiting?.(m));
  }
  private ask(m: string) {
    return new Promise<{ peak: number; samples: number }>((resolve) => {
      this.waiting = resolve;
      this.worker.postMessage(m);
    });
  }
  start = () => this.ask("start");
  stop = () => this.ask("stop");
  close = () => this.worker.terminate();
}

/**
 * Preloaded into the server child (plain ESM as a data: URL): heapUsed every 50 ms over IPC, a full
 * GC on request (the child runs with --expose-gc; the bench asks only between runs), and V8's
 * sampling profiler started and stopped on request. Nothing else of the server changes.
 */
const PRELOAD = `
import { Session } from "node:inspector";
import { writeFileSync } from "node:fs";
import { getHeapStatistics } from "node:v8";
if (process.send) {
  const mem = () => ({ type: "mem", heapUsed: getHeapStatistics().used_heap_size });
  setInterval(() => process.send(mem()), 50).unref();
  let session;
  process.on("message", (m) => {
    if (m.type === "mark") {
      if (m.gc) globalThis.gc();
      process.send({ type: "mark", mem: mem() });
    }
    if (m.type === "prof-start") {
      session = new Session();
      session.connect();
      session.post("Profiler.enable", () => session.post("Profiler.setSamplingInterval", { interval: m.intervalUs }, () =>
        session.post("Profiler.start", () => process.send({ type: "prof-started" }))));
    }
    if (m.type === "prof-stop") {
      session.post("Profiler.stop", (err, r) => {
        if (!err) writeFileSync(m.file, JSON.stringify(r.profile));
        session.disconnect();
        process.send({ type: "prof-stopped", error: err ? String(err) : undefined });
      });
    }
  });
  process.channel.unref();
  // The bench process died (even by SIGKILL): do not outlive it.
  process.on("disconnect", () => process.exit(0));
}
`;

interface MemSample {
  type: "mem";
  heapUsed: number;
}

interface ServerChild {
  child: ChildProcess;
  pid: number;
  url: string;
  /** Largest heapUsed reported since the last resetHeapPeak(). */
  heapPeak(): number;
  resetHeapPeak(): void;
  /** Round trip over IPC: every sample sent before it has arrived; answers the current heap (after a full GC when asked). */
  mark(gc?: boolean): Promise<MemSample>;
  request<T>(msg: Record<string, unknown>, reply: string): Promise<T>;
  stop(): Promise<void>;
}

/** The node flags production runs the server with: those of package.json's "start:prod" (the Dockerfile's CMD has the same). */
function productionNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts?: Record<string, string> };
  const words = (pkg.scripts?.["start:prod"] ?? "").trim().split(/\s+/);
  if (words[0] !== "node") return [];
  const flags: string[] = [];
  for (const w of words.slice(1)) {
    if (!w.startsWith("--")) break;
    flags.push(w);
  }
  return flags;
}

async function spawnBenchServer(env: Record<string, string>, nodeFlags: string[] = []): Promise<ServerChild> {
  // spawnServer's child with an IPC channel and the preloaded reporter (heap samples, GC marks, profiles).
  const preload = `data:text/javascript,${encodeURIComponent(PRELOAD)}`;
  const server = await spawnServer({ env, ipc: true, startTimeoutMs: 60_000, args: ["--expose-gc", ...nodeFlags, "--import", TSX_LOADER, "--import", preload, join(ROOT, "src/main.ts")] });
  const child = server.child;
  let heapPeak = 0;
  const waiting: { type: string; resolve: (m: never) => void }[] = [];
  child.on("message", (m: { type: string; heapUsed?: number }) => {
    if (m.type === "mem") heapPeak = Math.max(heapPeak, m.heapUsed!);
    const i = waiting.findIndex((w) => w.type === m.type);
    if (i >= 0) waiting.splice(i, 1)[0].resolve(m as never);
  });
  const request = <T>(msg: Record<string, unknown>, reply: string) =>
    new Promise<T>((resolve) => {
      waiting.push({ type: reply, resolve: resolve as (m: never) => void });
      child.send(msg);
    });
  // One log line per RPC: kept by spawnServer, not needed here.
  const drop = setInterval(() => (server.lines.length = 0), 1000).unref();
  return {
    child,
    pid: child.pid!,
    url: server.url,
    heapPeak: () => heapPeak,
    resetHeapPeak: () => (heapPeak = 0),
    mark: (gc = false) => request<{ mem: MemSample }>({ type: "mark", gc }, "mark").then((m) => m.mem),
    request,
    async stop() {
      clearInterval(drop);
      await server.stop();
    },
  };
}

// ── one run of each path ────────────────────────────────────────────────────

interface MemUse {
  baseRss: number;
  peakRss: number;
  hwm: number;
  hwmReset: boolean;
  baseHeap: number;
  peakHeap: number;
  /** heapUsed after the run and a full GC: what the run left behind. */
  afterHeap: number;
  samples: number;
}

interface Run {
  rows: number;
  ms: number;
  /** CPU of the bench process (the client, or the in-process reader), µs. */
  benchCpuUs: number;
  /** CPU of the server process, µs (our paths only). */
  serverCpuUs?: number;
  /** The server's memory during the run (our paths only). */
  mem?: MemUse;
}
const rate = (r: Run) => r.rows / (r.ms / 1000);

async function timed(fn: () => Promise<number>, serverPid?: number): Promise<Run> {
  const s0 = serverPid ? procCpuUs(serverPid) : 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const rows = await fn();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { rows, ms, benchCpuUs: c.user + c.system, serverCpuUs: serverPid ? procCpuUs(serverPid) - s0 : undefined };
}

/** A run through the server: its CPU, and its memory against the baseline just before the query. */
async function serverRun(server: ServerChild, sampler: RssSampler, fn: () => Promise<number>): Promise<Run> {
  await sleep(300);
  const base = await server.mark(true); // a full GC first: the baseline is the live heap
  const baseRss = procMem(server.pid).rss;
  const hwmReset = resetHwm(server.pid);
  server.resetHeapPeak();
  await sampler.start();
  const run = await timed(fn, server.pid);
  const s = await sampler.stop();
  const last = await server.mark();
  const hwm = procMem(server.pid).hwm;
  const after = await server.mark(true);
  run.mem = { baseRss, peakRss: s.peak, hwm, hwmReset, baseHeap: base.heapUsed, peakHeap: Math.max(server.heapPeak(), last.heapUsed), afterHeap: after.heapUsed, samples: s.samples };
  return run;
}

function expectRows(label: string, got: number, want: number): number {
  if (got !== want) throw new Error(`${label}: ${got} rows, expected ${want}`);
  return got;
}

/** pg-cursor, batches of `batch`, rowMode array; raw text (our driver's parser) or pg's defaults. */
async function pgCursorRun(client: pg.Client, n: number, raw: boolean): Promise<number> {
  const batch = 1000;
  const cursor = client.query(new PgCursor(pgSql(n), [], { rowMode: "array", ...(raw ? { types: RAW_TYPES } : {}) } as never));
  let rows = 0;
  for (;;) {
    const part = await cursor.read(batch);
    rows += part.length;
    if (part.length < batch) break;
  }
  await cursor.close();
  return rows;
}

/** mysql2 streaming: `query().stream()`, rowsAsArray; the driver's typeCast or mysql2's defaults. */
async function mysqlStreamRun(conn: mysql.Connection, n: number, raw: boolean): Promise<number> {
  const q = conn.query({ sql: mySql(n), rowsAsArray: true, ...(raw ? { typeCast: rawTypeCast as never } : {}) });
  let rows = 0;
  for await (const _row of q.stream()) rows++;
  return rows;
}

/** ExecuteQuery through a connect-node client; checks the header, the row count and the footer. */
async function executeRun(clients: EngineClients, connectionId: string, sql: string, n: number): Promise<number> {
  let rows = 0;
  let columns = -1;
  let footer = -1n;
  for await (const m of clients.queries.executeQuery({ connectionId, sql, maxRows: BigInt(n), timeoutMs: 900_000n })) {
    const e = m.event;
    if (e.case === "rows") rows += e.value.rows.length;
    else if (e.case === "header") columns = e.value.columns.length;
    else if (e.case === "footer") footer = e.value.rowCount;
  }
  if (columns !== 5 || footer !== BigInt(rows)) throw new Error(`ExecuteQuery: ${columns} columns, ${rows} rows, footer ${footer}`);
  return rows;
}

/** ExecuteQuery through the typed helper of src/client/query.ts: batches decoded by src/client/rows.ts. */
async function executeFastRun(transport: Transport, connectionId: string, sql: string, n: number): Promise<number> {
  let rows = 0;
  let columns = -1;
  let footer = -1n;
  for await (const e of executeQuery(transport, { connectionId, sql, maxRows: BigInt(n), timeoutMs: 900_000n })) {
    if (e.case === "rows") rows += e.rowCount;
    else if (e.case === "header") columns = e.columns.length;
    else if (e.case === "footer") footer = e.rowCount;
  }
  if (columns !== 5 || footer !== BigInt(rows)) throw new Error(`ExecuteQuery (fast decoder): ${columns} columns, ${rows} rows, footer ${footer}`);
  return rows;
}

const bearer =
  (token: string): Interceptor =>
  (next) =>
  (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };

const rawAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });

/**
 * ExecuteQuery over the Connect protocol (binary, HTTP/1.1) with bare node:http: the envelopes are
 * framed but not decoded (the first byte of a message tells its event: 0x0a header, 0x12 row
 * batch, 0x1a footer); only the footer is parsed, for its row count. A client that costs next to
 * nothing, so the server alone sets the pace.
 */
export function connectRawRun(url: string, token: string, connectionId: string, sql: string, n: number): Promise<number> {
  const body = toBinary(ExecuteQueryRequestSchema, create(ExecuteQueryRequestSchema, { connectionId, sql, maxRows: BigInt(n), timeoutMs: 900_000n }));
  const envelope = Buffer.alloc(5 + body.length);
  envelope.writeUInt32BE(body.length, 1);
  envelope.set(body, 5);
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/sqlstudio.database.v1.QueryService/ExecuteQuery`,
      {
        method: "POST",
        agent: rawAgent,
        headers: { "content-type": "application/connect+proto", "connect-protocol-version": "1", "content-length": envelope.length, authorization: `Bearer ${token}` },
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new Error(`ExecuteQuery (raw): HTTP ${res.statusCode}`));
        }
        let chunks: Buffer[] = [];
        let have = 0;
        let batches = 0;
        let header = 0;
        let footer = -1n;
        let end: string | undefined;
        res.on("data", (chunk: Buffer) => {
          chunks.push(chunk);
          have += chunk.length;
          for (;;) {
            if (have < 5) return;
            let buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, have);
            const len = buf.readUInt32BE(1);
            if (have < 5 + len) {
              chunks = [buf];
              return;
            }
            const msg = buf.subarray(5, 5 + len);
            if (buf[0] & 0x02) end = msg.toString("utf8");
            else if (msg[0] === 0x12) batches++;
            else if (msg[0] === 0x0a) header++;
            else if (msg[0] === 0x1a) {
              const e = fromBinary(ExecuteQueryResponseSchema, msg).event;
              if (e.case === "footer") footer = e.value.rowCount;
            }
            buf = buf.subarray(5 + len);
            chunks = buf.length ? [buf] : [];
            have = buf.length;
          }
        });
        res.on("error", reject);
        res.on("end", () => {
          const error = end ? (JSON.parse(end) as { error?: unknown }).error : undefined;
          if (error || header !== 1 || footer < 0n || batches === 0) reject(new Error(`ExecuteQuery (raw): ${JSON.stringify(error)} header ${header} batches ${batches} footer ${footer}`));
          else resolve(Number(footer));
        });
      },
    );
    req.on("error", reject);
    req.end(envelope);
  });
}

/**
 * Our driver in this process (no server), its rows gathered into batches the way Queries.execute
 * does (≤ 1,000 rows or ≈ 256 KB; 100 rows first, then as many as the bytes seen say fit — a copy
 * of its loop); `encode` also builds each batch's ExecuteQueryResponse the way the handler yields
 * it and serializes it (what Connect does), `decode` parses it again (what a client does).
 */
async function driverRun(driver: Driver, target: Target, sql: string, mode: "cells" | "encode" | "decode", keep?: Uint8Array[]): Promise<number> {
  const BATCH_ROWS = 1_000;
  const BATCH_BYTES = 256 * 1024;
  // Two connections, as the server's pool has: the driver asks the catalog for column types on a second one.
  const pool = driverPools.get(driver) ?? driverPools.set(driver, driver.pool(target, { max: 2, idleMs: 600_000 })).get(driver)!;
  const session = await pool.acquire();
  let cursor: Cursor | undefined;
  let count = 0;
  try {
    cursor = await session.open(sql);
    const c = cursor;
    const encoder = new RowEncoder();
    // As the server does: a binary client gets the driver's raw rows through wire.ts when the
    // cursor offers them (no Cells); `cells` measures the Cell path (JSON clients, GetRows).
    const raw = mode !== "cells" ? c.raw : undefined;
    const next = raw ? (n: number) => raw.next(n) : (n: number) => c.next(n);
    const size = (r: unknown[]) => (raw ? rawRowBytes(r as (string | Uint8Array | null)[]) : rowBytes(r as Cell[]));
    let seenRows = 0;
    let seenBytes = 0;
    for (;;) {
      const rows: unknown[][] = [];
      let bytes = 0;
      while (rows.length < BATCH_ROWS && bytes < BATCH_BYTES) {
        const room = BATCH_ROWS - rows.length;
        const fit = seenRows > 0 ? Math.floor((BATCH_BYTES - bytes) / (seenBytes / seenRows)) : 100;
        const part: unknown[][] = await next(Math.max(1, Math.min(room, fit)));
        if (part.length === 0) break;
        for (const r of part) {
          rows.push(r);
          const b = size(r);
          bytes += b;
          seenBytes += b;
        }
        seenRows += part.length;
      }
      if (rows.length === 0) break;
      count += rows.length;
      if (mode !== "cells") {
        // What the server yields for a binary client: the rows written by wire.ts.
        const batch = raw ? encoder.batchRaw(0, rows as (string | Uint8Array | null)[][], raw.columns) : encoder.batch(0, rows as Cell[][]);
        const event = { event: { case: "rows" as const, value: batch } };
        const bytes = toBinary(ExecuteQueryResponseSchema, create(ExecuteQueryResponseSchema, event));
        keep?.push(toBinary(RowBatchSchema, batch));
        if (mode === "decode") {
          const back = fromBinary(ExecuteQueryResponseSchema, bytes);
          if (back.event.case !== "rows" || back.event.value.rows.length !== rows.length) throw new Error("decode: wrong batch");
        }
      }
    }
    await cursor.close();
    cursor = undefined;
  } finally {
    if (cursor) await cursor.close().catch(() => undefined);
    session.release(cursor !== undefined);
  }
  return count;
}
const driverPools = new Map<Driver, ReturnType<Driver["pool"]>>();

function targetOf(db: ServerInfo): Target {
  return {
    engine: db.engine === "postgresql" ? "postgresql" : "mysql",
    host: db.host,
    serverName: db.host,
    port: db.port,
    database: db.database,
    username: db.user,
    password: db.password,
    sslMode: "disable",
    options: {},
    connectTimeoutMs: 10_000,
  };
}

// ── 1 + 2. throughput ───────────────────────────────────────────────────────

interface Path {
  key: string;
  label: string;
  run: (n: number) => Promise<Run>;
}

interface Our {
  server: ServerChild;
  sampler: RssSampler;
  /** `connect` is Connect with binary protobuf (the protocol the desktop client uses). */
  clients: Record<Exclude<Protocol, "connect-binary">, EngineClients>;
  /**
   * The fast decoder's transport: Connect binary that asks for no compression, as a client beside
   * the server would (the desktop app's case): on loopback gzip costs both ends more CPU than the
   * bytes it saves (measured: 69k against 103k rows/s for 300,000 rows on a loaded machine).
   */
  fast: Transport;
  token: string;
}

interface EngineSetup {
  engine: EngineKey;
  title: string;
  /** The reference first (ratios are taken against it), then the second reference. */
  refs: [Path, Path];
  ours: Path[];
  /** The in-process stages, against refs[0] at the stage size. */
  stages: Path[];
  close(): Promise<void>;
}

function oursPaths(our: Our, connectionId: string, sql: (n: number) => string): Path[] {
  const via = (p: Exclude<Protocol, "connect-binary">) => (n: number) => serverRun(our.server, our.sampler, async () => expectRows(p, await executeRun(our.clients[p], connectionId, sql(n), n), n));
  return [
    { key: "connect", label: "ExecuteQuery, Connect (binary protobuf, HTTP/1.1), connect-node client", run: via("connect") },
    { key: "grpc", label: "ExecuteQuery, gRPC (h2c), connect-node client", run: via("grpc") },
    {
      key: "fast",
      label: "ExecuteQuery, Connect (binary protobuf, HTTP/1.1), connect-node client with the fast decoder (`executeQuery` of `src/client/query.ts`), no compression asked",
      run: (n) => serverRun(our.server, our.sampler, async () => expectRows("fast", await executeFastRun(our.fast, connectionId, sql(n), n), n)),
    },
    {
      key: "raw",
      label: "ExecuteQuery, Connect (binary, HTTP/1.1), bare `node:http` client that frames but does not decode the batches (the server's own pace)",
      run: (n) => serverRun(our.server, our.sampler, async () => expectRows("raw", await connectRawRun(our.server.url, our.token, connectionId, sql(n), n), n)),
    },
  ];
}

function stagePaths(driver: Driver, target: Target, sql: (n: number) => string, what: string): Path[] {
  const stage = (mode: "cells" | "encode" | "decode") => (n: number) => timed(async () => expectRows("driver", await driverRun(driver, target, sql(n), mode), n));
  return [
    { key: "driver", label: `our driver in the bench process: open + next() into cells${what}, gathered into batches as Queries.execute does`, run: stage("cells") },
    { key: "encode", label: "our driver's rows as text, batched and encoded as the server does for a binary client (rows by `src/engine/wire.ts` from the text, no Cells; the envelope by `toBinary`)", run: stage("encode") },
    { key: "decode", label: "… + each batch parsed again (`fromBinary`, what a client does)", run: stage("decode") },
  ];
}

async function postgresSetup(db: ServerInfo, our: Our, connectionId: string): Promise<EngineSetup> {
  const connect = async (raw: boolean) => {
    const c = new pg.Client({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database, ...(raw ? { types: RAW_TYPES } : {}) });
    await c.connect();
    return c;
  };
  const raw = await connect(true);
  const parsed = await connect(false);
  return {
    engine: "postgresql",
    title: "PostgreSQL",
    refs: [
      { key: "ref", label: "`pg-cursor`, read(1000), rowMode array, raw text (the driver's type parser) — **reference**", run: (n) => timed(async () => expectRows("pg-cursor", await pgCursorRun(raw, n, true), n)) },
      { key: "ref-default", label: "`pg-cursor`, read(1000), rowMode array, pg's default type parsing", run: (n) => timed(async () => expectRows("pg-cursor", await pgCursorRun(parsed, n, false), n)) },
    ],
    ours: oursPaths(our, connectionId, pgSql),
    stages: stagePaths(postgresDriver, targetOf(db), pgSql, ""),
    async close() {
      await raw.end();
      await parsed.end();
      await driverPools.get(postgresDriver)?.end();
      driverPools.delete(postgresDriver);
    },
  };
}

async function mariadbSetup(db: ServerInfo, our: Our, connectionId: string): Promise<EngineSetup> {
  const conn = mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database });
  await new Promise<void>((resolve, reject) => conn.connect((err) => (err ? reject(err) : resolve())));
  return {
    engine: "mariadb",
    title: "MariaDB",
    refs: [
      { key: "ref", label: "`mysql2` `query().stream()`, rowsAsArray, the driver's typeCast (raw text) — **reference**", run: (n) => timed(async () => expectRows("mysql2", await mysqlStreamRun(conn, n, true), n)) },
      { key: "ref-default", label: "`mysql2` `query().stream()`, rowsAsArray, mysql2's default typing", run: (n) => timed(async () => expectRows("mysql2", await mysqlStreamRun(conn, n, false), n)) },
    ],
    ours: oursPaths(our, connectionId, mySql),
    stages: stagePaths(mysqlDriver, targetOf(db), mySql, " (socket paused between reads)"),
    async close() {
      await new Promise<void>((resolve) => conn.end(() => resolve()));
      await driverPools.get(mysqlDriver)?.end();
      driverPools.delete(mysqlDriver);
    },
  };
}

/** Runs per path key and round (a reference runs twice a round: before and after the others). */
type Runs = Map<string, Run[][]>;

function record(runs: Runs, key: string, round: number, r: Run) {
  const byRound = runs.get(key) ?? runs.set(key, []).get(key)!;
  (byRound[round] ??= []).push(r);
}

async function measure(setup: EngineSetup, n: number, stageRows: number, rounds: number, log: Log): Promise<{ main: Runs; stages: Runs }> {
  const say = (what: string, key: string, r: Run) => log(`engine: ${setup.title} ${what} ${key}: ${f0(rate(r))} rows/s`);
  for (const p of [...setup.refs, ...setup.ours]) say("warm-up", p.key, await p.run(Math.min(n, 100_000)));
  for (const p of setup.stages) say("warm-up", p.key, await p.run(Math.min(stageRows, 100_000)));
  const main: Runs = new Map();
  for (let round = 0; round < rounds; round++) {
    const ours = round % 2 ? [...setup.ours].reverse() : setup.ours;
    for (const p of [...setup.refs, ...ours, ...setup.refs]) {
      const r = await p.run(n);
      record(main, p.key, round, r);
      say(`round ${round + 1}/${rounds}`, p.key, r);
    }
  }
  const stages: Runs = new Map();
  for (const p of [setup.refs[0], ...setup.stages, setup.refs[0]]) {
    const r = await p.run(stageRows);
    record(stages, p.key, 0, r);
    say("stages", p.key, r);
  }
  return { main, stages };
}

/** Rows/s of a path in one round (the mean of its runs there). */
const roundRate = (runs: Runs, key: string, round: number) => {
  const rs = runs.get(key)![round];
  return rs.reduce((a, r) => a + rate(r), 0) / rs.length;
};

function ratios(runs: Runs, key: string, against: string) {
  const rs = runs.get(key)!.map((_, i) => roundRate(runs, key, i) / roundRate(runs, against, i));
  return { med: median(rs), lo: Math.min(...rs), hi: Math.max(...rs) };
}

function perRow(rs: Run[], pick: (r: Run) => number | undefined): string {
  const xs = rs.filter((r) => pick(r) !== undefined).map((r) => pick(r)! / r.rows);
  return xs.length ? f2(median(xs)) : "–";
}

function throughputTable(setup: EngineSetup, main: Runs, stages: Runs, n: number, stageRows: number, rounds: number): string {
  const [ref, ref2] = setup.refs;
  const range = (x: { med: number; lo: number; hi: number }) => (rounds > 1 ? ` [${f2(x.lo)}–${f2(x.hi)}]` : "");
  const row = (p: Path, ours: boolean) => {
    const rs = main.get(p.key)!.flat();
    const a = ratios(main, p.key, ref.key);
    const b = ratios(main, p.key, ref2.key);
    const bold = (s: string) => (ours ? `**${s}**` : s);
    return `| ${p.label} | ${f0(median(rs.map(rate)))} | ${f1(median(rs.map((r) => r.ms)) / 1000)} | ${perRow(rs, (r) => r.serverCpuUs)} | ${perRow(rs, (r) => r.benchCpuUs)} | ${bold(f2(a.med))}${range(a)} | ${f2(b.med)}${range(b)} |`;
  };
  const stageRow = (p: Path) => {
    const rs = stages.get(p.key)!.flat();
    return `| ${p.label} | ${f0(median(rs.map(rate)))} | ${perRow(rs, (r) => r.benchCpuUs)} | ${f2(ratios(stages, p.key, ref.key).med)} |`;
  };
  const refName = setup.engine === "postgresql" ? "`pg-cursor` raw text" : "`mysql2`, the driver's typeCast";
  const ref2Name = setup.engine === "postgresql" ? "`pg-cursor` default parsing" : "`mysql2` default typing";
  return [
    `### ${setup.title}`,
    "",
    "```sql",
    sqlFor(setup.engine, n),
    "```",
    "",
    `${int(n)} rows per run.`,
    "",
    `| path | rows/s | s per run | server CPU µs/row | bench-process CPU µs/row | ratio vs ${refName} | ratio vs ${ref2Name} |`,
    "|---|---:|---:|---:|---:|---:|---:|",
    ...setup.refs.map((p) => row(p, false)),
    ...setup.ours.map((p) => row(p, true)),
    "",
    `The same query (${int(stageRows)} rows) through the stages of our pipeline, in the bench process without the server, against the reference run right before and after them:`,
    "",
    "| stage | rows/s | CPU µs/row | ratio vs the reference |",
    "|---|---:|---:|---:|",
    stageRow(ref),
    ...setup.stages.map(stageRow),
    "",
  ].join("\n");
}

// ── 2b. decoding alone ──────────────────────────────────────────────────────

/**
 * The RowBatch messages of `rows` rows of the query, as the server writes them for a binary client,
 * decoded again and again in this process: protobuf-es (`fromBinary`) against the fast decoder
 * (`decodeRowBatch` of src/client/rows.ts). Nothing else is timed.
 */
async function decodeAloneTable(driver: Driver, target: Target, sql: string, rows: number, log: Log): Promise<string> {
  const batches: Uint8Array[] = [];
  expectRows("decode-alone", await driverRun(driver, target, sql, "encode", batches), rows);
  const bytes = batches.reduce((n, b) => n + b.length, 0);
  const decoders: [string, (b: Uint8Array) => number][] = [
    ["protobuf-es `fromBinary(RowBatchSchema)` (reflection)", (b) => fromBinary(RowBatchSchema, b).rows.length],
    ["**`decodeRowBatch` (src/client/rows.ts)**", (b) => decodeRowBatch(b, 5).rowCount],
  ];
  const out: string[] = [];
  const rates: number[] = [];
  for (const [label, decode] of decoders) {
    const times: number[] = [];
    const cpu: number[] = [];
    for (let round = 0; round < 4; round++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      let n = 0;
      for (const b of batches) n += decode(b);
      expectRows(label, n, rows);
      const c = process.cpuUsage(c0);
      // The first round warms up.
      if (round > 0) {
        times.push(performance.now() - t0);
        cpu.push((c.user + c.system) / 1000);
      }
    }
    const rate = rows / (median(times) / 1000);
    const cpuRate = rows / (median(cpu) / 1000);
    rates.push(cpuRate);
    log(`engine: decoding alone, ${label}: ${f0(rate)} rows/s (${f0(cpuRate)} per CPU second)`);
    out.push(`| ${label} | ${f0(rate)} | **${f0(cpuRate)}** | ${f2((median(cpu) * 1000) / rows)} | ${f2(cpuRate / rates[0])} |`);
  }
  return [
    `Decoding alone: the ${int(rows)} rows above as ${int(batches.length)} RowBatch messages (${mb(bytes)} MB, as the server writes them for a binary client), decoded in this process, median of 3 rounds after a warm-up; rows per second of wall time and per second of the process's CPU time (which a loaded machine does not stretch). Target for the fast decoder: ≥ 1,000,000 rows/s.`,
    "",
    "| decoder | rows/s (wall) | rows/s (CPU) | CPU µs/row | ratio vs protobuf-es (CPU) |",
    "|---|---:|---:|---:|---:|",
    ...out,
    "",
  ].join("\n");
}

// ── 3. memory ───────────────────────────────────────────────────────────────

interface MemRow {
  engine: string;
  path: string;
  run: Run;
}

function memoryTable(rows: MemRow[]): string {
  return [
    "| engine | client | rows | rows/s | RSS before MB | peak RSS MB | **RSS growth MB** | VmHWM growth MB | heapUsed before MB | peak heapUsed MB | **heapUsed growth MB** | heapUsed left after a full GC MB |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map(({ engine, path, run }) => {
      const m = run.mem!;
      return (
        `| ${engine} | ${path} | ${int(run.rows)} | ${f0(rate(run))} | ${mb(m.baseRss)} | ${mb(m.peakRss)} | **${mb(m.peakRss - m.baseRss)}** | ${sign(m.hwm - m.baseRss)}${m.hwmReset ? "" : " (since start)"} |` +
        ` ${mb(m.baseHeap)} | ${mb(m.peakHeap)} | **${mb(m.peakHeap - m.baseHeap)}** | ${sign(m.afterHeap - m.baseHeap)} |`
      );
    }),
    "",
  ].join("\n");
}

// ── optional: where the server's time goes ──────────────────────────────────

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** First match wins. */
const GROUPS: [RegExp, string][] = [
  [/\/src\/engine\/drivers\//, "ours: driver (text → cells, cursor)"],
  [/\/src\/engine\/queries\.ts/, "ours: Queries.execute (batching, row sizes)"],
  [/\/src\/engine\//, "ours: engine, other"],
  [/\/src\//, "ours: other (interceptors, logging, …)"],
  [/\/node_modules\/pg-protocol\//, "pg-protocol (wire parsing)"],
  [/\/node_modules\/(pg|pg-cursor|pg-pool|pg-types|postgres-array)\//, "pg / pg-cursor"],
  [/\/node_modules\/mysql2\//, "mysql2"],
  [/\/@bufbuild\/protobuf\/dist\/esm\/(wire|to-binary)/, "protobuf-es: toBinary (encode)"],
  [/\/@bufbuild\/protobuf\/dist\/esm\/(create|reflect)/, "protobuf-es: create / reflect"],
  [/\/@bufbuild\/protobuf\//, "protobuf-es: other"],
  [/\/@connectrpc\/connect-fastify\//, "connect-fastify plugin"],
  [/\/@connectrpc\/connect-node\//, "connect-node adapter"],
  [/\/@connectrpc\/connect\//, "Connect core (async-iterable pipeline, envelopes)"],
  [/\/node_modules\/(fastify|find-my-way|avvio|@fastify\/[^/]+)\//, "Fastify"],
  [/\/node_modules\//, "other packages"],
  [/^node:(_http_|http|internal\/http)/, "Node: http / http2"],
  [/^node:(internal\/streams|stream|internal\/webstreams)/, "Node: streams"],
  [/^node:(net|internal\/stream_base_commons|internal\/net)/, "Node: net / sockets"],
  [/^node:internal\/process\/task_queues/, "Node: nextTick / microtasks (async hops)"],
  [/^node:internal\/(abort_controller|event_target|per_context\/domexception)|^node:internal\/errors/, "Node: AbortController / EventTarget / errors"],
  [/^node:internal\/(buffer|util)|^node:buffer/, "Node: buffers"],
  [/^node:/, "Node: other internals"],
];

function groupOf(frame: ProfileNode["callFrame"]): string {
  if (frame.functionName === "(garbage collector)") return "V8: garbage collection";
  if (frame.functionName === "(program)") return "V8: native / not attributed";
  if (frame.functionName === "__name") return "tsx: __name helper (not in production)";
  for (const [re, name] of GROUPS) if (re.test(frame.url)) return name;
  return "other";
}

/** Self time per group in µs per 1,000 rows; builtins count for their nearest JavaScript caller. */
function summarizeProfile(profile: Profile, rows: number) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const owner = (id: number) => {
    let node = byId.get(id)!;
    if (node.callFrame.functionName.startsWith("(")) return node.callFrame;
    while (node.callFrame.url === "" && parent.has(node.id)) {
      const up = byId.get(parent.get(node.id)!)!;
      if (up.callFrame.functionName === "(root)") break;
      node = up;
    }
    return node.callFrame.url === "" ? byId.get(id)!.callFrame : node.callFrame;
  };
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  const groups = new Map<string, number>();
  const fns = new Map<string, { fn: string; where: string; group: string; us: number }>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const { callFrame } = byId.get(id)!;
    if (callFrame.functionName === "(idle)") idle += us;
    if (callFrame.functionName === "(idle)" || callFrame.functionName === "(root)") continue;
    total += us;
    const g = groupOf(owner(id));
    groups.set(g, (groups.get(g) ?? 0) + us);
    const where = callFrame.url ? `${callFrame.url.replace(/^.*\/node_modules\//, "").replace(/^file:\/\/.*?\/(src|test)\//, "$1/")}:${callFrame.lineNumber + 1}` : "";
    const key = `${callFrame.functionName}@${where}`;
    const f = fns.get(key) ?? { fn: callFrame.functionName || "(anonymous)", where, group: callFrame.url === "" ? `${g} (builtin)` : groupOf(callFrame), us: 0 };
    f.us += us;
    fns.set(key, f);
  }
  const per = (us: number) => (us / rows) * 1000;
  return {
    totalPerK: per(total),
    idleShare: idle / (idle + total),
    groups: [...groups].map(([group, us]) => ({ group, perK: per(us), share: us / total })).sort((a, b) => b.perK - a.perK),
    top: [...fns.values()].sort((a, b) => b.us - a.us).slice(0, 25).map((f) => ({ ...f, perK: per(f.us) })),
  };
}

async function profileRun(server: ServerChild, label: string, n: number, file: string, fn: () => Promise<number>): Promise<string> {
  await server.request({ type: "prof-start", intervalUs: 200 }, "prof-started");
  const r = await timed(async () => expectRows(label, await fn(), n), server.pid);
  const stopped = await server.request<{ error?: string }>({ type: "prof-stop", file }, "prof-stopped");
  if (stopped.error) throw new Error(`profiler: ${stopped.error}`);
  const s = summarizeProfile(JSON.parse(readFileSync(file, "utf8")) as Profile, n);
  return [
    `#### ${label}, ${int(n)} PostgreSQL rows under the profiler`,
    "",
    `${f0(rate(r))} rows/s under the profiler (sampling every 200 µs); server CPU ${f2(r.serverCpuUs! / n)} µs/row by /proc, ` +
      `${f2(s.totalPerK / 1000)} µs/row sampled on the main thread (idle ${f1(s.idleShare * 100)} % of its time). Profile: \`${file}\`.`,
    "",
    "| group | µs per 1,000 rows | share |",
    "|---|---:|---:|",
    ...s.groups.filter((g) => g.share >= 0.002).map((g) => `| ${g.group} | ${f0(g.perK)} | ${f1(g.share * 100)} % |`),
    "",
    "| function | where | group | µs per 1,000 rows |",
    "|---|---|---|---:|",
    ...s.top.map((t) => `| \`${t.fn}\` | ${t.where} | ${t.group} | ${f0(t.perK)} |`),
    "",
  ].join("\n");
}

// ── the section ─────────────────────────────────────────────────────────────

export async function engineBench(log: Log = () => {}): Promise<string> {
  const env = process.env;
  const n = Number(env.BENCH_ENGINE_ROWS ?? 1_000_000);
  const rounds = Number(env.BENCH_ENGINE_ROUNDS ?? 1);
  const stageRows = Number(env.BENCH_ENGINE_STAGE_ROWS ?? 200_000);
  const bigRows = Number(env.BENCH_ENGINE_MEMORY_ROWS ?? 5_000_000);
  const profile = env.BENCH_ENGINE_PROFILE === "1";
  const engines = new Set((env.BENCH_ENGINE_ENGINES ?? "postgresql,mariadb").split(","));
  const serverFlags = [...productionNodeFlags(), ...(env.BENCH_ENGINE_SERVER_FLAGS ?? "").split(" ").filter(Boolean)];
  const started = performance.now();

  const resend = await startResendStandIn();
  const [pgDb, myDb] = await Promise.all([engines.has("postgresql") ? startPostgres() : undefined, engines.has("mariadb") ? startMariadb() : undefined]);
  const dbs: DatabaseServer[] = [];
  if (pgDb) dbs.push(pgDb);
  if (myDb && !("unavailable" in myDb)) dbs.push(myDb);
  const notes: string[] = [];
  if (myDb && "unavailable" in myDb) notes.push(`MariaDB skipped: ${myDb.unavailable}.`);
  notes.push(`The server ran with the node flags of \`npm run start:prod\`${serverFlags.length ? `: \`${serverFlags.join(" ")}\`` : " (none)"}.`);
  const parts: string[] = [];
  const memRows: MemRow[] = [];
  // The default timeout (5 min) could stop a slow 5,000,000-row run; the requests set 15 min anyway.
  const server = await spawnBenchServer(authEnv({ ...resend.env, ...LOAD_RATE_LIMITS, LOG_LEVEL: "info", ENGINE_DEFAULT_TIMEOUT_MS: "900000" }), serverFlags);
  const sampler = new RssSampler(server.pid);
  try {
    const u = await registerAndLogin(server, "enginebench");
    const token = u.session.accessToken;
    const fast = createConnectTransport({ baseUrl: server.url, httpVersion: "1.1", useBinaryFormat: true, acceptCompression: [], interceptors: [bearer(token)] });
    const our: Our = { server, sampler, token, fast, clients: { connect: clientsFor(server.url, token, "connect-binary"), grpc: clientsFor(server.url, token, "grpc"), "grpc-web": clientsFor(server.url, token, "grpc-web") } };
    const connectionOf = async (db: ServerInfo) => (await our.clients.connect.connections.createConnection({ spec: specFor(db) })).connection!.id;
    log(`engine: server pid ${server.pid} at ${server.url}, RSS ${mb(procMem(server.pid).rss)} MB`);

    for (const [db, setupOf] of [
      [pgDb, postgresSetup],
      [myDb && !("unavailable" in myDb) ? myDb : undefined, mariadbSetup],
    ] as const) {
      if (!db) continue;
      const connectionId = await connectionOf(db);
      const setup = await setupOf(db, our, connectionId);
      try {
        const { main, stages } = await measure(setup, n, stageRows, rounds, log);
        parts.push(throughputTable(setup, main, stages, n, stageRows, rounds));
        if (db.engine === "postgresql") parts.push(await decodeAloneTable(postgresDriver, targetOf(db), pgSql(stageRows), stageRows, log));
        for (const p of setup.ours) for (const run of main.get(p.key)!.flat()) memRows.push({ engine: setup.title, path: p.key === "raw" ? "bare node:http (Connect, not decoded)" : `connect-node, ${p.key === "grpc" ? "gRPC" : "Connect"}`, run });
      } finally {
        await setup.close();
      }
      if (db.engine !== "postgresql") continue;
      if (bigRows > 0) {
        log(`engine: ${int(bigRows)} rows through the bare client`);
        const run = await serverRun(server, sampler, async () => expectRows("raw", await connectRawRun(server.url, token, connectionId, pgSql(bigRows), bigRows), bigRows));
        memRows.push({ engine: "PostgreSQL", path: "bare node:http (Connect, not decoded)", run });
        log(`engine: ${int(bigRows)} rows: ${f0(rate(run))} rows/s, RSS +${mb(run.mem!.peakRss - run.mem!.baseRss)} MB`);
      }
      if (profile) {
        const dir = join(os.tmpdir(), "sqlstudio-bench-profiles");
        mkdirSync(dir, { recursive: true });
        log("engine: profiling the server (bare client, then connect-node Connect client)");
        parts.push(
          await profileRun(server, "bare node:http client (Connect, not decoded)", n, join(dir, "engine-raw.cpuprofile"), () => connectRawRun(server.url, token, connectionId, pgSql(n), n)),
          await profileRun(server, "connect-node client, Connect (binary, HTTP/1.1)", n, join(dir, "engine-connect.cpuprofile"), () => executeRun(our.clients.connect, connectionId, pgSql(n), n)),
        );
      }
    }
  } finally {
    await sampler.close();
    await server.stop();
    rawAgent.destroy();
    for (const db of dbs) await db.stop();
    await resend.close();
  }
  const seconds = (performance.now() - started) / 1000;
  log(`engine: done in ${seconds.toFixed(0)} s`);
  const memory = [
    "### Server memory while rows stream",
    "",
    `Every run through the server above, and one of ${int(bigRows)} PostgreSQL rows (the same query) read by the bare client. Growth is over the baseline taken just before the query, after a full GC;` +
      " RSS sampled every 50 ms from /proc/<pid>/status by a worker thread of the bench process, VmHWM reset before the query (`/proc/<pid>/clear_refs`), heapUsed sampled every 50 ms inside the server" +
      " (peak heapUsed counts garbage not yet collected; the last column is the heap after the run and another full GC, against the baseline).",
    "",
    memoryTable(memRows),
  ].join("\n");
  return [
    `${rounds} measured round${rounds > 1 ? "s" : ""} after a warm-up of every path (100,000 rows); in each round the references run before and after our paths, whose order reverses every other round.` +
      " **ratio**: rows/s of the path ÷ rows/s of the reference (mean of its two runs) in the same round" +
      (rounds > 1 ? ", median of the rounds [range]." : ".") +
      " CPU per row: the server process from /proc/<pid>/stat (10 ms ticks), the bench process (the client, or the reference reading in-process) from process.cpuUsage()." +
      ` The whole section took ${seconds.toFixed(0)} s.`,
    "",
    ...notes.map((x) => `${x}\n`),
    parts.join("\n"),
    memory,
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  engineBench((line) => process.stderr.write(`${line}\n`)).then(
    (md) => {
      process.stdout.write(md + "\n");
      process.exit(0);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
