/**
 * Issue 18, item 6: one user can fill the app database. Against the real server over Connect JSON:
 * - 400 pushes with a stale version to one record store SYNC_MAX_OPEN_CONFLICTS_PER_RECORD
 *   conflicts, not 400; the others are rejected naming the limit; resolving one frees a slot;
 * - open conflicts per user are capped (SYNC_MAX_OPEN_CONFLICTS_PER_USER);
 * - a per-user byte quota (SYNC_QUOTA_BYTES) over records, history, conflicts and rejected changes:
 *   a push that would go over it is answered ResourceExhausted SYNC_QUOTA_EXCEEDED naming the quota,
 *   with nothing of it written; rejected changes count; deletes still go through and free space;
 * - the usage is in GetSyncStatus, kept in the database (a usage row updated in each write
 *   transaction) and equal to a recount of what is stored, also after concurrent pushes, conflict
 *   resolution and the retention job.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChangeStatus, type ChangeResult } from "../../gen/sqlstudio/sync/v1/sync_pb.js";
import type { Db } from "../../src/db/client.js";
import { syncJobs } from "../../src/sync/jobs.js";
import { SyncStore } from "../../src/sync/store.js";
import { registerAndLogin, startAuthServer, type AuthTestServer } from "../support/auth.js";
import { history, remove, savedQuery, syncClient, syncRows, uuid, type JsonChange, type SyncClient } from "../support/sync.js";

const PER_RECORD = 5;
const PER_USER = 8;
const QUOTA = 256 * 1024;
const DAY = 24 * 3_600_000;

let server: AuthTestServer;
beforeAll(async () => {
  server = await startAuthServer({
    env: {
      SYNC_MAX_OPEN_CONFLICTS_PER_RECORD: String(PER_RECORD),
      SYNC_MAX_OPEN_CONFLICTS_PER_USER: String(PER_USER),
      SYNC_QUOTA_BYTES: String(QUOTA),
      SYNC_TOMBSTONE_RETENTION_DAYS: "30",
      SYNC_HISTORY_RETENTION_DAYS: "60",
    },
  });
});
afterAll(async () => {
  await server?.stop();
});

async function user(prefix: string): Promise<{ id: string; c: SyncClient }> {
  const u = await registerAndLogin(server, prefix);
  return { id: u.id, c: syncClient(server, u.session.accessToken) };
}

const status = (r: ChangeResult) => ChangeStatus[r.status];

/**
 * What the user stores, counted from the tables by the documented rule: every stored row costs
 * 128 bytes plus its payloads (records and history: the payload; conflicts: both sides; rejected
 * changes: the row alone).
 */
async function recount(db: Db, userId: string): Promise<number> {
  const one = async (sql: string) => Number((await db.execute({ sql, args: [userId] })).rows[0].n ?? 0);
  const len = (col: string) => `COALESCE(LENGTH(CAST(${col} AS BLOB)), 0)`;
  return (
    (await one(`SELECT SUM(128 + ${len("payload")}) AS n FROM sync_records WHERE user_id = ?`)) +
    (await one(`SELECT SUM(128 + ${len("server_payload")} + ${len("client_payload")}) AS n FROM sync_conflicts WHERE user_id = ?`)) +
    (await one("SELECT SUM(128) AS n FROM sync_mutations WHERE user_id = ? AND status = 'rejected'"))
  );
}

async function limitHits(limit: string): Promise<number> {
  const m = await server.metrics.registry.getSingleMetric("limit_hits_total")?.get();
  return m?.values.find((v) => v.labels.limit === limit)?.value ?? 0;
}

/** A saved query of about `kb` KB. */
const big = (id: string, base: number, kb: number, title = "big"): JsonChange => savedQuery(id, base, { title, sql: `select '${"x".repeat(kb * 1024)}'` });

describe("open conflicts", () => {
  it("400 pushes with a stale version to one record store SYNC_MAX_OPEN_CONFLICTS_PER_RECORD conflicts; the rest are rejected naming the limit", async () => {
    const { id: userId, c } = await user("qconf");
    const rec = uuid();
    await c.push("laptop", [savedQuery(rec, 0, { title: "v1", sql: "select 1" })]);
    await c.push("laptop", [savedQuery(rec, 1, { title: "v2", sql: "select 2" })]);
    const hitsBefore = await limitHits("SYNC_MAX_OPEN_CONFLICTS_PER_RECORD");
    const results: ChangeResult[] = [];
    for (let i = 0; i < 400; i += 8) {
      const batch = await Promise.all(
        Array.from({ length: 8 }, (_, j) => c.push(`phone-${i + j}`, [savedQuery(rec, 1, { title: `stale ${i + j}`, sql: `select '${"y".repeat(500)}'` })])),
      );
      for (const r of batch) results.push(...r.results);
    }
    expect(results.filter((r) => status(r) === "CONFLICT").length).toBe(PER_RECORD);
    const rejected = results.filter((r) => status(r) === "REJECTED");
    expect(rejected.length).toBe(400 - PER_RECORD);
    expect(new Set(rejected.map((r) => r.reason))).toEqual(new Set(["OPEN_CONFLICTS_PER_RECORD_LIMIT"]));
    expect((await syncRows(server.db, userId)).conflicts).toBe(PER_RECORD);
    expect((await c.status()).openConflicts).toBe(PER_RECORD);
    expect(await limitHits("SYNC_MAX_OPEN_CONFLICTS_PER_RECORD")).toBe(hitsBefore + 400 - PER_RECORD);

    // Resolving one frees a slot for the next stale push.
    const [first] = await c.allConflicts(false);
    await c.resolve(first.id, { keepServer: true });
    expect((await c.status()).openConflicts).toBe(PER_RECORD - 1);
    const again = await c.push("phone-x", [savedQuery(rec, 1, { title: "stale again" })]);
    expect(again.results.map(status)).toEqual(["CONFLICT"]);
    expect((await c.status()).openConflicts).toBe(PER_RECORD);
    expect((await c.status()).quota?.usedBytes).toBe(BigInt(await recount(server.db, userId)));
  });

  it("open conflicts per user are capped at SYNC_MAX_OPEN_CONFLICTS_PER_USER across records", async () => {
    const { id: userId, c } = await user("quconf");
    const recs = Array.from({ length: 4 }, () => uuid());
    await c.push("laptop", recs.map((r) => savedQuery(r, 0, { title: "v1" })));
    await c.push("laptop", recs.map((r) => savedQuery(r, 1, { title: "v2" })));
    // Three stale changes per record in one push: 12 would-be conflicts, 8 allowed.
    const res = await c.push("phone", recs.flatMap((r) => [1, 2, 3].map((n) => savedQuery(r, 1, { title: `stale ${n}` }))));
    expect(res.results.filter((r) => status(r) === "CONFLICT").length).toBe(PER_USER);
    expect(res.results.filter((r) => status(r) === "REJECTED").map((r) => r.reason)).toEqual(Array(12 - PER_USER).fill("OPEN_CONFLICTS_PER_USER_LIMIT"));
    expect((await c.status()).openConflicts).toBe(PER_USER);
    expect((await c.status()).quota).toMatchObject({ maxOpenConflicts: PER_USER, maxOpenConflictsPerRecord: PER_RECORD });
    expect((await syncRows(server.db, userId)).conflicts).toBe(PER_USER);
  });
});

describe("byte quota", () => {
  it("a push that would go over SYNC_QUOTA_BYTES is ResourceExhausted SYNC_QUOTA_EXCEEDED, with nothing of it written; deletes still go through", async () => {
    const { id: userId, c } = await user("quota");
    const ids: string[] = [];
    let refused: Awaited<ReturnType<SyncClient["raw"]>> | undefined;
    const hitsBefore = await limitHits("SYNC_QUOTA_BYTES");
    for (let i = 0; i < 40 && !refused; i++) {
      const id = uuid();
      const r = await c.raw("Push", { deviceId: "laptop", changes: [big(id, 0, 20)] });
      if (r.status === 200) ids.push(id);
      else refused = r;
    }
    expect(refused, "the quota was never reached").toBeDefined();
    expect(refused!.code).toBe("resource_exhausted");
    expect(refused!.info?.reason).toBe("SYNC_QUOTA_EXCEEDED");
    expect(refused!.info?.metadata.limit).toBe("SYNC_QUOTA_BYTES");
    expect(refused!.info?.metadata.max).toBe(String(QUOTA));
    expect(refused!.message).toContain("SYNC_QUOTA_BYTES");
    expect(await limitHits("SYNC_QUOTA_BYTES")).toBe(hitsBefore + 1);

    const s = await c.status();
    expect(s.quota?.limitBytes).toBe(BigInt(QUOTA));
    expect(Number(s.quota?.usedBytes)).toBeLessThanOrEqual(QUOTA);
    expect(Number(s.quota?.usedBytes)).toBeGreaterThan(QUOTA - 25 * 1024);
    expect(s.quota?.usedBytes).toBe(BigInt(await recount(server.db, userId)));

    // Nothing of a refused push is written: not the records, not the change results, not the head.
    const before = await syncRows(server.db, userId);
    const mixed = await c.raw("Push", { deviceId: "laptop", changes: [savedQuery(uuid(), 0, { title: "" }), remove(ids[0], 1), big(uuid(), 0, 20), big(uuid(), 0, 20)] });
    expect(mixed.code).toBe("resource_exhausted");
    expect(await syncRows(server.db, userId)).toEqual(before);
    expect((await c.status()).quota?.usedBytes).toBe(s.quota?.usedBytes);
    // The quota counts what a push adds net: one that frees as much as it adds goes through.
    const swap = await c.push("laptop", [remove(ids[1], 1), big(uuid(), 0, 19)]);
    expect(swap.results.map(status)).toEqual(["APPLIED", "APPLIED"]);
    ids.splice(1, 1);

    // Deleting frees space (the tombstone keeps its row cost); then a new record fits again.
    const del = await c.push("laptop", ids.slice(0, 3).map((id) => remove(id, 1)));
    expect(del.results.map(status)).toEqual(["APPLIED", "APPLIED", "APPLIED"]);
    const after = await c.status();
    expect(Number(after.quota?.usedBytes)).toBeLessThan(Number(s.quota?.usedBytes) - 3 * 20 * 1024);
    expect((await c.push("laptop", [big(uuid(), 0, 20)])).results.map(status)).toEqual(["APPLIED"]);
    expect((await c.status()).quota?.usedBytes).toBe(BigInt(await recount(server.db, userId)));
  });

  it("rejected changes count: pushes of nothing but invalid changes reach the quota", async () => {
    const { id: userId, c } = await user("qrej");
    let code: string | undefined;
    let rejected = 0;
    for (let i = 0; i < 20 && code === undefined; i++) {
      const changes = Array.from({ length: 500 }, () => savedQuery(uuid(), 0, { title: "" }));
      const r = await c.raw("Push", { deviceId: "spammer", changes });
      if (r.status === 200) rejected += 500;
      else code = r.code;
    }
    expect(code).toBe("resource_exhausted");
    expect(rejected).toBeLessThanOrEqual(QUOTA / 128);
    expect((await syncRows(server.db, userId)).mutations).toBe(rejected);
    expect((await c.status()).quota?.usedBytes).toBe(BigInt(await recount(server.db, userId)));
  });

  it("conflicts count: their payloads are in the usage", async () => {
    const { id: userId, c } = await user("qcb");
    const rec = uuid();
    await c.push("laptop", [big(rec, 0, 10)]);
    await c.push("laptop", [big(rec, 1, 10, "v2")]);
    const before = Number((await c.status()).quota?.usedBytes);
    const res = await c.push("phone", [big(rec, 1, 30, "stale")]);
    expect(res.results.map(status)).toEqual(["CONFLICT"]);
    const after = Number((await c.status()).quota?.usedBytes);
    // Both sides are kept: the server's 10 KB and the phone's 30 KB.
    expect(after - before).toBeGreaterThan(40 * 1024);
    expect(after).toBe(await recount(server.db, userId));
  });

  it("concurrent pushes of one user never go over the quota; the usage stays equal to a recount", async () => {
    const { id: userId, c } = await user("qpar");
    const replies = await Promise.all(Array.from({ length: 16 }, () => c.raw("Push", { deviceId: `d-${uuid()}`, changes: [big(uuid(), 0, 30)] })));
    const ok = replies.filter((r) => r.status === 200).length;
    expect(ok).toBeGreaterThan(0);
    expect(replies.filter((r) => r.status !== 200).every((r) => r.code === "resource_exhausted")).toBe(true);
    expect(ok).toBeLessThan(16);
    const used = Number((await c.status()).quota?.usedBytes);
    expect(used).toBeLessThanOrEqual(QUOTA);
    expect(used).toBe(await recount(server.db, userId));
  });

  it("keep_both and merged resolutions, history and the retention job keep the usage equal to a recount", async () => {
    const { id: userId, c } = await user("qmix");
    const a = uuid();
    const b = uuid();
    await c.push("laptop", [big(a, 0, 5), big(b, 0, 5), history(uuid(), { sql: "select 1" }), history(uuid(), { sql: "select 2" })]);
    await c.push("laptop", [big(a, 1, 6, "a2"), big(b, 1, 6, "b2")]);
    const ca = (await c.push("phone", [big(a, 1, 7, "a stale")])).results[0].conflictId;
    const cb = (await c.push("phone", [big(b, 1, 8, "b stale")])).results[0].conflictId;
    await c.resolve(ca, { keepBoth: true });
    await c.resolve(cb, { merged: { mutationId: uuid(), recordId: b, savedQuery: { title: "merged", sql: "select 'merged'" } } });
    await c.push("laptop", [remove(a, 3)]);
    expect((await c.status()).quota?.usedBytes).toBe(BigInt(await recount(server.db, userId)));

    // The retention job deletes the tombstone (30 days), the history (60 days) and resolved conflicts (30 days).
    const [job] = syncJobs(new SyncStore(server.db), { tombstoneRetentionDays: 30, historyRetentionDays: 60 });
    const before = Number((await c.status()).quota?.usedBytes);
    await job.run(Date.now() + 61 * DAY);
    const rows = await syncRows(server.db, userId);
    expect(rows.conflicts).toBe(0);
    const after = Number((await c.status()).quota?.usedBytes);
    expect(after).toBeLessThan(before);
    expect(after).toBe(await recount(server.db, userId));
  });
});

describe("GetSyncStatus", () => {
  it("reports the quota, the record cap and the conflict caps with the usage", async () => {
    const { c } = await user("qstat");
    const s = await c.status();
    expect(s.quota).toMatchObject({ usedBytes: 0n, limitBytes: BigInt(QUOTA), maxOpenConflicts: PER_USER, maxOpenConflictsPerRecord: PER_RECORD });
    expect(s.quota?.maxRecords).toBeGreaterThan(0n);
    await c.push("laptop", [savedQuery(uuid(), 0, { title: "one" })]);
    expect(Number((await c.status()).quota?.usedBytes)).toBeGreaterThan(128);
  });
});
