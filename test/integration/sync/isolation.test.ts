/**
 * Isolation (DESIGN.md §6: "one user can never read or write another's records"), for every
 * SyncService RPC on the real server: user B, with the same device ids and even the same
 * mutation ids as user A, and knowing A's record and conflict ids, can never read, change,
 * resolve or count anything of A's. Record ids are per user: B writing "A's" id writes a record
 * of B's own (the primary key is (user_id, id)); A's record is untouched. Without a valid token
 * every RPC answers Unauthenticated.
 */
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChangeStatus, SyncService } from "../../../gen/sqlstudio/sync/v1/sync_pb.js";
import { encodePageToken } from "../../../src/common/paging.js";
import { registerAndLogin, startAuthServer } from "../../support/auth.js";
import { clientFor, expectRpcError } from "../../support/rpc.js";
import type { TestServer } from "../../support/server.js";
import { connection, history, remove, savedQuery, SYNC_METHODS, syncCall, syncClient, uuid, type SyncClient } from "../../support/sync.js";

const RECORD_LIMIT = 8;
let server: TestServer;

interface Fixture {
  a: { id: string; c: SyncClient; token: string };
  b: { id: string; c: SyncClient; token: string };
  query: string;
  conn: string;
  hist: string;
  gone: string;
  conflictId: string;
  mutationIds: string[];
}
let f: Fixture;

async function snapshotOf(userId: string) {
  const q = async (sql: string) => (await server.db.execute({ sql, args: [userId] })).rows.map((r) => JSON.stringify(r));
  return {
    records: await q("SELECT id, kind, version, seq, deleted, payload, updated_at FROM sync_records WHERE user_id = ? ORDER BY id"),
    conflicts: await q("SELECT id, resolved_at, resolution FROM sync_conflicts WHERE user_id = ? ORDER BY id"),
    mutations: await q("SELECT device_id, mutation_id, status, version FROM sync_mutations WHERE user_id = ? ORDER BY device_id, mutation_id"),
    head: await q("SELECT head_seq FROM sync_heads WHERE user_id = ?"),
    devices: await q("SELECT device_id, client_version, last_push_at, last_pull_at, last_pulled_seq FROM sync_devices WHERE user_id = ? ORDER BY device_id"),
  };
}

beforeAll(async () => {
  server = await startAuthServer({ env: { SYNC_MAX_RECORDS_PER_USER: String(RECORD_LIMIT) } });
  const [ua, ub] = await Promise.all([registerAndLogin(server, "alice"), registerAndLogin(server, "bob")]);
  const a = { id: ua.id, token: ua.session.accessToken, c: syncClient(server, ua.session.accessToken) };
  const b = { id: ub.id, token: ub.session.accessToken, c: syncClient(server, ub.session.accessToken) };
  const [query, conn, hist, gone] = [uuid(), uuid(), uuid(), uuid()];
  const first = [
    savedQuery(query, 0, { title: "alice's query", sql: "select 'alice'" }),
    connection(conn, 0, { name: "alice's db", host: "alice.internal" }),
    history(hist, { sql: "select 'alice history'" }),
    savedQuery(gone, 0, { title: "alice deletes this" }),
  ];
  await a.c.push("laptop", first);
  await a.c.push("laptop", [savedQuery(query, 1, { title: "alice's query v2" }), remove(gone, 1)]);
  const stale = await a.c.push("phone", [savedQuery(query, 1, { title: "alice's stale edit" })]);
  expect(stale.results[0].status).toBe(ChangeStatus.CONFLICT);
  // Fill A up to the record limit (3 live records so far).
  await a.c.push("laptop", Array.from({ length: RECORD_LIMIT - 3 }, (_, i) => savedQuery(uuid(), 0, { title: `filler ${i}` })));
  await a.c.pull("laptop", 0);
  f = { a, b, query, conn, hist, gone, conflictId: stale.results[0].conflictId, mutationIds: first.map((x) => x.mutationId) };
});
afterAll(async () => {
  await server?.stop();
});

describe("user B and user A's data", () => {
  it("B starts empty and pulls nothing of A's, from any cursor", async () => {
    const { a, b } = f;
    expect((await a.c.status()).headSeq).toBeGreaterThan(5n);
    const p0 = await b.c.pull("laptop", 0);
    expect(p0).toMatchObject({ records: [], hasMore: false, nextSeq: 0n, resetRequired: false });
    // A's cursors mean nothing for B: ahead of B's head, they answer reset_required (pull from 0),
    // so a device that switches accounts cannot skip B's first records.
    for (const since of [1, 3, 11]) {
      const p = await b.c.pull("laptop", since);
      expect(p).toMatchObject({ records: [], resetRequired: true, nextSeq: 0n });
    }
    const s = await b.c.status();
    expect(s).toMatchObject({ headSeq: 0n, openConflicts: 0, recordCount: 0n });
    // B's device "laptop" is B's own: no push time of A's laptop.
    expect(s.devices.map((d) => [d.deviceId, d.lastPushAt, d.lastPulledSeq])).toEqual([["laptop", undefined, 0n]]);
  });

  it("B's push with A's record ids (and A's device and mutation ids) writes B's own records; A's are untouched", async () => {
    const { a, b } = f;
    const before = await snapshotOf(a.id);
    const res = await b.c.push("laptop", [
      // A's first push's mutation ids, from the same device name: not duplicates of A's.
      { ...savedQuery(f.query, 0, { title: "bob's query" }), mutationId: f.mutationIds[0] },
      // An update "based on" A's version: B has no such record, so it is a new record of B's.
      { ...connection(f.conn, 1, { name: "bob's db", host: "bob.internal" }), mutationId: f.mutationIds[1] },
      history(f.hist, { sql: "select 'bob history'" }),
      // Deleting A's record: B has none.
      remove(f.gone, 2),
    ]);
    expect(res.results.map((r) => ChangeStatus[r.status])).toEqual(["APPLIED", "APPLIED", "APPLIED", "REJECTED"]);
    expect(res.results.map((r) => r.version)).toEqual([1n, 1n, 1n, 0n]);
    expect(res.results[3].reason).toBe("RECORD_NOT_FOUND");
    expect(res.headSeq).toBe(3n); // B's own sequence
    expect(await snapshotOf(a.id)).toEqual(before);

    // Each sees their own content under the same ids.
    const aPull = await a.c.pullAll("tablet");
    const bPull = await b.c.pullAll("tablet");
    const title = (recs: typeof aPull.records, id: string) => (recs.find((r) => r.id === id)!.payload.value as { title?: string; name?: string; sql?: string });
    expect(title(aPull.records, f.query).title).toBe("alice's query v2");
    expect(title(bPull.records, f.query).title).toBe("bob's query");
    expect(title(aPull.records, f.conn).name).toBe("alice's db");
    expect(title(bPull.records, f.conn).name).toBe("bob's db");
    expect(title(aPull.records, f.hist).sql).toBe("select 'alice history'");
    expect(title(bPull.records, f.hist).sql).toBe("select 'bob history'");
    expect(bPull.records.map((r) => r.id).sort()).toEqual([f.query, f.conn, f.hist].sort());
    const afterPull = await snapshotOf(a.id); // A's tablet pulled: only A's device rows moved
    expect({ ...afterPull, devices: before.devices }).toEqual(before);

    // B's own stale change on "A's" id is a conflict of B's, against B's record.
    const stale = await b.c.push("phone", [savedQuery(f.query, 0, { title: "bob stale" })]);
    expect(stale.results[0].status).toBe(ChangeStatus.CONFLICT);
    expect(stale.results[0].version).toBe(1n);
    expect(await snapshotOf(a.id)).toEqual(afterPull);
    // A's retry of its own first push is still answered from A's mutations.
    const retry = await a.c.push("laptop", [{ ...savedQuery(f.query, 0, { title: "alice's query" }), mutationId: f.mutationIds[0] }]);
    expect(retry.results[0]).toMatchObject({ status: ChangeStatus.DUPLICATE, originalStatus: ChangeStatus.APPLIED, version: 1n });
  });

  it("B cannot resolve A's conflict, in any way: NotFound, and A's conflict and record stay as they were", async () => {
    const { a, b } = f;
    const before = await snapshotOf(a.id);
    for (const how of [{ keepServer: true }, { keepClient: true }, { keepBoth: true }, { merged: { mutationId: uuid(), recordId: f.query, savedQuery: { title: "bob merged" } } }]) {
      const r = await b.c.raw("ResolveConflict", { conflictId: f.conflictId, ...how });
      expect([r.code, r.info?.reason], JSON.stringify(how)).toEqual(["not_found", "CONFLICT_NOT_FOUND"]);
      expect(r.message).not.toContain("alice");
    }
    expect(await snapshotOf(a.id)).toEqual(before);
    const open = await a.c.listConflicts();
    expect(open.conflicts.map((c) => [c.id, c.resolved])).toEqual([[f.conflictId, false]]);
  });

  it("B's ListConflicts and GetSyncStatus show nothing of A's, even with a page token built from A's ids", async () => {
    const { a, b } = f;
    const bList = await b.c.listConflicts({ includeResolved: true });
    expect(bList.conflicts.every((c) => c.id !== f.conflictId)).toBe(true);
    expect(bList.conflicts.every((c) => (c.server?.payload.value as { title?: string } | undefined)?.title?.startsWith("bob") ?? true)).toBe(true);
    // Tokens of this very list (ListConflicts, include_resolved), so the server reads the key in them.
    const token = (key: string) => encodePageToken(key, ["conflicts", true]);
    for (const pageToken of [token(""), token("0"), token(f.conflictId.slice(0, 8))]) {
      const page = await b.c.listConflicts({ includeResolved: true, pageToken });
      expect(page.conflicts.map((c) => c.id)).not.toContain(f.conflictId);
    }
    const aStatus = await a.c.status();
    const bStatus = await b.c.status();
    expect(aStatus.recordCount).toBe(BigInt(RECORD_LIMIT));
    expect(bStatus.recordCount).toBe(3n);
    expect(bStatus.openConflicts).toBe(bList.conflicts.filter((c) => !c.resolved).length);
    expect(aStatus.openConflicts).toBe(1);
    expect(bStatus.devices.map((d) => d.deviceId).sort()).toEqual(["laptop", "phone", "tablet"]);
    // A's laptop pulled to A's head; B's laptop never pulled anything of A's.
    expect(aStatus.devices.find((d) => d.deviceId === "laptop")!.lastPulledSeq).toBeGreaterThan(0n);
    expect(bStatus.devices.find((d) => d.deviceId === "laptop")!.lastPulledSeq).toBe(0n);
    expect(bStatus.headSeq).toBeLessThan(aStatus.headSeq);
  });

  it("A's record count does not count against B: A is at the limit, B still creates records", async () => {
    const { a, b } = f;
    const aFull = await a.c.push("laptop", [savedQuery(uuid(), 0, { title: "over" })]);
    expect(aFull.results[0]).toMatchObject({ status: ChangeStatus.REJECTED, reason: "RECORD_LIMIT" });
    const bMore = await b.c.push("laptop", Array.from({ length: RECORD_LIMIT - 3 }, (_, i) => savedQuery(uuid(), 0, { title: `bob ${i}` })));
    expect(bMore.results.every((r) => r.status === ChangeStatus.APPLIED)).toBe(true);
  });

  it("B's pulls and pushes never move A's head or A's device state", async () => {
    const { a, b } = f;
    const before = await snapshotOf(a.id);
    await b.c.pull("laptop", 0);
    await b.c.push("laptop", [], "bob/9");
    await b.c.status();
    await b.c.listConflicts();
    expect(await snapshotOf(a.id)).toEqual(before);
  });
});

describe("without a valid token", () => {
  it("every SyncService RPC answers Unauthenticated over Connect JSON, and stores nothing", async () => {
    const before = await server.db.execute("SELECT (SELECT COUNT(*) FROM sync_records) + (SELECT COUNT(*) FROM sync_mutations) + (SELECT COUNT(*) FROM sync_devices) AS n");
    const bodies: Record<string, unknown> = {
      Push: { deviceId: "laptop", changes: [savedQuery(uuid(), 0, { title: "anon" })] },
      Pull: { deviceId: "laptop" },
      ListConflicts: {},
      ResolveConflict: { conflictId: f.conflictId, keepClient: true },
      GetSyncStatus: {},
    };
    for (const method of SYNC_METHODS) {
      for (const token of [undefined, "", "garbage", `${f.a.token}x`]) {
        const r = await syncCall(server, method, bodies[method], token);
        expect([r.status, r.code], `${method} ${String(token).slice(0, 10)}`).toEqual([401, "unauthenticated"]);
      }
    }
    const after = await server.db.execute("SELECT (SELECT COUNT(*) FROM sync_records) + (SELECT COUNT(*) FROM sync_mutations) + (SELECT COUNT(*) FROM sync_devices) AS n");
    expect(after.rows[0].n).toBe(before.rows[0].n);
    expect((await f.a.c.listConflicts()).conflicts.map((c) => c.resolved)).toEqual([false]);
  });

  it("and over gRPC", async () => {
    const anon = clientFor(SyncService, server, undefined, "grpc");
    const forged = clientFor(SyncService, server, "not-a-token", "grpc");
    for (const client of [anon, forged]) {
      const calls = [
        () => client.push({ deviceId: "laptop", changes: [] }),
        () => client.pull({ deviceId: "laptop" }),
        () => client.listConflicts({}),
        () => client.resolveConflict({ conflictId: f.conflictId, resolution: { case: "keepServer", value: true } }),
        () => client.getSyncStatus({}),
      ];
      for (const run of calls) await expectRpcError(run, Code.Unauthenticated);
    }
  });
});
