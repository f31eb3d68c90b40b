/**
 * Crash safety of Push (issue 4, "Done when: Crash safety"): a child server process (`src/main.ts`)
 * is killed with SIGKILL in the middle of pushes, again and again, on one database folder. Each
 * round sends one push of 200 changes (new records, updates, stale updates that become conflicts,
 * and invalid changes that are rejected) and kills the process after a random delay (0–40 ms, or
 * up to the time a push takes on a slower machine), so the kill lands before, during or after the
 * write transaction; the test requires both outcomes to have happened. After every kill the
 * database file itself is checked, with the process gone:
 * - the batch is all or nothing: all 200 mutation rows with every record write and conflict row
 *   of the batch, or none of them — never a part (and a response that arrived means "all");
 * - the records (id → version) are exactly what the committed batches say, head_seq equals the
 *   number of applied changes, and the file passes integrity_check.
 * Then a new process starts and the client retries the same push (same device, same mutation
 * ids): a committed batch is answered as duplicates carrying the original results, a batch that
 * never committed is applied now, exactly as it would have been the first time.
 *
 * Rounds: 50 kills, as the issue asks (CRASH_ROUNDS changes it). Each round starts a child
 * (`spawnServer`: node + tsx loading the whole server), which measured 1.3 s on an idle 2-core
 * machine and 2.1 s (median) while other test files ran beside it; the 50 rounds take about
 * 100-125 s, while the other vitest worker runs the rest of the suite (a child now starts in about
 * 3 s on an idle machine and up to 7 s beside the whole suite: the limit allows 12 s a round). The seed is printed so a
 * failing run can be replayed with CRASH_SEED.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openDb } from "../../../src/db/client.js";
import { authEnv, registerAndLogin } from "../../support/auth.js";
import { spawnServer, type ChildServer } from "../../support/server.js";
import { prng } from "../../support/prng.js";

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 50);
const BATCH = 200;
const MAX_KILL_DELAY_MS = 40;
const DEVICE = "crash-device";
const SYNC = "sqlstudio.sync.v1.SyncService";

type Expect = "applied" | "conflict" | "rejected";
interface PlannedChange {
  json: Record<string, unknown>;
  mutationId: string;
  recordId: string;
  expect: Expect;
  /** The record's version after the change, when it commits (applied), or the server's (conflict). */
  version: number;
}
interface Batch {
  round: number;
  changes: PlannedChange[];
  /** Whether the database holds it (known after the check that follows the kill). */
  committed?: boolean;
}

/** The client's model of the server: what every committed batch did. */
class Model {
  readonly versions = new Map<string, number>();
  applied = 0;
  conflicts = 0;
  batches = 0;

  /** The next batch: new records, in-date updates, stale updates (conflicts) and invalid changes, on distinct records. */
  plan(round: number, rand: () => number): Batch {
    const existing = [...this.versions.keys()];
    // Shuffle and take distinct existing records for updates and for stale updates.
    for (let i = existing.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [existing[i], existing[j]] = [existing[j], existing[i]];
    }
    const updates = existing.slice(0, Math.min(40, existing.length));
    const stale = existing.slice(updates.length, updates.length + Math.min(10, existing.length - updates.length));
    const changes: PlannedChange[] = [];
    const add = (recordId: string, expect: Expect, version: number, body: Record<string, unknown>) => {
      const mutationId = randomUUID();
      changes.push({ json: { mutationId, recordId, ...body }, mutationId, recordId, expect, version });
    };
    const query = (title: string) => ({ savedQuery: { title, sql: `SELECT ${JSON.stringify(title)}`, tags: ["crash"] } });
    for (const id of updates) {
      const v = this.versions.get(id)!;
      add(id, "applied", v + 1, { baseVersion: String(v), ...query(`r${round} update of ${id.slice(0, 8)}`) });
    }
    for (const id of stale) {
      const v = this.versions.get(id)!;
      add(id, "conflict", v, { baseVersion: String(v - 1), ...query(`r${round} stale edit`) });
    }
    for (let i = 0; i < 10; i++) add(randomUUID(), "rejected", 0, { baseVersion: String(1), delete: true }); // RECORD_NOT_FOUND
    while (changes.length < BATCH) add(randomUUID(), "applied", 1, { baseVersion: "0", ...query(`r${round} new ${changes.length}`) });
    // Mix the kinds of change within the batch.
    for (let i = changes.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [changes[i], changes[j]] = [changes[j], changes[i]];
    }
    return { round, changes };
  }

  /** The model with `batch` committed. */
  commit(batch: Batch): void {
    this.batches++;
    for (const c of batch.changes) {
      if (c.expect === "applied") {
        this.versions.set(c.recordId, c.version);
        this.applied++;
      }
      if (c.expect === "conflict") this.conflicts++;
    }
  }
}

interface JsonResult {
  mutationId: string;
  recordId: string;
  status: string;
  originalStatus?: string;
  version?: string;
  conflictId?: string;
  reason?: string;
}

async function pushBatch(server: ChildServer, token: string, batch: Batch, signal?: AbortSignal): Promise<{ results: JsonResult[]; headSeq?: string }> {
  const res = await fetch(`${server.url}/${SYNC}/Push`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ deviceId: DEVICE, clientVersion: "crash/1", changes: batch.changes.map((c) => c.json) }),
    signal,
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`Push failed: ${res.status} ${JSON.stringify(body)}`);
  return body as { results: JsonResult[]; headSeq?: string };
}

const STATUS: Record<Expect, string> = { applied: "CHANGE_STATUS_APPLIED", conflict: "CHANGE_STATUS_CONFLICT", rejected: "CHANGE_STATUS_REJECTED" };

/** The answer to a push of `batch`: fresh results, or (when it had committed before) duplicates of them. */
function expectAnswer(batch: Batch, results: JsonResult[], asDuplicates: boolean): void {
  expect(results).toHaveLength(batch.changes.length);
  batch.changes.forEach((c, i) => {
    const r = results[i];
    const where = `round ${batch.round}, change ${i} (${c.expect})`;
    expect(r.mutationId, where).toBe(c.mutationId);
    expect(r.recordId, where).toBe(c.recordId);
    if (asDuplicates) {
      expect(r.status, where).toBe("CHANGE_STATUS_DUPLICATE");
      expect(r.originalStatus, where).toBe(STATUS[c.expect]);
    } else {
      expect(r.status, where).toBe(STATUS[c.expect]);
    }
    if (c.expect !== "rejected") expect(Number(r.version ?? 0), where).toBe(c.version);
    if (c.expect === "conflict") expect(r.conflictId, where).toMatch(/^[0-9a-f-]{36}$/);
    if (c.expect === "rejected") expect(r.reason, where).toBe("RECORD_NOT_FOUND");
  });
}

const placeholders = (n: number) => Array.from({ length: n }, () => "?").join(", ");

/**
 * Opens the database file with no server running and checks it against the model: `batch` is
 * either wholly there or wholly absent. Returns whether it is there.
 */
async function checkFile(dbUrl: string, userId: string, model: Model, batch: Batch | undefined): Promise<boolean> {
  const db = await openDb({ url: dbUrl });
  try {
    expect((await db.execute("PRAGMA integrity_check")).rows[0]?.[0]).toBe("ok");
    let committed = false;
    if (batch) {
      const ids = batch.changes.map((c) => c.mutationId);
      const rs = await db.execute({
        sql: `SELECT COUNT(*) AS n FROM sync_mutations WHERE user_id = ? AND device_id = ? AND mutation_id IN (${placeholders(ids.length)})`,
        args: [userId, DEVICE, ...ids],
      });
      const stored = Number(rs.rows[0].n);
      // All or nothing: never a partial batch.
      expect([0, BATCH], `mutation rows of round ${batch.round}`).toContain(stored);
      committed = stored === BATCH;
      const conflictIds = batch.changes.filter((c) => c.expect === "conflict").map((c) => c.mutationId);
      if (conflictIds.length > 0) {
        const cs = await db.execute({
          sql: `SELECT COUNT(*) AS n FROM sync_conflicts WHERE user_id = ? AND client_mutation_id IN (${placeholders(conflictIds.length)})`,
          args: [userId, ...conflictIds],
        });
        expect(Number(cs.rows[0].n), `conflict rows of round ${batch.round}`).toBe(committed ? conflictIds.length : 0);
      }
    }
    const expected = new Model();
    for (const [id, v] of model.versions) expected.versions.set(id, v);
    expected.applied = model.applied;
    expected.conflicts = model.conflicts;
    expected.batches = model.batches;
    if (batch && committed) expected.commit(batch);

    // Every record write of the batch, or none: the whole table is what the committed batches say.
    const records = await db.execute({ sql: "SELECT id, version FROM sync_records WHERE user_id = ?", args: [userId] });
    const actual = new Map(records.rows.map((r) => [String(r.id), Number(r.version)]));
    expect(actual.size, "record count").toBe(expected.versions.size);
    for (const [id, v] of expected.versions) if (actual.get(id) !== v) expect(actual.get(id), `version of ${id}`).toBe(v);
    const head = await db.execute({ sql: "SELECT head_seq FROM sync_heads WHERE user_id = ?", args: [userId] });
    expect(Number(head.rows[0]?.head_seq ?? 0), "head_seq = applied changes").toBe(expected.applied);
    const maxSeq = await db.execute({ sql: "SELECT COALESCE(MAX(seq), 0) AS m FROM sync_records WHERE user_id = ?", args: [userId] });
    expect(Number(maxSeq.rows[0].m), "the newest record carries head_seq").toBe(expected.applied);
    const conflicts = await db.execute({ sql: "SELECT COUNT(*) AS n FROM sync_conflicts WHERE user_id = ?", args: [userId] });
    expect(Number(conflicts.rows[0].n), "conflict rows").toBe(expected.conflicts);
    const mutations = await db.execute({ sql: "SELECT COUNT(*) AS n FROM sync_mutations WHERE user_id = ?", args: [userId] });
    expect(Number(mutations.rows[0].n), "mutation rows").toBe(expected.batches * BATCH);
    return committed;
  } finally {
    db.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), "sqlstudio-crash-"));
const dbUrl = `file:${join(dir, "app.db")}`;
let child: ChildServer | undefined;
afterAll(async () => {
  await child?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("crash safety of Push", () => {
  it(`a child killed with SIGKILL mid-push ${ROUNDS} times never leaves a partial batch; retries answer duplicates`, async () => {
    const seed = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`crash test seed ${seed} (replay with CRASH_SEED=${seed})`);
    const rand = prng(seed);
    // The model expects every stale edit to become a conflict: lift the open-conflict caps (10 stale
    // edits a round, on records picked at random, over 50 rounds).
    const env = authEnv({ SYNC_MAX_OPEN_CONFLICTS_PER_USER: "100000", SYNC_MAX_OPEN_CONFLICTS_PER_RECORD: "100000" });
    const started = performance.now();
    const startups: number[] = [];
    const phases = { retry: 0, push: 0, check: 0 };
    const spawn = async () => {
      const t = performance.now();
      const c = await spawnServer({ dir, env });
      startups.push(performance.now() - t);
      return c;
    };

    let proc = (child = await spawn());
    const { id: userId, session } = await registerAndLogin(proc, "crash");
    const token = session.accessToken;
    const model = new Model();
    let pending: Batch | undefined;
    let pushMs: number | undefined;
    const delays: number[] = [];
    const outcomes = { committed: 0, lost: 0, answeredBeforeKill: 0 };

    for (let round = 0; round <= ROUNDS; round++) {
      if (round > 0) proc = child = await spawn();
      // The client retries the push the crash interrupted: same device, same mutation ids.
      let t = performance.now();
      if (pending) {
        const sent = performance.now();
        const retry = await pushBatch(proc, token, pending);
        expectAnswer(pending, retry.results, pending.committed!);
        if (!pending.committed) {
          model.commit(pending);
          // A fresh push of a batch: how long one takes on this machine now (see the kill delay).
          pushMs = pushMs === undefined ? performance.now() - sent : 0.7 * pushMs + 0.3 * (performance.now() - sent);
        }
        expect(Number(retry.headSeq ?? 0), `head after the retry of round ${pending.round}`).toBe(model.applied);
        // Retrying once more is a duplicate either way (checked now and then: each push costs time).
        if (pending.round % 10 === 0 || round === ROUNDS) expectAnswer(pending, (await pushBatch(proc, token, pending)).results, true);
        pending = undefined;
      }
      phases.retry += performance.now() - t;
      if (round === ROUNDS) break;
      t = performance.now();

      const batch = model.plan(round, rand);
      // Kill somewhere in the push: after 0–40 ms, or up to the time a fresh push of a batch took
      // here when that is longer (a loaded machine), so kills land before, during and after the
      // commit rather than always before it.
      const window = Math.max(MAX_KILL_DELAY_MS, pushMs ?? 0);
      const delay = rand() * window;
      delays.push(delay);
      let answered = false;
      const inflight = pushBatch(proc, token, batch).then(
        () => (answered = true),
        () => undefined, // the connection dies with the process
      );
      await new Promise((r) => setTimeout(r, delay));
      proc.child.kill("SIGKILL");
      const exit = await proc.exited;
      expect(exit.signal).toBe("SIGKILL");
      await inflight;
      child = undefined;
      phases.push += performance.now() - t;
      t = performance.now();
      batch.committed = await checkFile(dbUrl, userId, model, batch);
      phases.check += performance.now() - t;
      if (answered) {
        outcomes.answeredBeforeKill++;
        expect(batch.committed, `round ${round}: the client had its answer, so the batch must be stored`).toBe(true);
      }
      if (batch.committed) {
        outcomes.committed++;
        model.commit(batch);
      } else outcomes.lost++;
      pending = batch;
    }

    // Every batch is in now, exactly once.
    await proc.stop();
    child = undefined;
    await checkFile(dbUrl, userId, model, undefined);
    expect(model.applied).toBe(
      // round 0 has no records to update: 190 creates; later rounds 150 creates + 40 updates (+10 conflicts, 10 rejects)
      ROUNDS * (BATCH - 20) + 10,
    );
    const seconds = (performance.now() - started) / 1000;
    const sorted = [...startups].sort((x, y) => x - y);
    console.log(
      `crash test: ${ROUNDS} SIGKILLs in ${seconds.toFixed(1)} s; batch committed before the kill ${outcomes.committed}×, ` +
        `lost with the process ${outcomes.lost}× (client had its answer ${outcomes.answeredBeforeKill}×); ` +
        `child startup median ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms (total ${(startups.reduce((a, b) => a + b, 0) / 1000).toFixed(1)} s), ` +
        `retries ${(phases.retry / 1000).toFixed(1)} s, push+kill ${(phases.push / 1000).toFixed(1)} s, file checks ${(phases.check / 1000).toFixed(1)} s; ` +
        `kill delays ${Math.min(...delays).toFixed(0)}–${Math.max(...delays).toFixed(0)} ms (a fresh push takes ~${(pushMs ?? 0).toFixed(0)} ms); ` +
        `${model.versions.size} records, head_seq ${model.applied}`,
    );
    // Both outcomes happened: kills landed before the commit and after it (else the test proved little).
    expect(outcomes.committed).toBeGreaterThan(0);
    expect(outcomes.lost).toBeGreaterThan(0);
  }, 60_000 + ROUNDS * 12_000);
});
