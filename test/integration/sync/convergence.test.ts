/**
 * Convergence (issue 4, "Done when"): a seeded, replayable randomized simulation of three devices
 * of one user making at least 5,000 local edits (create/update/delete of saved queries and
 * connections, history appends, the odd re-append and history delete), with offline periods
 * (edits queue up and are pushed later), pushes delivered out of order and twice, requests lost,
 * and responses lost (the device retries the same mutation ids later). Devices resolve the
 * conflicts they see (keep_server, keep_client, keep_both, merged).
 *
 * It drives the real logic on the real store and the server's own database: `new Sync(new
 * SyncStore(server.db), …)` (the handlers add only the proto mapping, covered by sync.test.ts).
 *
 * At the end every device pulls to the head and must hold exactly the server's rows, and an
 * oracle, fed with every answer the server gave (including the ones "lost" on the way back),
 * checks that nothing was lost silently:
 *   - every version 1..V of every record was written by exactly one acknowledged write (a push
 *     applied, or a resolution), so no write overwrote another without being based on it;
 *   - every applied push was based on the version it replaced (base_version + 1);
 *   - every acknowledged write is the record's current content or was superseded by the next
 *     version of the same record;
 *   - every change that was sent ends applied or in a conflict whose client side is exactly what
 *     the device sent, and every resolution wrote what it promised (the server side, the client
 *     side, the merged payload, or a "(conflict from <device>)" copy);
 *   - a retry is answered with the first answer, always.
 *
 * Replay a run with SYNC_SIM_SEED=<seed> (the seed is in the test name).
 */
import { create, fromJsonString } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../../gen/sqlstudio/common/v1/error_pb.js";
import { ChangeSchema, ConnectionProfileSchema, HistoryEntrySchema, SavedQuerySchema, type Change } from "../../../gen/sqlstudio/sync/v1/sync_pb.js";
import type { Runtime } from "../../../src/common/runtime.js";
import { encodePayload } from "../../../src/sync/payload.js";
import type { Result } from "../../../src/sync/push.js";
import { SyncStore, type ConflictRow, type Kind, type RecordRow } from "../../../src/sync/store.js";
import { Sync, type Resolution } from "../../../src/sync/sync.js";
import { registerAndLogin, startAuthServer } from "../../support/auth.js";
import type { TestServer } from "../../support/server.js";
import { prng } from "../../support/prng.js";

const SEED = Number(process.env.SYNC_SIM_SEED ?? 0x5eed_2024);
const MIN_EDITS = Number(process.env.SYNC_SIM_EDITS ?? 5_000);
const DEVICES = ["laptop", "phone", "tablet"];

/** The seeded PRNG (test/support/prng.ts) with the helpers this test draws with. */
function random(seed: number) {
  const next = prng(seed);
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    chance: (p: number) => next() < p,
    pick<T>(xs: readonly T[]): T {
      return xs[Math.floor(next() * xs.length)];
    },
    hex: (n: number) => Array.from({ length: n }, () => Math.floor(next() * 16).toString(16)).join(""),
  };
}
type Rng = ReturnType<typeof random>;

const rng = random(SEED);
const uuidOf = (r: Rng) => `${r.hex(8)}-${r.hex(4)}-4${r.hex(3)}-8${r.hex(3)}-${r.hex(12)}`;

/** Deterministic ids for conflicts and keep-both copies (time-ordered like UUIDv7), real clock. */
let idCounter = 0;
const runtime: Runtime = {
  now: () => Date.now(),
  newId: () => `01900000-0000-7000-8000-${(++idCounter).toString(16).padStart(12, "0")}`,
  random: () => {
    throw new Error("not used");
  },
};

// ── the client model ────────────────────────────────────────────────────────

type Payload = Change["payload"];
interface Known {
  kind: Kind;
  version: number;
  deleted: boolean;
  payload: string | null;
}
interface Pending {
  mutationId: string;
  recordId: string;
  kind: Kind;
  base: number;
  delete: boolean;
  payload: Payload;
  /** queued: not sent yet (edits coalesce into it); inflight: in a push on the wire; lost: sent, no answer (retry as is). */
  state: "queued" | "inflight" | "lost";
}
interface Flight {
  no: number;
  device: Device;
  changes: Pending[];
}
interface Device {
  id: string;
  online: boolean;
  known: Map<string, Known>;
  pending: Map<string, Pending>;
  /** Record ids in the order the device met them (picking from it keeps runs replayable). */
  order: string[];
  listed: Set<string>;
  cursor: number;
  nextMutation: number;
  sentFlights: number;
}

const json = (p: Payload): string => encodePayload(p)!.json;

let server: TestServer;
let userId: string;
let sync: Sync;

beforeAll(async () => {
  server = await startAuthServer();
  userId = (await registerAndLogin(server, "sim")).id;
  sync = new Sync(new SyncStore(server.db), runtime, { ...server.config.sync, maxRecordsPerUser: 100_000 });
});
afterAll(async () => {
  await server?.stop();
});

it(`seed ${SEED}: 3 devices, ≥ ${MIN_EDITS} edits with offline periods, reordered/duplicated pushes and lost responses converge and lose nothing`, { timeout: 120_000 }, async () => {
  const started = Date.now();
  const devices: Device[] = DEVICES.map((id) => ({ id, online: true, known: new Map(), pending: new Map(), order: [], listed: new Set<string>(), cursor: 0, nextMutation: 0, sentFlights: 0 }));
  const wire: Flight[] = [];
  let flightNo = 0;
  const stats = {
    edits: 0,
    coalesced: 0,
    pushes: 0,
    lostRequests: 0,
    lostResponses: 0,
    duplicatedPushes: 0,
    reordered: 0,
    duplicateAnswers: 0,
    applied: 0,
    conflicts: 0,
    historyIgnored: 0,
    pulls: 0,
    pages: 0,
    offlinePeriods: 0,
    resolved: { keepServer: 0, keepClient: 0, keepBoth: 0, merged: 0 },
    resolvedTwice: 0,
  };

  // ── the oracle ──
  /** Every acknowledged write: `${id}@${version}` → content (null: tombstone). */
  const writes = new Map<string, { content: string | null; kind: Kind; by: string }>();
  /** What each sent mutation carried (frozen at its first send), by `${device}/${mutation}`. */
  const sent = new Map<string, { recordId: string; kind: Kind; base: number; delete: boolean; content: string | null }>();
  /** The first answer to each mutation. */
  const answers = new Map<string, { status: string; version: number; conflictId: string | null }>();
  /** Resolutions as answered the first time, by conflict id. */
  const resolutions = new Map<string, { how: Resolution["case"]; record: RecordRow; copy?: RecordRow; merged?: string; serverBefore?: { version: number; content: string | null } }>();
  const problems: string[] = [];
  const fail = (msg: string) => {
    if (problems.length < 20) problems.push(msg);
  };

  /** Records an acknowledged write; false when it wrote nothing new (history insert-or-ignore). */
  const write = (id: string, version: number, content: string | null, kind: Kind, by: string, allowSame = false): boolean => {
    const key = `${id}@${version}`;
    const before = writes.get(key);
    if (before) {
      if (!(allowSame && before.content === content)) fail(`two writes claim ${key}: ${before.by} and ${by}`);
      return false;
    }
    writes.set(key, { content, kind, by });
    return true;
  };

  // ── helpers of the model ──
  /** What the device shows for a record: its pending change over what it knows from the server. */
  const view = (d: Device, id: string): { kind: Kind; deleted: boolean } | undefined => {
    const p = d.pending.get(id);
    if (p) return { kind: p.kind, deleted: p.delete };
    return d.known.get(id);
  };
  const list = (d: Device, id: string) => {
    if (!d.listed.has(id)) {
      d.listed.add(id);
      d.order.push(id);
    }
  };
  const learn = (d: Device, id: string, k: Known, orEqual: boolean) => {
    const have = d.known.get(id);
    list(d, id);
    if (!have || k.version > have.version || (orEqual && k.version === have.version)) d.known.set(id, k);
  };
  /** Records the device can edit now: live in its view, not in flight. */
  const editable = (d: Device, pred: (kind: Kind) => boolean) =>
    d.order.filter((id) => {
      const p = d.pending.get(id);
      if (p && p.state !== "queued") return false;
      const v = view(d, id);
      return v !== undefined && !v.deleted && pred(v.kind);
    });

  const savedQuery = (n: string) =>
    ({ case: "savedQuery", value: create(SavedQuerySchema, { title: `q ${n}`, sql: `select ${rng.int(1000)} -- ${n}`, folder: rng.pick(["", "reports", "ops"]), tags: rng.chance(0.3) ? ["t"] : [], favorite: rng.chance(0.2) }) }) as Payload;
  const connectionPayload = (n: string) =>
    ({
      case: "connection",
      value: create(ConnectionProfileSchema, { name: `conn ${n}`, engine: rng.pick(["postgresql", "mysql", "sqlite"]), host: `db${rng.int(50)}.internal`, port: 5432 + rng.int(3), database: "app", username: "reader", options: rng.chance(0.3) ? { application_name: "sim" } : {} }),
    }) as Payload;
  const historyPayload = (n: string) =>
    ({ case: "history", value: create(HistoryEntrySchema, { sql: `select * from t${rng.int(100)} -- ${n}`, executedAt: timestampFromMs(1_700_000_000_000 + rng.int(1e9)), durationMs: BigInt(rng.int(5000)), rowCount: BigInt(rng.int(100)), success: rng.chance(0.9) }) }) as Payload;
  const payloadFor = (kind: Kind, n: string): Payload => (kind === "saved_query" ? savedQuery(n) : kind === "connection" ? connectionPayload(n) : historyPayload(n));

  const enqueue = (d: Device, recordId: string, kind: Kind, base: number, del: boolean, payload: Payload) => {
    d.pending.set(recordId, { mutationId: `${d.id}-m${++d.nextMutation}`, recordId, kind, base, delete: del, payload, state: "queued" });
  };

  function edit(d: Device) {
    stats.edits++;
    const tag = `${d.id}#${stats.edits}`;
    const roll = rng.next();
    if (roll < 0.16) {
      const id = uuidOf(rng);
      list(d, id);
      enqueue(d, id, "saved_query", 0, false, savedQuery(tag));
      return;
    }
    if (roll < 0.24) {
      const id = uuidOf(rng);
      list(d, id);
      enqueue(d, id, "connection", 0, false, connectionPayload(tag));
      return;
    }
    if (roll < 0.42) {
      const id = uuidOf(rng);
      list(d, id);
      enqueue(d, id, "history", 0, false, historyPayload(tag));
      return;
    }
    if (roll < 0.44) {
      // Re-append a history entry the device already has (a client that lost its outbox): insert-or-ignore.
      const candidates = d.order.filter((id) => {
        const k = d.known.get(id);
        return k && k.kind === "history" && !k.deleted && !d.pending.has(id);
      });
      if (candidates.length === 0) return edit(d);
      const id = rng.pick(candidates);
      enqueue(d, id, "history", 0, false, { case: "history", value: fromJsonString(HistoryEntrySchema, d.known.get(id)!.payload!) });
      return;
    }
    const updatable = editable(d, (k) => k !== "history");
    if (roll < 0.88) {
      if (updatable.length === 0) return edit(d);
      // Favour a small hot set so devices collide.
      const id = rng.chance(0.6) ? updatable[rng.int(Math.min(6, updatable.length))] : rng.pick(updatable);
      const v = view(d, id)!;
      const p = d.pending.get(id);
      const payload = payloadFor(v.kind, tag);
      if (p) {
        stats.coalesced++;
        p.payload = payload; // an unsent draft: the edit replaces it (same mutation, same base)
        p.delete = false;
      } else enqueue(d, id, v.kind, d.known.get(id)!.version, false, payload);
      return;
    }
    // Delete (rarely a history entry).
    const deletable = rng.chance(0.1) ? editable(d, (k) => k === "history") : updatable;
    if (deletable.length === 0) return edit(d);
    const id = rng.pick(deletable);
    const p = d.pending.get(id);
    const k = d.known.get(id);
    if (p && !k) {
      // Never reached the server: the draft disappears.
      stats.coalesced++;
      d.pending.delete(id);
      return;
    }
    if (p) {
      stats.coalesced++;
      p.delete = true;
      p.payload = { case: undefined };
    } else enqueue(d, id, k!.kind, k!.version, true, { case: undefined });
  }

  function send(d: Device, max = 1 + rng.int(30)) {
    const batch = [...d.pending.values()].filter((p) => p.state !== "inflight").slice(0, max);
    if (batch.length === 0) return;
    for (const p of batch) {
      p.state = "inflight";
      const key = `${d.id}/${p.mutationId}`;
      const content = p.delete ? null : json(p.payload);
      const before = sent.get(key);
      if (!before) sent.set(key, { recordId: p.recordId, kind: p.kind, base: p.base, delete: p.delete, content });
      else if (before.content !== content || before.base !== p.base || before.delete !== p.delete) fail(`mutation ${key} changed after it was sent`);
    }
    wire.push({ no: ++flightNo, device: d, changes: batch });
    d.sentFlights++;
  }

  /** The server answers the push; the device may or may not hear the answer. */
  async function deliver(f: Flight, opts: { loseResponse: boolean }) {
    const d = f.device;
    const changes = f.changes.map((p) =>
      create(ChangeSchema, { mutationId: p.mutationId, recordId: p.recordId, baseVersion: BigInt(p.base), delete: p.delete, payload: structuredClonePayload(p.payload) }),
    );
    stats.pushes++;
    const out = await sync.push(userId, d.id, "sim/1", changes);
    if (out.results.length !== changes.length) fail("a result per change");
    out.results.forEach((r: Result, i) => observe(d, f.changes[i], r));
    if (opts.loseResponse) {
      stats.lostResponses++;
      for (const p of f.changes) if (d.pending.get(p.recordId) === p && p.state === "inflight") p.state = "lost";
      return;
    }
    out.results.forEach((r, i) => hear(d, f.changes[i], r));
  }

  /** The oracle sees every answer (even the ones lost on the way back). */
  function observe(d: Device, p: Pending, r: Result) {
    const key = `${d.id}/${p.mutationId}`;
    const s = sent.get(key)!;
    if (r.status === "duplicate") {
      stats.duplicateAnswers++;
      const first = answers.get(key);
      const o = r.original;
      if (!first) fail(`duplicate for ${key} that was never answered`);
      else if (first.status !== o.status || first.version !== o.version || first.conflictId !== o.conflictId) fail(`retry of ${key} answered differently: ${JSON.stringify(o)} vs ${JSON.stringify(first)}`);
      return;
    }
    if (answers.has(key)) fail(`${key} answered as new twice`);
    if (r.status === "rejected") {
      fail(`${key} rejected: ${r.reason} ${r.field}`);
      answers.set(key, { status: "rejected", version: 0, conflictId: null });
      return;
    }
    if (r.status === "conflict") {
      stats.conflicts++;
      answers.set(key, { status: "conflict", version: r.version, conflictId: r.conflictId });
      return;
    }
    stats.applied++;
    answers.set(key, { status: "applied", version: r.version, conflictId: null });
    if (s.kind !== "history" || s.delete) {
      const expected = s.base === 0 ? 1 : s.base + 1;
      if (r.version !== expected) fail(`${key} applied as version ${r.version}, based on ${s.base}`);
    }
    // History is insert-or-ignore: appending an entry that exists is applied and writes nothing.
    if (!write(s.recordId, r.version, s.content, s.kind, key, s.kind === "history" && !s.delete)) stats.historyIgnored++;
  }

  /** The device hears an answer. */
  function hear(d: Device, p: Pending, r: Result) {
    const mine = d.pending.get(p.recordId);
    const status = r.status === "duplicate" ? r.original.status : r.status;
    const version = r.status === "duplicate" ? r.original.version : r.status === "rejected" ? 0 : r.version;
    if (!mine || mine.mutationId !== p.mutationId) return; // an old answer (a duplicated push); already settled
    d.pending.delete(p.recordId);
    if (status === "applied") learn(d, p.recordId, { kind: p.kind, version, deleted: p.delete, payload: p.delete ? null : json(p.payload) }, false);
    // conflict: the change is kept in the conflict; the device sees the server side when it pulls.
  }

  async function pull(d: Device, pageSize: number, pages = Infinity) {
    stats.pulls++;
    for (let i = 0; i < pages; i++) {
      const page = await sync.pull(userId, d.id, d.cursor, pageSize);
      stats.pages++;
      if (page.resetRequired) fail("reset_required without retention");
      let last = d.cursor;
      for (const r of page.records) {
        if (r.seq <= last) fail(`pull out of order: ${r.seq} after ${last}`);
        last = r.seq;
        learn(d, r.id, { kind: r.kind, version: r.version, deleted: r.deleted, payload: r.payload }, true);
      }
      if (page.nextSeq < d.cursor) fail("cursor went back");
      d.cursor = page.nextSeq;
      if (!page.hasMore) return;
    }
  }

  async function resolveSome(d: Device, all: boolean) {
    const open: ConflictRow[] = [];
    let token = "";
    do {
      const page = await sync.listConflicts(userId, false, 200, token);
      open.push(...page.conflicts);
      token = page.next;
    } while (token);
    for (const c of open) {
      if (!all && rng.chance(0.5)) continue;
      const roll = rng.next();
      let how: Resolution;
      let merged: string | undefined;
      if (roll < 0.3) how = { case: "keepServer" };
      else if (roll < 0.6) how = { case: "keepClient" };
      else if (roll < 0.9) how = { case: "keepBoth" };
      else {
        const payload = payloadFor(c.kind, `merged ${c.id.slice(-4)}`);
        merged = json(payload);
        how = { case: "merged", change: create(ChangeSchema, { mutationId: `merge-${c.id}`, recordId: c.recordId, payload: structuredClonePayload(payload) }) };
      }
      const current = (await server.db.execute({ sql: "SELECT version, payload FROM sync_records WHERE user_id = ? AND id = ?", args: [userId, c.recordId] })).rows[0];
      const out = await sync.resolve(userId, c.id, how);
      stats.resolved[how.case]++;
      resolutions.set(c.id, { how: how.case, record: out.record, copy: out.copy, merged, serverBefore: { version: Number(current.version), content: current.payload === null ? null : String(current.payload) } });
      if (out.record.version !== Number(current.version) + 1) fail(`resolution of ${c.id} wrote version ${out.record.version} over ${current.version}`);
      write(out.record.id, out.record.version, out.record.deleted ? null : out.record.payload, out.record.kind, `resolve ${c.id}`);
      if (out.copy) write(out.copy.id, out.copy.version, out.copy.payload, out.copy.kind, `copy ${c.id}`);
      learn(d, out.record.id, { kind: out.record.kind, version: out.record.version, deleted: out.record.deleted, payload: out.record.payload }, true);
      if (out.copy) learn(d, out.copy.id, { kind: out.copy.kind, version: out.copy.version, deleted: out.copy.deleted, payload: out.copy.payload }, true);
      // Now and then another device resolves the same conflict again: the same choice is a
      // harmless retry; another one is refused (CONFLICT_ALREADY_RESOLVED) and writes nothing.
      if (rng.chance(0.1)) {
        const other: Resolution = rng.chance(0.5) && how.case !== "keepClient" ? { case: "keepClient" } : how.case !== "keepServer" ? { case: "keepServer" } : { case: "keepBoth" };
        const refused = await sync.resolve(userId, c.id, other).then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
        if (refused?.code !== Code.FailedPrecondition || refused.findDetails(ErrorInfoSchema)[0]?.reason !== "CONFLICT_ALREADY_RESOLVED") {
          fail(`resolving ${c.id} (${how.case}) again with ${other.case} answered ${refused ? `${Code[refused.code]} ${refused.rawMessage}` : "OK"}`);
        }
        const again = await sync.resolve(userId, c.id, how);
        stats.resolvedTwice++;
        if (again.headSeq !== out.headSeq || again.record.version !== out.record.version || again.record.seq !== out.record.seq) fail(`second resolution of ${c.id} wrote`);
        if (again.copy?.id !== out.copy?.id) fail(`second resolution of ${c.id} answered another copy`);
      }
    }
  }

  // ── the run ──
  const offlineUntil = new Map<Device, number>();
  let step = 0;
  while (stats.edits < MIN_EDITS) {
    step++;
    for (const d of devices) {
      if (!d.online && (offlineUntil.get(d) ?? 0) <= step) d.online = true;
    }
    const d = rng.pick(devices);
    const roll = rng.next();
    if (roll < 0.5) edit(d);
    else if (roll < 0.62) {
      if (d.online) send(d);
    } else if (roll < 0.82) {
      // Deliver any push on the wire (not necessarily the oldest: reordering).
      const candidates = wire.filter((f) => f.device.online);
      if (candidates.length === 0) continue;
      const f = rng.pick(candidates);
      if (wire.some((g) => g.device === f.device && g.no < f.no)) stats.reordered++;
      const duplicate = rng.chance(0.08);
      if (!duplicate) wire.splice(wire.indexOf(f), 1);
      else stats.duplicatedPushes++; // it stays on the wire and arrives again later
      await deliver(f, { loseResponse: rng.chance(0.12) });
    } else if (roll < 0.92) {
      if (d.online) await pull(d, rng.pick([1, 3, 10, 50, 0]), rng.chance(0.2) ? 1 + rng.int(3) : Infinity);
    } else if (roll < 0.96) {
      if (d.online) await resolveSome(d, false);
    } else if (d.online && rng.chance(0.5)) {
      // Offline for a while: what is on the wire either reached the server (answer lost) or not.
      stats.offlinePeriods++;
      d.online = false;
      offlineUntil.set(d, step + 50 + rng.int(400));
      for (const f of wire.filter((g) => g.device === d)) {
        wire.splice(wire.indexOf(f), 1);
        if (rng.chance(0.5)) await deliver(f, { loseResponse: true });
        else {
          stats.lostRequests++;
          for (const p of f.changes) if (d.pending.get(p.recordId) === p && p.state === "inflight") p.state = "lost";
        }
      }
    }
  }
  const simulated = Date.now() - started;

  // ── settle: everyone online, every push delivered and heard, every conflict resolved ──
  for (const d of devices) d.online = true;
  for (let round = 0; round < 20; round++) {
    while (wire.length > 0) {
      const f = wire.splice(rng.int(wire.length), 1)[0];
      await deliver(f, { loseResponse: false });
    }
    for (const d of devices) {
      for (const p of d.pending.values()) if (p.state === "inflight") p.state = "lost"; // their flights were delivered unheard
      while ([...d.pending.values()].some((p) => p.state !== "inflight")) {
        send(d, 100);
        await deliver(wire.pop()!, { loseResponse: false });
      }
    }
    await resolveSome(rng.pick(devices), true);
    const open = await sync.listConflicts(userId, false, 1, "");
    if (wire.length === 0 && devices.every((d) => d.pending.size === 0) && open.conflicts.length === 0) break;
  }
  for (const d of devices) await pull(d, 0);

  // ── checks ──
  const rows = (await server.db.execute({ sql: "SELECT id, kind, version, seq, deleted, payload FROM sync_records WHERE user_id = ?", args: [userId] })).rows;
  const serverState = new Map(rows.map((r) => [String(r.id), { kind: String(r.kind) as Kind, version: Number(r.version), deleted: Number(r.deleted) === 1, payload: r.payload === null ? null : String(r.payload) }]));
  const head = (await sync.status(userId)).headSeq;
  expect(Math.max(...rows.map((r) => Number(r.seq)))).toBe(head);
  expect(new Set(rows.map((r) => Number(r.seq))).size).toBe(rows.length);

  // 1. Every device holds exactly the server's data.
  for (const d of devices) {
    expect(d.pending.size, `${d.id} pending`).toBe(0);
    expect(d.cursor, `${d.id} cursor`).toBe(head);
    const mine = Object.fromEntries([...d.known].sort(([a], [b]) => (a < b ? -1 : 1)));
    const theirs = Object.fromEntries([...serverState].sort(([a], [b]) => (a < b ? -1 : 1)));
    expect(mine, `${d.id} holds the server's data`).toEqual(theirs);
  }
  // A new device pulling from 0 gets the same.
  const fresh = await pullEverything("fresh-device");
  expect(fresh).toEqual(serverState);

  // 2. Every version of every record has exactly one acknowledged writer, and the current content is the last one's.
  for (const [id, rec] of serverState) {
    for (let v = 1; v <= rec.version; v++) if (!writes.has(`${id}@${v}`)) fail(`${id}@${v} exists but no acknowledged write made it`);
    const last = writes.get(`${id}@${rec.version}`);
    if (last && last.content !== (rec.deleted ? null : rec.payload)) fail(`${id}@${rec.version}: content is not what its writer (${last.by}) wrote`);
    if (last && last.kind !== rec.kind) fail(`${id} changed kind`);
  }
  // Every acknowledged write is current or superseded by the next version of the same record.
  for (const key of writes.keys()) {
    const [id, v] = key.split("@");
    const rec = serverState.get(id);
    if (!rec) fail(`acknowledged write ${key} to a record the server does not have`);
    else if (Number(v) > rec.version) fail(`acknowledged write ${key} is newer than the record (v${rec.version})`);
    else if (Number(v) < rec.version && !writes.has(`${id}@${Number(v) + 1}`)) fail(`${key} was overwritten without a successor`);
  }

  // 3. Every sent change ended applied or kept in a conflict, with exactly what was sent.
  const conflicts = new Map<string, ConflictRow>();
  let token = "";
  do {
    const page = await sync.listConflicts(userId, true, 200, token);
    for (const c of page.conflicts) conflicts.set(c.id, c);
    token = page.next;
  } while (token);
  for (const [key, s] of sent) {
    const a = answers.get(key);
    if (!a) {
      fail(`${key} was sent but never answered`);
      continue;
    }
    if (a.status === "applied") {
      const w = writes.get(`${s.recordId}@${a.version}`);
      if (!w || w.content !== s.content) fail(`${key} applied but ${s.recordId}@${a.version} holds something else`);
      continue;
    }
    if (a.status !== "conflict") continue; // rejected: already reported
    const c = conflicts.get(a.conflictId!);
    if (!c) {
      fail(`${key}: conflict ${a.conflictId} is gone`);
      continue;
    }
    const [device, mutation] = key.split("/");
    if (c.deviceId !== device || c.client.mutationId !== mutation || c.recordId !== s.recordId || c.baseVersion !== s.base || c.client.deleted !== s.delete || c.client.payload !== s.content) {
      fail(`${key}: the conflict does not keep what the device sent`);
    }
    if (c.resolvedAt === null) fail(`conflict ${c.id} left open after settling`);
  }
  // 4. Every resolution wrote what it promised.
  for (const [conflictId, r] of resolutions) {
    const c = conflicts.get(conflictId)!;
    const at = writes.get(`${c.recordId}@${r.record.version}`);
    const expected =
      r.how === "keepClient" ? (c.client.deleted ? null : c.client.payload) : r.how === "merged" ? r.merged! : r.serverBefore!.content;
    if (!at || at.content !== expected) fail(`resolution ${r.how} of ${conflictId} wrote ${at?.content} instead of ${expected}`);
    if (r.how === "keepBoth" && !c.client.deleted) {
      if (!r.copy) fail(`keep_both of ${conflictId} made no copy`);
      else {
        const want = JSON.parse(c.client.payload!) as Record<string, string>;
        if (c.kind === "saved_query") want.title = `${want.title ?? ""} (conflict from ${c.deviceId})`;
        if (c.kind === "connection") want.name = `${want.name ?? ""} (conflict from ${c.deviceId})`;
        expect(JSON.parse(writes.get(`${r.copy.id}@1`)!.content!)).toEqual(want);
      }
    }
    if (!c.resolution || JSON.parse(c.resolution).how !== r.how) fail(`conflict ${conflictId} does not record how it was resolved`);
  }

  const total = Date.now() - started;
  console.log(
    `sync simulation seed ${SEED}: ${JSON.stringify({ ...stats, records: serverState.size, head, conflictsStored: conflicts.size, writes: writes.size, simulatedMs: simulated, totalMs: total })}`,
  );
  expect(problems).toEqual([]);
  // The run exercised what it claims to.
  expect(stats.edits).toBeGreaterThanOrEqual(MIN_EDITS);
  expect(stats.offlinePeriods).toBeGreaterThan(0);
  expect(stats.reordered).toBeGreaterThan(0);
  expect(stats.duplicatedPushes).toBeGreaterThan(0);
  expect(stats.lostResponses).toBeGreaterThan(0);
  expect(stats.duplicateAnswers).toBeGreaterThan(0);
  expect(stats.conflicts).toBeGreaterThan(0);
  expect(stats.historyIgnored).toBeGreaterThan(0);
  for (const n of Object.values(stats.resolved)) expect(n).toBeGreaterThan(0);
  expect(stats.resolvedTwice).toBeGreaterThan(0);
});

/** A device that pulls everything from 0 (page by page), as a map. */
async function pullEverything(deviceId: string) {
  const out = new Map<string, Known>();
  let cursor = 0;
  for (;;) {
    const page = await sync.pull(userId, deviceId, cursor, 997);
    for (const r of page.records) out.set(r.id, { kind: r.kind, version: r.version, deleted: r.deleted, payload: r.payload });
    cursor = page.nextSeq;
    if (!page.hasMore) return out;
  }
}

/** A fresh copy of a payload for each delivery (the server redacts history SQL in place). */
function structuredClonePayload(p: Payload): Payload {
  switch (p.case) {
    case "savedQuery":
      return { case: "savedQuery", value: create(SavedQuerySchema, { ...p.value, tags: [...p.value.tags] }) };
    case "connection":
      return { case: "connection", value: create(ConnectionProfileSchema, { ...p.value, options: { ...p.value.options }, tags: [...p.value.tags] }) };
    case "history":
      return { case: "history", value: create(HistoryEntrySchema, { ...p.value }) };
    default:
      return { case: undefined };
  }
}
