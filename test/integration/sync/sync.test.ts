/**
 * SyncService on the real server (DESIGN.md §6, issue 4), over Connect JSON with plain fetch and a
 * few calls over gRPC with the generated client: push/pull of all three kinds, paging with
 * tombstones, idempotent retries, conflicts with both sides and every way to resolve them,
 * GetSyncStatus, every limit, malformed ids, secrets that must never be stored and history SQL
 * stored redacted (checked in the database file's bytes and in the logs).
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChangeStatus, RecordKind, SyncService, type ChangeResult, type Record as SyncRecord } from "../../../gen/sqlstudio/sync/v1/sync_pb.js";
import { registerAndLogin, startAuthServer } from "../../support/auth.js";
import { clientFor, expectRpcError } from "../../support/rpc.js";
import type { TestServer } from "../../support/server.js";
import {
  connection,
  databaseBytes,
  history,
  remove,
  savedQuery,
  syncClient,
  syncRows,
  syncTablesText,
  uuid,
  type SyncClient,
} from "../../support/sync.js";

const LIMITS = { changes: 50, bytes: 65_536, records: 30 };

let server: TestServer;
beforeAll(async () => {
  server = await startAuthServer({
    env: {
      SYNC_MAX_CHANGES_PER_PUSH: String(LIMITS.changes),
      SYNC_MAX_PUSH_BYTES: String(LIMITS.bytes),
      SYNC_MAX_RECORDS_PER_USER: String(LIMITS.records),
    },
  });
});
afterAll(async () => {
  await server?.stop();
});

/** A fresh user and its client. */
async function user(prefix = "sync"): Promise<{ id: string; token: string; c: SyncClient }> {
  const u = await registerAndLogin(server, prefix);
  return { id: u.id, token: u.session.accessToken, c: syncClient(server, u.session.accessToken) };
}

const status = (r: ChangeResult) => ChangeStatus[r.status];
const payloadOf = (r: SyncRecord) => r.payload.value as Record<string, unknown> | undefined;

/** Creates a saved query on the laptop, changes it there (v2), and pushes a stale change (base 1) from the phone. */
async function conflictOn(c: SyncClient, opts: { kind?: "saved_query" | "connection"; phoneDeletes?: boolean } = {}) {
  const id = uuid();
  const make = (base: number, v: Record<string, unknown>) => (opts.kind === "connection" ? connection(id, base, v) : savedQuery(id, base, v));
  const first = opts.kind === "connection" ? { name: "prod", host: "db1.internal", port: 5432 } : { title: "report", sql: "select 1" };
  const laptop = opts.kind === "connection" ? { name: "prod (laptop)", host: "db2.internal", port: 5432 } : { title: "report (laptop)", sql: "select 2" };
  const phone = opts.kind === "connection" ? { name: "prod (phone)", host: "db3.internal", port: 6543 } : { title: "report (phone)", sql: "select 3", favorite: true };
  expect((await c.push("laptop", [make(0, first)])).results.map(status)).toEqual(["APPLIED"]);
  expect((await c.push("laptop", [make(1, laptop)])).results.map(status)).toEqual(["APPLIED"]);
  const stale = opts.phoneDeletes ? remove(id, 1) : make(1, phone);
  const res = await c.push("phone", [stale]);
  expect(res.results.map(status)).toEqual(["CONFLICT"]);
  expect(res.results[0].version).toBe(2n);
  expect(res.results[0].conflictId).not.toBe("");
  return { id, conflictId: res.results[0].conflictId, laptop, phone, stale, head: res.headSeq };
}

describe("push and pull", () => {
  it("round trip of a connection, a saved query and a history entry; an update and a delete come back in seq order", async () => {
    const { c } = await user();
    const [conn, query, hist] = [uuid(), uuid(), uuid()];
    const connV = { name: "Prod", engine: "postgresql", host: "db.example.com", port: 5432, database: "app", username: "reader", sslMode: "verify-full", options: { application_name: "sqlstudio" }, folder: "work", color: "#ff0000", tags: ["prod", "eu"] };
    const queryV = { title: "Top customers", sql: "select * from customers order by revenue desc limit 10", description: "weekly", connectionId: conn, folder: "reports", tags: ["sales"], favorite: true };
    const histV = { sql: "select count(*) from orders", connectionId: conn, executedAt: "2024-05-01T10:00:00Z", durationMs: "42", rowCount: "1", success: true };
    const pushed = await c.push("laptop", [connection(conn, 0, connV), savedQuery(query, 0, queryV), history(hist, histV)]);
    expect(pushed.results.map(status)).toEqual(["APPLIED", "APPLIED", "APPLIED"]);
    expect(pushed.results.map((r) => r.version)).toEqual([1n, 1n, 1n]);
    expect(pushed.results.map((r) => r.recordId)).toEqual([conn, query, hist]);
    expect(pushed.headSeq).toBe(3n);

    const pulled = await c.pull("phone", 0);
    expect(pulled.records.map((r) => r.id)).toEqual([conn, query, hist]);
    expect(pulled.records.map((r) => r.seq)).toEqual([1n, 2n, 3n]);
    expect(pulled.records.map((r) => RecordKind[r.kind])).toEqual(["CONNECTION", "SAVED_QUERY", "HISTORY"]);
    expect(pulled.records.every((r) => r.version === 1n && !r.deleted && r.updatedAt !== undefined)).toBe(true);
    expect(pulled.nextSeq).toBe(3n);
    expect(pulled.hasMore).toBe(false);
    expect(pulled.resetRequired).toBe(false);
    const [pc, pq, ph] = pulled.records;
    expect(pc.payload.case).toBe("connection");
    expect(payloadOf(pc)).toMatchObject({ ...connV, port: 5432 });
    expect(pq.payload.case).toBe("savedQuery");
    expect(payloadOf(pq)).toMatchObject(queryV);
    expect(ph.payload.case).toBe("history");
    expect(payloadOf(ph)).toMatchObject({ sql: histV.sql, connectionId: conn, durationMs: 42n, rowCount: 1n, success: true });
    expect(timestampMs((payloadOf(ph) as { executedAt: Parameters<typeof timestampMs>[0] }).executedAt)).toBe(Date.parse(histV.executedAt));

    const changed = await c.push("phone", [savedQuery(query, 1, { ...queryV, title: "Top 20 customers" }), remove(conn, 1)]);
    expect(changed.results.map(status)).toEqual(["APPLIED", "APPLIED"]);
    expect(changed.results.map((r) => r.version)).toEqual([2n, 2n]);
    const since = await c.pull("laptop", pulled.nextSeq);
    expect(since.records.map((r) => [r.id, r.seq, r.version, r.deleted])).toEqual([
      [query, 4n, 2n, false],
      [conn, 5n, 2n, true],
    ]);
    expect(payloadOf(since.records[0])).toMatchObject({ title: "Top 20 customers" });
    // A tombstone carries no payload, not even in the JSON.
    expect(since.records[1].payload.case).toBeUndefined();
    const raw = await c.raw("Pull", { deviceId: "laptop", sinceSeq: "4" });
    const tomb = (raw.body.records as Record<string, unknown>[])[0];
    expect(tomb).toMatchObject({ id: conn, deleted: true, kind: "RECORD_KIND_CONNECTION" });
    expect(Object.keys(tomb)).not.toContain("connection");
  });

  it("pages in seq order with page_size, next_seq and has_more; tombstones included; each record once at its latest seq", async () => {
    const { c } = await user();
    const ids = Array.from({ length: 25 }, () => uuid());
    expect((await c.push("laptop", ids.map((id, i) => savedQuery(id, 0, { title: `q${i}`, sql: `select ${i}` })))).headSeq).toBe(25n);
    const changes = await c.push("laptop", [remove(ids[3], 1), remove(ids[10], 1), remove(ids[24], 1), savedQuery(ids[0], 1, { title: "q0 v2" }), savedQuery(ids[5], 1, { title: "q5 v2" })]);
    expect(changes.results.map(status)).toEqual(Array(5).fill("APPLIED"));
    expect(changes.headSeq).toBe(30n);

    const pages: { n: number; next: bigint; more: boolean }[] = [];
    const all: SyncRecord[] = [];
    let cursor = 0n;
    for (;;) {
      const page = await c.pull("phone", cursor, 7);
      pages.push({ n: page.records.length, next: page.nextSeq, more: page.hasMore });
      all.push(...page.records);
      if (page.records.length > 0) expect(page.nextSeq).toBe(page.records.at(-1)!.seq);
      cursor = page.nextSeq;
      if (!page.hasMore) break;
    }
    // 25 records, each once (the rewritten ones at their newer seq): pages of 7, 7, 7, 4.
    expect(pages).toEqual([
      { n: 7, next: expect.any(BigInt), more: true },
      { n: 7, next: expect.any(BigInt), more: true },
      { n: 7, next: expect.any(BigInt), more: true },
      { n: 4, next: 30n, more: false },
    ]);
    const seqs = all.map((r) => r.seq);
    expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1])).toBe(true);
    expect(new Set(all.map((r) => r.id)).size).toBe(25);
    expect(all.filter((r) => r.deleted).map((r) => r.id).sort()).toEqual([ids[3], ids[10], ids[24]].sort());
    expect(all.filter((r) => r.deleted).every((r) => r.payload.case === undefined && r.version === 2n)).toBe(true);
    expect(all.slice(-5).map((r) => r.id)).toEqual([ids[3], ids[10], ids[24], ids[0], ids[5]]);

    // At the head: nothing, has_more false, the cursor stays.
    const atHead = await c.pull("phone", 30);
    expect(atHead.records).toEqual([]);
    expect(atHead.hasMore).toBe(false);
    expect(atHead.nextSeq).toBe(30n);
    // An exact page boundary: 5 after 25, page size 5, then nothing more.
    const exact = await c.pull("phone", 25, 5);
    expect(exact.records).toHaveLength(5);
    expect(exact.hasMore).toBe(false);
    // A cursor ahead of the head was never issued: pull from 0.
    expect(await c.pull("phone", 31)).toMatchObject({ records: [], resetRequired: true, nextSeq: 0n });
    // Bad page sizes and cursors are refused.
    const neg = await c.raw("Pull", { deviceId: "phone", pageSize: -1 });
    expect([neg.code, neg.info?.field]).toEqual(["invalid_argument", "page_size"]);
    const negSince = await c.raw("Pull", { deviceId: "phone", sinceSeq: "-5" });
    expect([negSince.code, negSince.info?.field]).toEqual(["invalid_argument", "since_seq"]);
  });

  it("a retry of the same push (same device, same mutation ids) answers duplicates and changes nothing", async () => {
    const { id: userId, c } = await user();
    const existing = uuid();
    await c.push("laptop", [savedQuery(existing, 0, { title: "base" })]);
    const batch = [savedQuery(uuid(), 0, { title: "a" }), connection(uuid(), 0, { name: "b" }), savedQuery(existing, 1, { title: "base v2" }), savedQuery(existing, 1, { title: "stale" })];
    const first = await c.push("laptop", batch);
    expect(first.results.map(status)).toEqual(["APPLIED", "APPLIED", "APPLIED", "CONFLICT"]);
    const before = await syncRows(server.db, userId);
    const recordsBefore = await server.db.execute({ sql: "SELECT id, version, seq, payload FROM sync_records WHERE user_id = ? ORDER BY id", args: [userId] });

    const retry = await c.push("laptop", batch);
    expect(retry.results.map(status)).toEqual(Array(4).fill("DUPLICATE"));
    expect(retry.results.map((r) => ChangeStatus[r.originalStatus])).toEqual(["APPLIED", "APPLIED", "APPLIED", "CONFLICT"]);
    expect(retry.results.map((r) => [r.mutationId, r.recordId, r.version, r.conflictId])).toEqual(first.results.map((r) => [r.mutationId, r.recordId, r.version, r.conflictId]));
    expect(retry.headSeq).toBe(first.headSeq);
    expect(await syncRows(server.db, userId)).toEqual(before);
    const recordsAfter = await server.db.execute({ sql: "SELECT id, version, seq, payload FROM sync_records WHERE user_id = ? ORDER BY id", args: [userId] });
    expect(recordsAfter.rows).toEqual(recordsBefore.rows);
    expect((await c.listConflicts()).conflicts).toHaveLength(1);

    // The same mutation id from another device is that device's own mutation, decided on its
    // merits (here: base 0 against a record at version 1 is a conflict), not a duplicate.
    const other = await c.push("phone", [batch[0]]);
    expect(other.results.map(status)).toEqual(["CONFLICT"]);
  });

  it("a stale push creates a conflict listed with both sides and the base version; the server copy stays", async () => {
    const { c } = await user();
    const k = await conflictOn(c);
    const pulled = await c.pull("tablet", 0);
    expect(pulled.records).toHaveLength(1);
    expect(pulled.records[0].version).toBe(2n);
    expect(payloadOf(pulled.records[0])).toMatchObject(k.laptop);

    const list = await c.listConflicts();
    expect(list.conflicts).toHaveLength(1);
    const conflict = list.conflicts[0];
    expect(conflict).toMatchObject({ id: k.conflictId, recordId: k.id, kind: RecordKind.SAVED_QUERY, baseVersion: 1n, deviceId: "phone", resolved: false });
    expect(conflict.server).toMatchObject({ id: k.id, version: 2n, deleted: false });
    expect(conflict.server!.payload.value).toMatchObject(k.laptop);
    expect(conflict.client).toMatchObject({ mutationId: k.stale.mutationId, recordId: k.id, baseVersion: 1n, delete: false });
    expect(conflict.client!.payload.case).toBe("savedQuery");
    expect(conflict.client!.payload.value).toMatchObject(k.phone);
    expect(conflict.createdAt).toBeDefined();
    expect(conflict.resolvedAt).toBeUndefined();
  });

  it("ListConflicts pages, oldest first", async () => {
    const { c } = await user();
    const made = [];
    for (let i = 0; i < 5; i++) made.push((await conflictOn(c)).conflictId);
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await c.listConflicts({ pageSize: 2, pageToken });
      expect(page.conflicts.length).toBeLessThanOrEqual(2);
      seen.push(...page.conflicts.map((x) => x.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(seen).toEqual(made);
    const bad = await c.raw("ListConflicts", { pageToken: "not-a-token" });
    expect([bad.code, bad.info?.field]).toEqual(["invalid_argument", "page_token"]);
  });
});

describe("ResolveConflict", () => {
  it("keep_server, keep_client, keep_both and merged each write a new version with a new seq and close the conflict", async () => {
    const { c } = await user();
    const ks = await conflictOn(c);
    const kc = await conflictOn(c);
    const kb = await conflictOn(c);
    const kbc = await conflictOn(c, { kind: "connection" });
    const mg = await conflictOn(c);
    let head = (await c.status()).headSeq;

    const step = async (conflictId: string, resolution: Record<string, unknown>) => {
      const r = await c.resolve(conflictId, resolution);
      expect(r.record!.version, JSON.stringify(resolution)).toBe(3n);
      expect(r.record!.seq).toBeGreaterThan(head);
      expect(r.headSeq).toBeGreaterThanOrEqual(r.record!.seq);
      if (r.copy) expect(r.headSeq).toBeGreaterThanOrEqual(r.copy.seq);
      head = r.headSeq;
      return r;
    };

    const server1 = await step(ks.conflictId, { keepServer: true });
    expect(server1.record!.id).toBe(ks.id);
    expect(server1.record!.payload.value).toMatchObject(ks.laptop);
    expect(server1.copy).toBeUndefined();

    const client1 = await step(kc.conflictId, { keepClient: true });
    expect(client1.record!.payload.value).toMatchObject(kc.phone);

    const both = await step(kb.conflictId, { keepBoth: true });
    expect(both.record!.id).toBe(kb.id);
    expect(both.record!.payload.value).toMatchObject(kb.laptop);
    expect(both.copy).toBeDefined();
    expect(both.copy!.id).not.toBe(kb.id);
    expect(both.copy!.version).toBe(1n);
    expect(both.copy!.seq).toBeGreaterThan(0n);
    expect(both.copy!.payload.value).toMatchObject({ ...kb.phone, title: "report (phone) (conflict from phone)" });

    const bothConn = await step(kbc.conflictId, { keepBoth: true });
    expect(bothConn.copy!.payload.case).toBe("connection");
    expect(bothConn.copy!.payload.value).toMatchObject({ name: "prod (phone) (conflict from phone)", host: "db3.internal", port: 6543 });
    expect(bothConn.record!.payload.value).toMatchObject(kbc.laptop);

    const merged = await step(mg.conflictId, { merged: { mutationId: uuid(), recordId: mg.id, savedQuery: { title: "report (merged)", sql: "select 2 union select 3" } } });
    expect(merged.record!.payload.value).toMatchObject({ title: "report (merged)", sql: "select 2 union select 3" });

    // Every device sees the resolutions by pulling.
    const pulled = await c.pullAll("tablet", 0);
    const byId = new Map(pulled.records.map((r) => [r.id, r]));
    for (const k of [ks, kc, kb, kbc, mg]) expect(byId.get(k.id)!.version).toBe(3n);
    expect(payloadOf(byId.get(kc.id)!)).toMatchObject(kc.phone);
    expect(byId.get(both.copy!.id)).toBeDefined();
    expect(byId.get(bothConn.copy!.id)).toBeDefined();
    expect(pulled.nextSeq).toBe(head);

    expect((await c.listConflicts()).conflicts).toEqual([]);
    const all = await c.listConflicts({ includeResolved: true });
    expect(all.conflicts).toHaveLength(5);
    expect(all.conflicts.every((x) => x.resolved && x.resolvedAt !== undefined)).toBe(true);
    expect((await c.status()).openConflicts).toBe(0);

    // Resolving again with the same choice is an idempotent OK: the same answer, nothing written.
    const headBefore = (await c.status()).headSeq;
    const again = [
      [ks.conflictId, { keepServer: true }, server1],
      [kc.conflictId, { keepClient: true }, client1],
      [kb.conflictId, { keepBoth: true }, both],
      [kbc.conflictId, { keepBoth: true }, bothConn],
      [mg.conflictId, { merged: { mutationId: uuid(), recordId: mg.id, savedQuery: { title: "report (merged)", sql: "select 2 union select 3" } } }, merged],
    ] as const;
    for (const [id, how, first] of again) {
      const r = await c.resolve(id, how);
      expect([r.record!.id, r.record!.version, r.record!.seq]).toEqual([first.record!.id, first.record!.version, first.record!.seq]);
      expect(r.copy?.id).toEqual(first.copy?.id);
      expect(r.copy?.seq).toEqual(first.copy?.seq);
      expect(r.headSeq).toBe(headBefore);
    }
    expect((await c.status()).headSeq).toBe(headBefore);
  });

  it("resolving a resolved conflict with another choice is FailedPrecondition CONFLICT_ALREADY_RESOLVED naming the earlier resolution; nothing is written (issue 14.6)", async () => {
    const { c } = await user();
    const ks = await conflictOn(c);
    const kb = await conflictOn(c);
    const mg = await conflictOn(c);
    const first = await c.resolve(ks.conflictId, { keepServer: true });
    const both = await c.resolve(kb.conflictId, { keepBoth: true });
    const mergedChange = (title: string) => ({ merged: { mutationId: uuid(), recordId: mg.id, savedQuery: { title, sql: "select 2 union select 3" } } });
    const merged = await c.resolve(mg.conflictId, mergedChange("report (merged)"));
    const headBefore = (await c.status()).headSeq;
    const resolvedAt = new Map((await c.listConflicts({ includeResolved: true })).conflicts.map((x) => [x.id, x.resolvedAt!]));

    const cases = [
      [ks.conflictId, { keepClient: true }, "keep_server", first],
      [ks.conflictId, { keepBoth: true }, "keep_server", first],
      [kb.conflictId, { keepServer: true }, "keep_both", both],
      // A merge with other content is another choice too.
      [mg.conflictId, mergedChange("report (merged differently)"), "merged", merged],
      [mg.conflictId, { keepClient: true }, "merged", merged],
    ] as const;
    for (const [conflictId, how, earlier, res] of cases) {
      const r = await c.raw("ResolveConflict", { conflictId, ...how });
      expect([r.status, r.code, r.info?.reason], JSON.stringify(how)).toEqual([400, "failed_precondition", "CONFLICT_ALREADY_RESOLVED"]);
      expect(r.message).toContain(earlier);
      const at = resolvedAt.get(conflictId)!;
      expect(r.info?.metadata).toEqual({
        resolution: earlier,
        resolved_at: new Date(Number(at.seconds) * 1000 + Math.floor(at.nanos / 1e6)).toISOString(),
        record_id: res.record!.id,
        record_version: String(res.record!.version),
        ...(res.copy ? { copy_id: res.copy.id } : {}),
      });
    }
    expect((await c.status()).headSeq).toBe(headBefore);
  });

  it("the device that lost a conflict gets the kept server side back by pulling (keep_server moves the seq)", async () => {
    const { c } = await user();
    const k = await conflictOn(c);
    // The phone has pulled everything there is (its cursor is past the server's version).
    const before = await c.pull("phone", 0);
    const resolved = await c.resolve(k.conflictId, { keepServer: true });
    const after = await c.pull("phone", before.nextSeq);
    expect(after.records.map((r) => r.id)).toEqual([k.id]);
    expect(after.records[0].seq).toBe(resolved.record!.seq);
    expect(payloadOf(after.records[0])).toMatchObject(k.laptop);
  });

  it("keep_client of a stale delete deletes; keep_both of a stale delete adds no copy", async () => {
    const { c } = await user();
    const del1 = await conflictOn(c, { phoneDeletes: true });
    const del2 = await conflictOn(c, { phoneDeletes: true });
    const kc = await c.resolve(del1.conflictId, { keepClient: true });
    expect(kc.record).toMatchObject({ id: del1.id, version: 3n, deleted: true });
    expect(kc.record!.payload.case).toBeUndefined();
    const kb = await c.resolve(del2.conflictId, { keepBoth: true });
    expect(kb.copy).toBeUndefined();
    expect(kb.record).toMatchObject({ id: del2.id, deleted: false });
    expect(kb.record!.payload.value).toMatchObject(del2.laptop);
  });

  it("bad resolutions: none, an unknown or malformed id, a merged payload of another kind or with a secret", async () => {
    const { c } = await user();
    const k = await conflictOn(c);
    const none = await c.raw("ResolveConflict", { conflictId: k.conflictId });
    expect([none.code, none.info?.field, none.info?.reason]).toEqual(["invalid_argument", "resolution", "RESOLUTION_REQUIRED"]);
    const falseFlag = await c.raw("ResolveConflict", { conflictId: k.conflictId, keepServer: false });
    expect(falseFlag.code).toBe("invalid_argument");
    const unknown = await c.raw("ResolveConflict", { conflictId: uuid(), keepServer: true });
    expect([unknown.code, unknown.info?.reason]).toEqual(["not_found", "CONFLICT_NOT_FOUND"]);
    const malformed = await c.raw("ResolveConflict", { conflictId: "nope", keepServer: true });
    expect([malformed.code, malformed.info?.field]).toEqual(["invalid_argument", "conflict_id"]);
    const kind = await c.raw("ResolveConflict", { conflictId: k.conflictId, merged: { mutationId: uuid(), recordId: k.id, connection: { name: "x", engine: "sqlite" } } });
    expect([kind.code, kind.info?.reason]).toEqual(["invalid_argument", "KIND_MISMATCH"]);
    const secretValue = "Merged-Pw-7781";
    const secret = await c.raw("ResolveConflict", {
      conflictId: k.conflictId,
      merged: { mutationId: uuid(), recordId: k.id, connection: { name: "x", engine: "sqlite", options: { password: secretValue } } },
    });
    expect([secret.code, secret.info?.field]).toEqual(["invalid_argument", "merged.connection.options.password"]);
    // None of these closed the conflict or wrote anything.
    const list = await c.listConflicts();
    expect(list.conflicts.map((x) => x.id)).toEqual([k.conflictId]);
    expect((await c.status()).headSeq).toBe(k.head);
    expect(await syncTablesText(server.db)).not.toContain(secretValue);
  });
});

describe("GetSyncStatus", () => {
  it("lists the devices with last push/pull and client version, the head seq, open conflicts and live records", async () => {
    const { c } = await user();
    const t0 = Date.now();
    const empty = await c.status();
    expect(empty).toMatchObject({ devices: [], headSeq: 0n, openConflicts: 0, recordCount: 0n });

    const a = uuid();
    await c.push("laptop", [savedQuery(a, 0, { title: "a" }), savedQuery(uuid(), 0, { title: "b" })], "desktop/2.3.1");
    await c.push("phone", [remove(a, 1)], "ios/1.0.0");
    const pulled = await c.pull("phone", 0);
    await c.push("phone", [savedQuery(uuid(), 0, { title: "c" })], "ios/1.0.1");
    await conflictOn(c); // laptop + phone push again, one conflict
    const t1 = Date.now();

    const s = await c.status();
    expect(s.devices.map((d) => d.deviceId)).toEqual(["laptop", "phone"]);
    const [laptop, phone] = s.devices;
    expect(laptop.clientVersion).toBe("test/1.0"); // the latest push's version
    expect(laptop.lastPullAt).toBeUndefined();
    expect(laptop.lastPulledSeq).toBe(0n);
    expect(timestampMs(laptop.lastPushAt!)).toBeGreaterThanOrEqual(t0);
    expect(timestampMs(laptop.lastPushAt!)).toBeLessThanOrEqual(t1);
    expect(phone.lastPulledSeq).toBe(pulled.nextSeq);
    expect(timestampMs(phone.lastPullAt!)).toBeGreaterThanOrEqual(t0);
    expect(timestampMs(phone.lastPullAt!)).toBeLessThanOrEqual(t1);
    expect(s.openConflicts).toBe(1);
    // a deleted; b, c and the conflicted saved query live.
    expect(s.recordCount).toBe(3n);
    const head = await c.pullAll("tablet", 0);
    expect(s.headSeq).toBe(head.nextSeq);

    // The client version sticks to what the device last said.
    await c.push("phone", [], "ios/2.0.0");
    const again = await c.status();
    expect(again.devices.find((d) => d.deviceId === "phone")!.clientVersion).toBe("ios/2.0.0");
    expect(again.devices.map((d) => d.deviceId)).toEqual(["laptop", "phone", "tablet"]);
    expect(again.headSeq).toBe(s.headSeq);
  });
});

describe("limits", () => {
  it(`more than ${LIMITS.changes} changes: InvalidArgument on \`changes\`, TOO_MANY_CHANGES, nothing stored`, async () => {
    const { id, c } = await user();
    const tooMany = Array.from({ length: LIMITS.changes + 1 }, (_, i) => savedQuery(uuid(), 0, { title: `q${i}` }));
    const r = await c.raw("Push", { deviceId: "laptop", changes: tooMany });
    expect(r.code).toBe("invalid_argument");
    expect(r.info).toMatchObject({ field: "changes", reason: "TOO_MANY_CHANGES" });
    expect(r.message).toMatch(/at most 50 changes/);
    expect(await syncRows(server.db, id)).toEqual({ records: 0, mutations: 0, conflicts: 0, head: 0 });
    // Exactly the limit is fine (one record created and changed 49 times, under the record limit).
    const r0 = uuid();
    const fifty = Array.from({ length: LIMITS.changes }, (_, i) => savedQuery(r0, i, { title: `v${i + 1}` }));
    const ok = await c.push("laptop", fifty);
    expect(ok.results.map(status)).toEqual(Array(LIMITS.changes).fill("APPLIED"));
    expect(ok.headSeq).toBe(50n);
  });

  it(`more than ${LIMITS.bytes} bytes of payload: PUSH_TOO_LARGE, nothing stored`, async () => {
    const { id, c } = await user();
    const big = "x".repeat(20_000);
    const changes = Array.from({ length: 4 }, (_, i) => savedQuery(uuid(), 0, { title: `big ${i}`, sql: `select '${big}'` }));
    const r = await c.raw("Push", { deviceId: "laptop", changes });
    expect(r.code).toBe("invalid_argument");
    expect(r.info).toMatchObject({ field: "changes", reason: "PUSH_TOO_LARGE" });
    expect(await syncRows(server.db, id)).toEqual({ records: 0, mutations: 0, conflicts: 0, head: 0 });
    expect((await c.push("laptop", changes.slice(0, 3))).results.map(status)).toEqual(["APPLIED", "APPLIED", "APPLIED"]);
  });

  it("the byte limit counts bytes, not characters (3-byte UTF-8 text)", async () => {
    const { id, c } = await user();
    // 3 × 12,000 "€" = 36,000 characters but 108,000 bytes of UTF-8: over the 65,536-byte limit.
    const changes = Array.from({ length: 3 }, (_, i) => savedQuery(uuid(), 0, { title: `euro ${i}`, sql: `select '${"€".repeat(12_000)}'` }));
    const r = await c.raw("Push", { deviceId: "laptop", changes });
    expect(r.code).toBe("invalid_argument");
    expect(r.info).toMatchObject({ field: "changes", reason: "PUSH_TOO_LARGE" });
    expect(await syncRows(server.db, id)).toEqual({ records: 0, mutations: 0, conflicts: 0, head: 0 });
  });

  it(`more than ${LIMITS.records} live records: that change is rejected RECORD_LIMIT, the others apply`, async () => {
    const { c } = await user();
    const ids = Array.from({ length: LIMITS.records - 1 }, () => uuid());
    await c.push("laptop", ids.map((x, i) => savedQuery(x, 0, { title: `q${i}` })));
    const h = uuid();
    const extra = uuid();
    const r = await c.push("laptop", [history(h, { sql: "select 1" }), savedQuery(extra, 0, { title: "one too many" }), savedQuery(ids[0], 1, { title: "update is fine" })]);
    expect(r.results.map(status)).toEqual(["APPLIED", "REJECTED", "APPLIED"]);
    expect(r.results[1]).toMatchObject({ recordId: extra, reason: "RECORD_LIMIT" });
    expect((await c.status()).recordCount).toBe(BigInt(LIMITS.records));
    const pulled = await c.pullAll("phone");
    expect(pulled.records.some((x) => x.id === extra)).toBe(false);
    // A deletion frees a place; the same record then goes in with a new mutation.
    const again = await c.push("laptop", [remove(ids[1], 1), savedQuery(extra, 0, { title: "now it fits" })]);
    expect(again.results.map(status)).toEqual(["APPLIED", "APPLIED"]);
  });

  it("malformed device_id, mutation_id and record_id: InvalidArgument naming the field; nothing of the push is stored", async () => {
    const { id, c } = await user();
    const good = savedQuery(uuid(), 0, { title: "fine" });
    const cases: [unknown, string, string][] = [
      [{ deviceId: "", changes: [good] }, "device_id", "INVALID_DEVICE_ID"],
      [{ deviceId: "my laptop", changes: [good] }, "device_id", "INVALID_DEVICE_ID"],
      [{ deviceId: "x".repeat(129), changes: [good] }, "device_id", "INVALID_DEVICE_ID"],
      [{ deviceId: "laptop", changes: [good, { ...savedQuery(uuid(), 0, { title: "t" }), mutationId: "" }] }, "changes.1.mutation_id", "INVALID_MUTATION_ID"],
      [{ deviceId: "laptop", changes: [good, { ...savedQuery(uuid(), 0, { title: "t" }), mutationId: "m/1" }] }, "changes.1.mutation_id", "INVALID_MUTATION_ID"],
      [{ deviceId: "laptop", changes: [good, savedQuery("not-a-uuid", 0, { title: "t" })] }, "changes.1.record_id", "INVALID_RECORD_ID"],
      [{ deviceId: "laptop", changes: [good, savedQuery("", 0, { title: "t" })] }, "changes.1.record_id", "INVALID_RECORD_ID"],
      [{ deviceId: "laptop", changes: [savedQuery(`${uuid()}x`, 0, { title: "t" }), good] }, "changes.0.record_id", "INVALID_RECORD_ID"],
    ];
    for (const [body, field, reason] of cases) {
      const r = await c.raw("Push", body);
      expect([r.code, r.info?.field, r.info?.reason], JSON.stringify(body).slice(0, 120)).toEqual(["invalid_argument", field, reason]);
      expect(r.message).toContain(field);
    }
    const pull = await c.raw("Pull", { deviceId: "" });
    expect([pull.code, pull.info?.field]).toEqual(["invalid_argument", "device_id"]);
    expect(await syncRows(server.db, id)).toEqual({ records: 0, mutations: 0, conflicts: 0, head: 0 });
    expect((await c.status()).devices).toEqual([]);
  });

  it("invalid content is rejected per change with its field; the valid neighbours apply", async () => {
    const { c } = await user();
    const r = await c.push("laptop", [
      savedQuery(uuid(), 0, { title: "" }),
      connection(uuid(), 0, { name: "x", engine: "oracle" }),
      connection(uuid(), 0, { name: "x", port: 70000 }),
      { mutationId: uuid(), recordId: uuid(), baseVersion: 0 },
      { ...remove(uuid(), 0), savedQuery: { title: "x" } },
      { ...savedQuery(uuid(), 0, { title: "x" }), baseVersion: -1 },
      savedQuery(uuid(), 0, { title: "ok" }),
    ]);
    expect(r.results.map((x) => [status(x), x.field, x.reason])).toEqual([
      ["REJECTED", "saved_query.title", "FIELD_REQUIRED"],
      ["REJECTED", "connection.engine", "UNKNOWN_ENGINE"],
      ["REJECTED", "connection.port", "INVALID_PORT"],
      ["REJECTED", "payload", "PAYLOAD_REQUIRED"],
      ["REJECTED", "saved_query", "PAYLOAD_WITH_DELETE"],
      ["REJECTED", "base_version", "INVALID_BASE_VERSION"],
      ["APPLIED", "", ""],
    ]);
    expect(r.headSeq).toBe(1n);
  });
});

describe("secrets never sync", () => {
  it("connection payloads with a password option or credentials in the host are rejected naming the field; nothing of them is stored or logged", async () => {
    const { id: userId, c } = await user();
    const secrets = { option: "Opt-hunter2-Pw", host: "Host-hunter2-Pw", stale: "Stale-hunter2-Pw", inKey: "Key-hunter2-Pw", tokenKey: "ghp_Zq8wXv2Lr5Tn0Yb3Kd7Hs1Jm4Pc6Gf9Ae2Ux" };
    const [withOption, withHost, clean, existing] = [uuid(), uuid(), uuid(), uuid()];
    await c.push("laptop", [connection(existing, 0, { name: "existing", host: "db.internal" })]);
    const r = await c.push("laptop", [
      connection(withOption, 0, { name: "opt", host: "db.internal", options: { sslmode: "require", password: secrets.option } }),
      connection(withHost, 0, { name: "host", host: `admin:${secrets.host}@db.internal` }),
      connection(clean, 0, { name: "clean", host: "db.internal", username: "admin", options: { application_name: "studio" } }),
      // A stale change with a secret is rejected, not kept as a conflict.
      connection(existing, 0, { name: "stale", host: "db.internal", options: { PGPASSWORD: secrets.stale } }),
      // The secret in the option's key itself: the field named must not carry it.
      connection(uuid(), 0, { name: "in key", host: "db.internal", options: { [`password=${secrets.inKey}`]: "1" } }),
      connection(uuid(), 0, { name: "token key", host: "db.internal", options: { [secrets.tokenKey]: "" } }),
    ]);
    expect(r.results.map((x) => [status(x), x.field, x.reason])).toEqual([
      ["REJECTED", "connection.options.password", "SECRET_IN_OPTIONS"],
      ["REJECTED", "connection.host", "CREDENTIALS_IN_HOST"],
      ["APPLIED", "", ""],
      ["REJECTED", "connection.options.PGPASSWORD", "SECRET_IN_OPTIONS"],
      ["REJECTED", "connection.options", "SECRET_IN_OPTIONS"],
      ["REJECTED", "connection.options", "KNOWN_TOKEN_FORMAT"],
    ]);
    const rows = await server.db.execute({ sql: "SELECT id FROM sync_records WHERE user_id = ? ORDER BY id", args: [userId] });
    expect(rows.rows.map((x) => String(x.id)).sort()).toEqual([clean, existing].sort());
    expect((await c.listConflicts({ includeResolved: true })).conflicts).toEqual([]);
    const text = await syncTablesText(server.db);
    const bytes = await databaseBytes(server.db, server.dir);
    const logs = JSON.stringify(server.logs);
    for (const s of Object.values(secrets)) {
      expect(text).not.toContain(s);
      expect(bytes.includes(s)).toBe(false);
      expect(logs).not.toContain(s);
    }
    // The check is not blind: the clean profile's values are in the file.
    expect(bytes.includes("application_name")).toBe(true);
  });

  it("history SQL is stored redacted: the password is in neither the database file nor the logs", async () => {
    const { c } = await user();
    const secret = "hunter2-secret";
    const h = uuid();
    const r = await c.push("laptop", [
      history(h, { sql: `ALTER USER x WITH PASSWORD '${secret}'`, success: false, errorMessage: `permission denied: ALTER USER x WITH PASSWORD '${secret}'` }),
    ]);
    expect(r.results.map(status)).toEqual(["APPLIED"]);
    const pulled = await c.pull("phone", 0);
    const entry = payloadOf(pulled.records[0]) as { sql: string; errorMessage: string };
    expect(entry.sql).toBe("ALTER USER x WITH PASSWORD '***'");
    expect(entry.errorMessage).not.toContain(secret);
    expect(entry.errorMessage).toContain("permission denied");
    const bytes = await databaseBytes(server.db, server.dir);
    expect(bytes.includes(secret)).toBe(false);
    expect(bytes.includes("ALTER USER x WITH PASSWORD '***'")).toBe(true);
    expect(JSON.stringify(server.logs)).not.toContain(secret);
  });
});

describe("over gRPC (generated client, HTTP/2)", () => {
  it("push, pull, conflict, list, resolve and status", async () => {
    const { token } = await user("grpc");
    const client = clientFor(SyncService, server, token, "grpc");
    const id = uuid();
    const created = await client.push({
      deviceId: "grpc-laptop",
      clientVersion: "grpc/1",
      changes: [{ mutationId: uuid(), recordId: id, baseVersion: 0n, payload: { case: "savedQuery", value: { title: "over grpc", sql: "select 1" } } }],
    });
    expect(created.results.map(status)).toEqual(["APPLIED"]);
    await client.push({ deviceId: "grpc-laptop", changes: [{ mutationId: uuid(), recordId: id, baseVersion: 1n, payload: { case: "savedQuery", value: { title: "v2" } } }] });
    const stale = await client.push({ deviceId: "grpc-phone", changes: [{ mutationId: uuid(), recordId: id, baseVersion: 1n, payload: { case: "savedQuery", value: { title: "phone" } } }] });
    expect(stale.results.map(status)).toEqual(["CONFLICT"]);
    const pulled = await client.pull({ deviceId: "grpc-phone", sinceSeq: 0n });
    expect(pulled.records.map((r) => [r.id, r.version])).toEqual([[id, 2n]]);
    const list = await client.listConflicts({});
    expect(list.conflicts.map((x) => x.id)).toEqual([stale.results[0].conflictId]);
    const resolved = await client.resolveConflict({ conflictId: stale.results[0].conflictId, resolution: { case: "keepClient", value: true } });
    expect(resolved.record!.version).toBe(3n);
    expect(resolved.record!.payload.value).toMatchObject({ title: "phone" });
    const s = await client.getSyncStatus({});
    expect(s.devices.map((d) => d.deviceId)).toEqual(["grpc-laptop", "grpc-phone"]);
    expect(s.headSeq).toBe(resolved.headSeq);
    // Errors carry their code and ErrorInfo over gRPC too.
    await expectRpcError(client.push({ deviceId: "bad device", changes: [] }), Code.InvalidArgument);
  });
});
