/**
 * Sync benchmarks (issue 4, DESIGN.md §6 and §10), each against a reference measured in the same run:
 *  1. Push of 1,000 new saved queries over Connect JSON (HTTP/1.1) to the real server, against ONE raw
 *     libSQL batch insert (`db.batch([...1000 INSERTs], "write")`, same @libsql/client) of the same rows
 *     into a table with the same columns, primary key and indexes in a separate database file.
 *     Medians of interleaved runs, fresh record ids every run; then a rough breakdown of a push with
 *     in-process timers around the same steps Sync.push takes.
 *  2. Pull cost independent of the total: 100 new changes pulled with 10,000 vs 1,000,000 records
 *     stored for the same user (two servers, two database files), seeded through SyncStore's own
 *     statements; the 100 changes are pushed through the API, then Pull(since = head before them).
 *  3. 1,000 authenticated WebSockets of one user all receive the `syncChanged` event of one push:
 *     time from the Push call to each socket's event. The sockets live in a worker thread, so their
 *     reading never queues behind the server's work on the main thread (as on separate machines).
 * Run: npx tsx test/bench/run.ts --only sync  (also part of npm run bench).
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { create, fromJson, toJsonString, type JsonValue } from "@bufbuild/protobuf";
import { createClient, type InValue } from "@libsql/client";
import { ChangeStatus, PushRequestSchema, PushResponseSchema } from "../../gen/sqlstudio/sync/v1/sync_pb.js";
import { checkAndRedactChange } from "../../src/sync/payload.js";
import { planPush } from "../../src/sync/push.js";
import { SyncStore } from "../../src/sync/store.js";
import { usageDelta } from "../../src/sync/usage.js";
import { login, registerAndLogin, startAuthServer, type AuthTestServer } from "../support/auth.js";
import { LOAD_RATE_LIMITS } from "../support/rate-limits.js";

const SYNC = "sqlstudio.sync.v1.SyncService";
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

type Log = (line: string) => void;

// ── small helpers ───────────────────────────────────────────────────────────

/** Wall-clock ms with sub-ms resolution, comparable across threads of this process. */
const now = () => performance.timeOrigin + performance.now();

function post(base: string, method: string, body: string, token: string): Promise<{ status: number; body: string; ms: number }> {
  const buf = Buffer.from(body);
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}/${SYNC}/${method}`,
      { method: "POST", agent, headers: { "content-type": "application/json", "content-length": buf.length, authorization: `Bearer ${token}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), ms: performance.now() - start }));
      },
    );
    req.on("error", reject);
    req.end(buf);
  });
}

async function rpc<T>(base: string, method: string, body: unknown, token: string): Promise<{ reply: T; ms: number }> {
  const r = await post(base, method, typeof body === "string" ? body : JSON.stringify(body), token);
  if (r.status !== 200) throw new Error(`${method}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
  return { reply: JSON.parse(r.body) as T, ms: r.ms };
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => {
  const s = sorted(xs);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
/** Nearest-rank percentile. */
const pct = (xs: number[], p: number) => {
  const s = sorted(xs);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const int = (n: number) => n.toLocaleString("en-US");

/** A saved query as a client writes it (proto3 JSON field names). */
function savedQuery(i: number, tag: string): Record<string, unknown> {
  return {
    title: `Revenue by customer ${tag}.${i}`,
    sql: `SELECT c.id, c.name, SUM(o.total) AS revenue FROM customers c JOIN orders o ON o.customer_id = c.id WHERE o.created_at > now() - interval '${(i % 30) + 1} days' GROUP BY c.id, c.name ORDER BY revenue DESC LIMIT 100`,
    description: "weekly revenue check",
    folder: "reports/sales",
    tags: ["bench", "sales"],
    favorite: i % 7 === 0,
  };
}

interface JsonChange {
  mutationId: string;
  recordId: string;
  savedQuery: Record<string, unknown>;
}

const newChanges = (n: number, tag: string): JsonChange[] =>
  Array.from({ length: n }, (_, i) => ({ mutationId: randomUUID(), recordId: randomUUID(), savedQuery: savedQuery(i, tag) }));

const pushBody = (deviceId: string, changes: JsonChange[]) => JSON.stringify({ deviceId, clientVersion: "bench/1.0", changes });

interface PushReply {
  results: { status: string }[];
  headSeq: string;
}

function checkApplied(reply: PushReply, n: number): void {
  const applied = reply.results.filter((r) => r.status === "CHANGE_STATUS_APPLIED").length;
  if (reply.results.length !== n || applied !== n) throw new Error(`push: ${applied} of ${n} applied (${reply.results.length} results)`);
}

// ── 1. push of 1,000 changes vs one raw batch insert ────────────────────────

/** The sync_records table of migrations/0003_sync.sql (columns, primary key, indexes), without the users FK. */
const RAW_DDL = [
  `CREATE TABLE records (
     user_id TEXT NOT NULL, id TEXT NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('connection', 'saved_query', 'history')),
     version INTEGER NOT NULL, seq INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, payload TEXT,
     created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (user_id, id))`,
  "CREATE UNIQUE INDEX records_seq ON records (user_id, seq)",
  "CREATE INDEX records_tombstones ON records (user_id, deleted, updated_at)",
  "CREATE INDEX records_history ON records (kind, created_at) WHERE kind = 'history'",
];

async function pushBench(log: Log): Promise<string> {
  const N = 1000;
  const WARM = 2;
  const RUNS = 9;
  const server = await startAuthServer({ env: { ...LOAD_RATE_LIMITS, LOG_LEVEL: "warn", SYNC_MAX_CHANGES_PER_PUSH: String(N) } });
  const dir = mkdtempSync(join(os.tmpdir(), "sqlstudio-bench-raw-"));
  const raw = createClient({ url: `file:${join(dir, "raw.db")}` });
  try {
    await raw.execute("PRAGMA journal_mode=WAL"); // as openDb() sets for the server's file
    for (const ddl of RAW_DDL) await raw.execute(ddl);
    const u = await registerAndLogin(server, "pushbench");
    const token = u.session.accessToken;
    const rawUser = randomUUID();
    let rawSeq = 0;

    const oursRuns: number[] = [];
    const rawRuns: number[] = [];
    const runOurs = async (run: number) => {
      const body = pushBody("bench-laptop", newChanges(N, `r${run}`));
      const r = await post(server.url, "Push", body, token);
      if (r.status !== 200) throw new Error(`Push: HTTP ${r.status} ${r.body.slice(0, 300)}`);
      checkApplied(JSON.parse(r.body) as PushReply, N);
      return r.ms;
    };
    const runRaw = async (run: number) => {
      const t = Date.now();
      const stmts = newChanges(N, `r${run}`).map((c) => ({
        sql: "INSERT INTO records (user_id, id, kind, version, seq, deleted, payload, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        args: [rawUser, c.recordId, "saved_query", 1, ++rawSeq, 0, JSON.stringify(c.savedQuery), t, t],
      }));
      const start = performance.now();
      const rs = await raw.batch(stmts, "write");
      const ms = performance.now() - start;
      if (rs.length !== N) throw new Error("raw batch: wrong result count");
      return ms;
    };
    for (let run = 0; run < WARM + RUNS; run++) {
      // Alternate the order so drift of the machine hits both alike.
      const a = run % 2 ? await runOurs(run) : await runRaw(run);
      const b = run % 2 ? await runRaw(run) : await runOurs(run);
      const [ours, ref] = run % 2 ? [a, b] : [b, a];
      if (run >= WARM) {
        oursRuns.push(ours);
        rawRuns.push(ref);
      }
    }
    // The same kind of body with an invalid device id: Connect reads and decodes it, the auth
    // interceptor runs, and Sync.push rejects it at its first check: the transport's share.
    const rejectRuns: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const r = await post(server.url, "Push", pushBody("", newChanges(N, `x${run}`)), token);
      if (r.status !== 400 || !r.body.includes("device_id")) throw new Error(`rejected push: HTTP ${r.status} ${r.body.slice(0, 200)}`);
      rejectRuns.push(r.ms);
    }
    const oursMed = median(oursRuns);
    const rawMed = median(rawRuns);
    log(`sync: push of ${N}: ours ${f1(oursMed)} ms, raw batch ${f1(rawMed)} ms`);

    const breakdown = await pushBreakdown(server, N);
    const rows: [string, number][] = [
      ["`JSON.parse` of the request body (≈ 0.4 MB)", breakdown.parse],
      ["proto3 JSON → `PushRequest` message (`fromJson`)", breakdown.decode],
      ["validation (`checkAndRedactChange`: field rules and the JSON encode of each payload) and the byte limit", breakdown.validate],
      ["SQL reads in the transaction (records, mutations, head, live record count)", breakdown.reads],
      ["planning (`planPush`, then the usage delta of the writes)", breakdown.plan],
      ["SQL writes: one `tx.batch`: record upserts and mutation rows in multi-row statements of 100, + head + device", breakdown.writes],
      ["BEGIN IMMEDIATE + COMMIT", breakdown.commit],
      ["`PushResponse` → JSON (1,000 results)", breakdown.respond],
    ];
    const accounted = rows.reduce((s, [, ms]) => s + ms, 0);
    return [
      `### Push of ${int(N)} changes (new saved queries) vs one raw libSQL batch insert of the same rows`,
      "",
      `One user, one device; every run pushes ${int(N)} new records with fresh ids (≈ ${int(Math.round(pushBody("x", newChanges(N, "size")).length / 1024))} KB of Connect JSON) over HTTP/1.1 (keep-alive, client in the same process)` +
        ` and waits for the full answer; the reference runs \`db.batch([...${int(N)} INSERTs], "write")\` (same @libsql/client, WAL) into a table with the columns,` +
        ` primary key and indexes of \`sync_records\` in a separate database file. ${WARM} warm-up runs, then ${RUNS} runs of each, interleaved.`,
      "",
      "| path | median ms | runs ms |",
      "|---|---:|---|",
      `| raw libSQL batch insert, ${int(N)} rows (reference) | ${f1(rawMed)} | ${rawRuns.map(f1).join(", ")} |`,
      `| SyncService.Push, ${int(N)} changes, Connect JSON | ${f1(oursMed)} | ${oursRuns.map(f1).join(", ")} |`,
      "",
      `**Ratio (ours / raw, time): ${f2(oursMed / rawMed)}** (> 1 means slower than the bare insert).`,
      "",
      `Where a push's time goes: the same steps Sync.push takes, timed one by one in-process on a second user with the same kind of body (median of ${breakdown.reps}):`,
      "",
      "| step | ms | share of the push median |",
      "|---|---:|---:|",
      ...rows.map(([name, ms]) => `| ${name} | ${f1(ms)} | ${Math.round((ms / oursMed) * 100)} % |`),
      `| the rest: HTTP, Connect, auth interceptor, logging, metrics, realtime publish, client | ${f1(Math.max(0, oursMed - accounted))} | ${Math.max(0, Math.round(((oursMed - accounted) / oursMed) * 100))} % |`,
      "",
      `The same body pushed with an empty device id (read and decoded by Connect, auth interceptor run, rejected by Sync.push's first check, no SQL): median ${f1(median(rejectRuns))} ms` +
        ` (runs ${rejectRuns.map(f1).join(", ")}): what a request of this size costs before any sync work.`,
      "",
    ].join("\n");
  } finally {
    raw.close();
    rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
}

/**
 * The steps of Sync.push (src/sync/sync.ts) and of the Connect JSON codec around it, timed one by
 * one with the real functions and the real SyncStore on the server's database.
 */
async function pushBreakdown(server: AuthTestServer, n: number) {
  const u = await registerAndLogin(server, "pushsteps");
  const store = new SyncStore(server.db);
  const deviceId = "bench-steps";
  const REPS = 5;
  const t = { parse: [], decode: [], validate: [], reads: [], plan: [], writes: [], commit: [], respond: [] } as Record<string, number[]>;
  for (let rep = 0; rep < REPS + 1; rep++) {
    const body = pushBody(deviceId, newChanges(n, `s${rep}`));
    const lap = (() => {
      let last = performance.now();
      return () => {
        const x = performance.now();
        const d = x - last;
        last = x;
        return d;
      };
    })();
    const record = (k: string, ms: number) => rep > 0 && t[k].push(ms); // the first rep warms up
    lap();
    const parsed = JSON.parse(body) as JsonValue;
    record("parse", lap());
    const req = fromJson(PushRequestSchema, parsed);
    record("decode", lap());
    const checked = req.changes.map(checkAndRedactChange);
    const bytes = checked.reduce((n, c) => n + (c.ok && c.payload !== null ? Buffer.byteLength(c.payload) : 0), 0);
    record("validate", lap());
    if (bytes === 0) throw new Error("no payload bytes");
    const nowMs = Date.now();
    let inside = 0;
    const begin = performance.now();
    const plan = await store.write(async (tx) => {
      const start = performance.now();
      lap();
      const ids = [...new Set(checked.map((c) => c.recordId))];
      const existing = await store.records(tx, u.id, ids);
      const pushed = await store.mutations(tx, u.id, deviceId, [...new Set(checked.map((c) => c.mutationId))]);
      const head = await store.head(tx, u.id);
      const live = await store.liveRecordCount(tx, u.id, server.config.sync.maxRecordsPerUser);
      record("reads", lap());
      const p = planPush({
        changes: checked,
        deviceId,
        existing,
        pushed,
        headSeq: head.headSeq,
        liveRecords: live,
        maxRecords: 1e9,
        openConflicts: head.openConflicts,
        openConflictsByRecord: new Map(),
        maxOpenConflicts: 1e9,
        maxOpenConflictsPerRecord: 1e9,
        now: nowMs,
        newId: randomUUID,
      });
      const delta = usageDelta({ records: p.records.values(), existing, conflicts: p.conflicts, mutations: p.mutations });
      record("plan", lap());
      await tx.batch([
        ...store.upsertRecordsStmts(u.id, [...p.records.values()], nowMs),
        ...store.insertMutationsStmts(u.id, deviceId, p.mutations, nowMs),
        ...p.conflicts.map((c) => store.insertConflictStmt(u.id, c, nowMs)),
        store.setHeadStmt(u.id, p.headSeq, nowMs, delta),
        store.touchDeviceStmt(u.id, deviceId, nowMs, { clientVersion: "bench/1.0", push: true }),
      ]);
      record("writes", lap());
      inside = performance.now() - start;
      return p;
    });
    record("commit", performance.now() - begin - inside);
    lap();
    const applied = plan.results.filter((r) => r.status === "applied");
    if (applied.length !== n) throw new Error(`breakdown push: ${applied.length} of ${n} applied`);
    const json = toJsonString(
      PushResponseSchema,
      create(PushResponseSchema, {
        results: applied.map((r) => ({ mutationId: r.mutationId, recordId: r.recordId, status: ChangeStatus.APPLIED, version: BigInt(r.version) })),
        headSeq: BigInt(plan.headSeq),
      }),
    );
    record("respond", lap());
    if (json.length === 0) throw new Error("empty response");
  }
  const m = (k: string) => median(t[k]);
  return {
    reps: REPS,
    parse: m("parse"),
    decode: m("decode"),
    validate: m("validate"),
    reads: m("reads"),
    plan: m("plan"),
    writes: m("writes"),
    commit: m("commit"),
    respond: m("respond"),
  };
}

// ── 2. pull cost with 10,000 vs 1,000,000 records stored ────────────────────

const SEED_ROW = "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

/**
 * Seeds `n` saved queries for one user with SyncStore's own statements (upsertRecordStmt, then
 * setHeadStmt per transaction). @libsql/client prepares every statement of a batch anew (≈ 60 µs a
 * row here), so 1,000 of the store's rows go into one statement: its VALUES tuple repeated, the
 * rest of the statement (the upsert) unchanged; 50,000 rows per transaction.
 */
async function seed(server: AuthTestServer, userId: string, n: number): Promise<number> {
  const store = new SyncStore(server.db);
  const PER_STMT = 1000;
  const PER_TX = 50_000;
  const payload = JSON.stringify(savedQuery(0, "seed"));
  const ts = Date.now() - 86_400_000;
  const start = performance.now();
  const hex = randomUUID().replace(/-/g, "").slice(0, 8);
  for (let from = 0; from < n; from += PER_TX) {
    const to = Math.min(n, from + PER_TX);
    const stmts: { sql: string; args: InValue[] }[] = [];
    for (let i = from; i < to; i += PER_STMT) {
      const parts: { sql: string; args: InValue[] }[] = [];
      for (let j = i; j < Math.min(to, i + PER_STMT); j++) {
        // UUID-shaped ids in insertion order (a client's would be random; the pull never reads by id).
        const id = `${hex}-0000-4000-8000-${j.toString(16).padStart(12, "0")}`;
        parts.push(store.upsertRecordStmt(userId, { id, kind: "saved_query", version: 1, seq: j + 1, deleted: false, payload, updatedAt: ts }, ts) as { sql: string; args: InValue[] });
      }
      const sql = parts[0].sql;
      if (!sql.includes(SEED_ROW)) throw new Error("upsertRecordStmt changed shape: update the seeding of test/bench/sync.ts");
      stmts.push({ sql: sql.replace(SEED_ROW, `VALUES ${parts.map(() => SEED_ROW.slice(7)).join(", ")}`), args: parts.flatMap((p) => p.args) });
    }
    await server.db.batch([...stmts, store.setHeadStmt(userId, to, ts)], "write");
  }
  await server.db.execute("PRAGMA wal_checkpoint(TRUNCATE)");
  const head = await store.headOf(userId);
  if (head.headSeq !== n) throw new Error(`seeded head ${head.headSeq}, expected ${n}`);
  return (performance.now() - start) / 1000;
}

async function pullBench(log: Log): Promise<string> {
  const NEW = 100;
  const PUSHES = 3;
  const WARM = 5;
  const RUNS = 25;
  const sizes = [10_000, 1_000_000];
  const env = { ...LOAD_RATE_LIMITS, LOG_LEVEL: "warn", SYNC_MAX_RECORDS_PER_USER: String(2 * sizes[1]) };
  const dbs: { size: number; server: AuthTestServer; userId: string; token: string; seedS: number; since: number; pushMs: number; liveMs: number; pulls: number[]; sql: number[] }[] = [];
  try {
    for (const size of sizes) {
      const server = await startAuthServer({ env });
      const u = await registerAndLogin(server, "pullbench");
      dbs.push({ size, server, userId: u.id, token: u.session.accessToken, seedS: 0, since: 0, pushMs: 0, liveMs: 0, pulls: [], sql: [] });
      const d = dbs[dbs.length - 1];
      d.seedS = await seed(server, u.id, size);
      log(`sync: seeded ${int(size)} records in ${d.seedS.toFixed(1)} s`);
      // PUSHES pushes of NEW new records through the API; the pull starts from the head before the last.
      const pushes: number[] = [];
      for (let p = 0; p < PUSHES; p++) {
        const { reply, ms } = await rpc<PushReply>(server.url, "Push", pushBody("bench-phone", newChanges(NEW, `new${p}`)), d.token);
        checkApplied(reply, NEW);
        if (Number(reply.headSeq) !== size + (p + 1) * NEW) throw new Error(`head ${reply.headSeq} after a push, expected ${size + (p + 1) * NEW}`);
        pushes.push(ms);
      }
      d.since = size + (PUSHES - 1) * NEW;
      d.pushMs = median(pushes);
      // A push that adds records counts the user's live records, up to the records-per-user limit
      // (2,000,000 on these servers, so the whole million is counted).
      const store = new SyncStore(server.db);
      const live: number[] = [];
      for (let i = 0; i < 5; i++) {
        const start = performance.now();
        const count = await store.liveRecordCount(server.db, u.id, server.config.sync.maxRecordsPerUser);
        live.push(performance.now() - start);
        if (count !== size + PUSHES * NEW) throw new Error(`live records ${count}, expected ${size + PUSHES * NEW}`);
      }
      d.liveMs = median(live);
    }
    const pullOnce = async (d: (typeof dbs)[number], keep: boolean) => {
      const { reply, ms } = await rpc<{ records?: unknown[]; hasMore?: boolean; nextSeq: string }>(
        d.server.url,
        "Pull",
        { deviceId: "bench-laptop", sinceSeq: String(d.since) },
        d.token,
      );
      if (reply.records?.length !== NEW || reply.hasMore || Number(reply.nextSeq) !== d.since + NEW) throw new Error(`pull from ${d.since}: unexpected page`);
      const store = new SyncStore(d.server.db);
      const start = performance.now();
      const rows = await store.changedSince(d.userId, d.since, 501);
      const sqlMs = performance.now() - start;
      if (rows.length !== NEW) throw new Error("changedSince: unexpected rows");
      if (keep) {
        d.pulls.push(ms);
        d.sql.push(sqlMs);
      }
    };
    for (let run = 0; run < WARM + RUNS; run++) {
      const order = run % 2 ? [...dbs].reverse() : dbs;
      for (const d of order) await pullOnce(d, run >= WARM);
    }
    const [small, big] = dbs;
    const ratio = median(big.pulls) / median(small.pulls);
    log(`sync: pull of ${NEW}: ${f2(median(small.pulls))} ms vs ${f2(median(big.pulls))} ms`);
    return [
      `### Pull of ${NEW} new changes: ${int(sizes[0])} vs ${int(sizes[1])} records stored`,
      "",
      `Two servers, one user each, the records seeded through SyncStore's own upsert and head statements, then ${PUSHES} pushes of ${NEW} new saved queries through the API;` +
        ` then Pull(since_seq = the head before the last ${NEW}) over Connect JSON, ${WARM} warm-up and ${RUNS} measured runs per database, interleaved.` +
        " \"SQL\" is `SyncStore.changedSince` alone, called in-process right after each pull; the last two columns are the median of the pushes and" +
        " `SyncStore.liveRecordCount` alone, as a push that adds records runs it: capped at the records-per-user limit (here 2,000,000, so all rows are counted; at the default 100,000 the cap bounds it).",
      "",
      `| records seeded | seeding s | Pull median ms | Pull p90 ms | SQL median ms | push of ${NEW} ms | live-record count ms |`,
      "|---:|---:|---:|---:|---:|---:|---:|",
      ...dbs.map(
        (d) =>
          `| ${int(d.size)} | ${d.seedS.toFixed(1)} | ${f2(median(d.pulls))} | ${f2(pct(d.pulls, 90))} | ${f2(median(d.sql))} | ${f1(d.pushMs)} | ${f1(d.liveMs)} |`,
      ),
      "",
      `**Ratio (${int(sizes[1])} / ${int(sizes[0])}, Pull median): ${f2(ratio)}** (target ≤ 1.5; SQL alone: ${f2(median(big.sql) / median(small.sql))}).`,
      "",
    ].join("\n");
  } finally {
    for (const d of dbs) await d.server.stop();
  }
}

// ── 3. 1,000 WebSockets receive one event ───────────────────────────────────

/** The socket side, in a worker thread (plain CommonJS, evaluated; `ws` resolved by the main thread). */
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const WebSocket = require(workerData.wsPath);
const now = () => performance.timeOrigin + performance.now();
const sockets = [];
let arm = null;
let closing = false;
const fail = (e) => parentPort.postMessage({ type: "error", message: String(e && e.message || e) });
function finish() {
  if (!arm) return;
  const a = arm;
  arm = null;
  clearTimeout(a.timer);
  parentPort.postMessage({ type: "arrivals", arrivals: Array.from(a.arrivals) });
}
function openOne(url, token, k) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    sockets[k] = ws;
    let ready = false;
    const timer = setTimeout(() => reject(new Error("socket " + k + " not ready in 30 s")), 30000);
    ws.on("open", () => ws.send(JSON.stringify({ authenticate: { accessToken: token } })));
    ws.on("message", (data) => {
      const t = now();
      const ev = JSON.parse(data.toString("utf8"));
      if (ev.ready) { ready = true; clearTimeout(timer); resolve(); return; }
      if (ev.syncChanged && arm && Number(ev.syncChanged.headSeq) >= arm.minSeq && arm.arrivals[k] === 0) {
        arm.arrivals[k] = t;
        if (++arm.got === sockets.length) finish();
      }
    });
    ws.on("error", (e) => { if (!ready) reject(e); });
    ws.on("close", (code, reason) => {
      clearTimeout(timer);
      if (!ready) reject(new Error("socket " + k + " closed " + code + " " + reason));
      else if (!closing) fail(new Error("socket " + k + " closed " + code + " " + reason));
    });
  });
}
parentPort.on("message", (m) => {
  if (m.type === "ping") parentPort.postMessage({ type: "pong", t: m.t, w: now() });
  if (m.type === "open") {
    let next = 0;
    const start = now();
    Promise.all(Array.from({ length: m.concurrency }, async () => {
      while (next < m.count) { const k = next++; await openOne(m.url, m.tokens[k % m.tokens.length], k); }
    })).then(() => parentPort.postMessage({ type: "opened", ms: now() - start }), fail);
  }
  if (m.type === "arm") {
    arm = { minSeq: m.minSeq, arrivals: new Float64Array(sockets.length), got: 0, timer: setTimeout(finish, m.timeoutMs) };
    parentPort.postMessage({ type: "armed" });
  }
  if (m.type === "close") {
    closing = true;
    let open = sockets.length;
    for (const ws of sockets) { ws.once("close", () => { if (--open === 0) parentPort.postMessage({ type: "closed" }); }); ws.close(1000, "done"); }
  }
});
`;

type FromWorker =
  | { type: "pong"; t: number; w: number }
  | { type: "opened"; ms: number }
  | { type: "armed" }
  | { type: "arrivals"; arrivals: number[] }
  | { type: "closed" }
  | { type: "error"; message: string };

function workerClient() {
  const worker = new Worker(WORKER, { eval: true, workerData: { wsPath: createRequire(import.meta.url).resolve("ws") } });
  const waiting: { type: string; resolve: (m: FromWorker) => void; reject: (e: Error) => void }[] = [];
  let failed: Error | undefined;
  const failAll = (e: Error) => {
    failed = e;
    for (const w of waiting.splice(0)) w.reject(e);
  };
  worker.on("message", (m: FromWorker) => {
    if (m.type === "error") return failAll(new Error(`socket worker: ${m.message}`));
    const i = waiting.findIndex((w) => w.type === m.type);
    if (i >= 0) waiting.splice(i, 1)[0].resolve(m);
  });
  worker.on("error", (e) => failAll(e));
  return {
    request<T extends FromWorker["type"]>(msg: Record<string, unknown>, reply: T): Promise<Extract<FromWorker, { type: T }>> {
      if (failed) return Promise.reject(failed);
      return new Promise((resolve, reject) => {
        waiting.push({ type: reply, resolve: resolve as (m: FromWorker) => void, reject });
        worker.postMessage(msg);
      });
    },
    terminate: () => worker.terminate(),
  };
}

async function socketBench(log: Log): Promise<string> {
  const SOCKETS = 1000;
  const SESSIONS = 5;
  const ROUNDS = 5;
  // One user, one address: the per-user and per-address socket limits are lifted (this measures fan-out).
  const server = await startAuthServer({
    env: {
      ...LOAD_RATE_LIMITS,
      LOG_LEVEL: "warn",
      WS_MAX_CONNECTIONS: String(2 * SOCKETS),
      REALTIME_MAX_SUBSCRIPTIONS_PER_USER: String(2 * SOCKETS),
      WS_MAX_UNAUTHENTICATED_PER_ADDRESS: String(2 * SOCKETS),
    },
  });
  const client = workerClient();
  try {
    const u = await registerAndLogin(server, "wsbench");
    const tokens = [u.session.accessToken];
    for (let i = 1; i < SESSIONS; i++) tokens.push((await login(server, u.user, { device: `bench-${i}` })).accessToken);

    // The two threads' clocks must agree for cross-thread latencies.
    for (let i = 0; i < 5; i++) {
      const t = now();
      const pong = await client.request({ type: "ping", t }, "pong");
      const back = now();
      if (pong.w < t - 1 || pong.w > back + 1) throw new Error(`thread clocks disagree: sent ${t}, worker ${pong.w}, back ${back}`);
    }
    // The same one-change push with no subscriber, for the Push RPC column.
    const alone: number[] = [];
    for (let i = 0; i < 7; i++) {
      const { reply, ms } = await rpc<PushReply>(server.url, "Push", pushBody("bench-pusher", newChanges(1, `a${i}`)), u.session.accessToken);
      checkApplied(reply, 1);
      if (i >= 2) alone.push(ms);
    }
    const opened = await client.request(
      { type: "open", url: `ws://127.0.0.1:${server.ports.ws}/v1/stream`, tokens, count: SOCKETS, concurrency: 50 },
      "opened",
    );
    if (server.features.hub.subscriberCount !== SOCKETS) throw new Error(`hub has ${server.features.hub.subscriberCount} subscribers, expected ${SOCKETS}`);
    log(`sync: ${SOCKETS} sockets authenticated in ${(opened.ms / 1000).toFixed(1)} s`);

    const rounds: { pushMs: number; lat: number[] }[] = [];
    let head = 7;
    for (let round = 0; round < ROUNDS + 1; round++) {
      await client.request({ type: "arm", minSeq: head + 1, timeoutMs: 10_000 }, "armed");
      const arrivals = client.request({}, "arrivals");
      const t0 = now();
      const { reply, ms } = await rpc<PushReply>(server.url, "Push", pushBody("bench-pusher", newChanges(1, `w${round}`)), u.session.accessToken);
      checkApplied(reply, 1);
      head = Number(reply.headSeq);
      const got = (await arrivals).arrivals;
      const missing = got.filter((t) => t === 0).length;
      if (missing > 0) throw new Error(`${missing} of ${SOCKETS} sockets got no syncChanged within 10 s`);
      if (round > 0) rounds.push({ pushMs: ms, lat: got.map((t) => t - t0) }); // round 0 warms up
      await new Promise((r) => setTimeout(r, 200));
    }
    await client.request({ type: "close" }, "closed");
    const all = rounds.flatMap((r) => r.lat);
    log(`sync: ${SOCKETS} sockets: p99 ${f1(pct(all, 99))} ms`);
    return [
      `### ${int(SOCKETS)} WebSockets receive one push's \`syncChanged\``,
      "",
      `One user with ${SESSIONS} sessions and ${int(SOCKETS)} authenticated sockets on WS_PORT (JSON frames; opened and authenticated in ${(opened.ms / 1000).toFixed(1)} s,` +
        ` 50 at a time), held by a worker thread of the bench process; the server runs on the main thread. Each round pushes one saved query over Connect JSON` +
        ` and measures, for every socket, the time from the Push call to the arrival of its \`syncChanged\` (push → commit → event row → tail → fan-out).` +
        ` ${ROUNDS} rounds after one warm-up.`,
      "",
      "| round | Push RPC ms | first socket ms | p50 ms | p99 ms | max ms | sockets reached |",
      "|---|---:|---:|---:|---:|---:|---:|",
      ...rounds.map(
        (r, i) => `| ${i + 1} | ${f1(r.pushMs)} | ${f1(Math.min(...r.lat))} | ${f1(pct(r.lat, 50))} | ${f1(pct(r.lat, 99))} | ${f1(Math.max(...r.lat))} | ${int(r.lat.length)} |`,
      ),
      `| all ${ROUNDS} | ${f1(median(rounds.map((r) => r.pushMs)))} (median) | ${f1(Math.min(...all))} | ${f1(pct(all, 50))} | ${f1(pct(all, 99))} | ${f1(Math.max(...all))} | ${int(all.length)} |`,
      "",
      `**p99 ${f1(pct(all, 99))} ms** over ${int(all.length)} deliveries (target < 250 ms). The same one-change Push with no socket open: median ${f1(median(alone))} ms.`,
      "",
    ].join("\n");
  } finally {
    await client.terminate();
    await server.stop();
  }
}

// ── the section ─────────────────────────────────────────────────────────────

export async function syncBench(log: Log = () => {}): Promise<string> {
  const parts = [await pushBench(log), await pullBench(log), await socketBench(log)];
  return parts.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  syncBench((line) => process.stderr.write(`${line}\n`)).then(
    (md) => {
      process.stdout.write(md + "\n");
      agent.destroy();
      process.exit(0);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
