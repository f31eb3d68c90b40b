/**
 * planPush as a pure function (DESIGN.md §6): given what the database holds and a batch of
 * checked changes, it decides every result, the records to write, the mutations to remember,
 * the conflicts to store and the new head, without I/O.
 */
import { describe, expect, it } from "vitest";
import { planPush, type CheckedChange, type PushPlan, type Result } from "../../../src/sync/push.js";
import type { Reason } from "../../../src/common/reasons.js";
import type { Kind, MutationRow, RecordRow } from "../../../src/sync/store.js";

const NOW = 1_700_000_000_000;
const rid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
const R1 = rid(1);
const R2 = rid(2);
const R3 = rid(3);

let mut = 0;
const mid = () => `m-${++mut}`;

/** An upsert of a saved query (or another kind) that passed validation. */
function up(recordId: string, baseVersion: number, payload: string, kind: Kind = "saved_query", mutationId = mid()): CheckedChange {
  return { ok: true, mutationId, recordId, baseVersion, delete: false, kind, payload };
}
function del(recordId: string, baseVersion: number, mutationId = mid()): CheckedChange {
  return { ok: true, mutationId, recordId, baseVersion, delete: true, payload: null };
}
function bad(recordId: string, reason: Reason, field: string, mutationId = mid()): CheckedChange {
  return { ok: false, mutationId, recordId, reason, field };
}
const q = (title: string) => JSON.stringify({ title, sql: "select 1" });

function rec(id: string, version: number, seq: number, payload: string | null, kind: Kind = "saved_query"): RecordRow {
  return { id, kind, version, seq, deleted: payload === null, payload, updatedAt: NOW - 60_000 };
}

function plan(
  changes: CheckedChange[],
  db: {
    records?: RecordRow[];
    pushed?: MutationRow[];
    headSeq?: number;
    liveRecords?: number;
    maxRecords?: number;
    openConflicts?: number;
    openConflictsByRecord?: Map<string, number>;
    maxOpenConflicts?: number;
    maxOpenConflictsPerRecord?: number;
  } = {},
): PushPlan {
  const records = db.records ?? [];
  let n = 0;
  return planPush({
    changes,
    deviceId: "laptop",
    existing: new Map(records.map((r) => [r.id, r])),
    pushed: new Map((db.pushed ?? []).map((m) => [m.mutationId, m])),
    headSeq: db.headSeq ?? Math.max(0, ...records.map((r) => r.seq)),
    liveRecords: db.liveRecords ?? records.filter((r) => !r.deleted).length,
    maxRecords: db.maxRecords ?? 1000,
    openConflicts: db.openConflicts ?? 0,
    openConflictsByRecord: db.openConflictsByRecord ?? new Map(),
    maxOpenConflicts: db.maxOpenConflicts ?? 1000,
    maxOpenConflictsPerRecord: db.maxOpenConflictsPerRecord ?? 1000,
    now: NOW,
    newId: () => `conflict-${++n}`,
  });
}

const statuses = (p: PushPlan) => p.results.map((r) => r.status);

describe("planPush", () => {
  it("a new record gets version 1 and the next seq", () => {
    const c = up(R1, 0, q("a"));
    const p = plan([c], { headSeq: 41 });
    expect(p.results).toEqual([{ status: "applied", mutationId: c.mutationId, recordId: R1, version: 1 }]);
    expect(p.records.get(R1)).toEqual({ id: R1, kind: "saved_query", version: 1, seq: 42, deleted: false, payload: q("a"), updatedAt: NOW });
    expect(p.headSeq).toBe(42);
    expect(p.mutations).toEqual([{ mutationId: c.mutationId, recordId: R1, status: "applied", version: 1, conflictId: null, reason: "", field: "" }]);
    expect(p.conflicts).toEqual([]);
  });

  it("a matching base version applies and bumps the version exactly once", () => {
    const existing = rec(R1, 3, 10, q("old"));
    const c = up(R1, 3, q("new"));
    const p = plan([c], { records: [existing], headSeq: 12 });
    expect(p.results).toEqual([{ status: "applied", mutationId: c.mutationId, recordId: R1, version: 4 }]);
    const written = p.records.get(R1)!;
    expect(written.version).toBe(4); // not 5: the Go system bumped twice
    expect(written.seq).toBe(13);
    expect(written.payload).toBe(q("new"));
    expect(written.updatedAt).toBe(NOW);
    expect(p.headSeq).toBe(13);
    // The input is not mutated.
    expect(existing).toEqual(rec(R1, 3, 10, q("old")));
  });

  it("two chained changes in one batch bump once each and write the final state once", () => {
    const p = plan([up(R1, 0, q("v1")), up(R1, 1, q("v2")), up(R1, 2, q("v3"))], { headSeq: 5 });
    expect(p.results.map((r) => (r.status === "applied" ? r.version : -1))).toEqual([1, 2, 3]);
    expect(p.records.size).toBe(1);
    expect(p.records.get(R1)).toMatchObject({ version: 3, seq: 8, payload: q("v3") });
    expect(p.headSeq).toBe(8);
  });

  it("a stale base version is a conflict keeping both sides; the server record is unchanged", () => {
    const server = rec(R1, 5, 20, q("server"));
    const c = up(R1, 3, q("client"));
    const p = plan([c], { records: [server], headSeq: 20 });
    expect(p.results).toEqual([{ status: "conflict", mutationId: c.mutationId, recordId: R1, version: 5, conflictId: "conflict-1" }]);
    expect(p.records.size).toBe(0);
    expect(p.headSeq).toBe(20);
    expect(p.conflicts).toEqual([
      {
        id: "conflict-1",
        recordId: R1,
        kind: "saved_query",
        deviceId: "laptop",
        baseVersion: 3,
        server: { version: 5, deleted: false, payload: q("server"), seq: 20, updatedAt: server.updatedAt },
        client: { mutationId: c.mutationId, deleted: false, payload: q("client") },
        createdAt: NOW,
        resolvedAt: null,
        resolution: null,
      },
    ]);
    expect(p.mutations[0]).toMatchObject({ status: "conflict", conflictId: "conflict-1", version: 5 });
  });

  it("a base version ahead of the server is a conflict too (never applied)", () => {
    const p = plan([up(R1, 9, q("client"))], { records: [rec(R1, 5, 20, q("server"))] });
    expect(statuses(p)).toEqual(["conflict"]);
    expect(p.records.size).toBe(0);
  });

  it("a stale delete is a conflict whose client side is a deletion", () => {
    const p = plan([del(R1, 1)], { records: [rec(R1, 2, 7, q("edited"))] });
    expect(statuses(p)).toEqual(["conflict"]);
    expect(p.conflicts[0].client).toMatchObject({ deleted: true, payload: null });
    expect(p.conflicts[0].server).toMatchObject({ deleted: false, payload: q("edited") });
    expect(p.records.size).toBe(0);
  });

  it("an update based on a version the server has since deleted is a conflict", () => {
    const p = plan([up(R1, 2, q("mine"))], { records: [rec(R1, 3, 9, null)] });
    expect(statuses(p)).toEqual(["conflict"]);
    expect(p.conflicts[0].server).toMatchObject({ deleted: true, payload: null, version: 3 });
    expect(p.records.size).toBe(0);
  });

  it("a mutation this device already pushed answers its stored result and writes nothing", () => {
    const original: MutationRow = { mutationId: "m-old", recordId: R1, status: "applied", version: 4, conflictId: null, reason: "", field: "" };
    const p = plan([up(R1, 3, q("again"), "saved_query", "m-old")], { records: [rec(R1, 4, 9, q("x"))], pushed: [original] });
    expect(p.results).toEqual([{ status: "duplicate", original }]);
    expect(p.records.size).toBe(0);
    expect(p.mutations).toEqual([]);
    expect(p.conflicts).toEqual([]);
    expect(p.headSeq).toBe(9);
  });

  it("a duplicate of an earlier conflict or rejection repeats it, and creates no second conflict", () => {
    const conflicted: MutationRow = { mutationId: "m-c", recordId: R1, status: "conflict", version: 7, conflictId: "c-old", reason: "", field: "" };
    const rejected: MutationRow = { mutationId: "m-r", recordId: R2, status: "rejected", version: 0, conflictId: null, reason: "SECRET_IN_OPTIONS", field: "connection.options.password" };
    const p = plan([up(R1, 1, q("x"), "saved_query", "m-c"), up(R2, 0, q("y"), "saved_query", "m-r")], {
      records: [rec(R1, 7, 3, q("s"))],
      pushed: [conflicted, rejected],
    });
    expect(p.results).toEqual([
      { status: "duplicate", original: conflicted },
      { status: "duplicate", original: rejected },
    ]);
    expect(p.conflicts).toEqual([]);
    expect(p.records.size).toBe(0);
  });

  it("the same mutation id twice in one batch: the second answers the first's result", () => {
    const a = up(R1, 0, q("first"), "saved_query", "m-twice");
    const b = up(R1, 0, q("second"), "saved_query", "m-twice");
    const p = plan([a, b], { headSeq: 0 });
    expect(statuses(p)).toEqual(["applied", "duplicate"]);
    expect((p.results[1] as Extract<Result, { status: "duplicate" }>).original).toEqual({
      mutationId: "m-twice",
      recordId: R1,
      status: "applied",
      version: 1,
      conflictId: null,
      reason: "",
      field: "",
    });
    expect(p.records.get(R1)).toMatchObject({ version: 1, seq: 1, payload: q("first") });
    expect(p.mutations).toHaveLength(1);
    expect(p.headSeq).toBe(1);
  });

  it("a rejected change consumes no seq and stores its reason; valid neighbours still apply", () => {
    const p = plan([up(R1, 0, q("a")), bad(R2, "SECRET_IN_OPTIONS", "connection.options.password"), up(R3, 0, q("c"))], { headSeq: 100 });
    expect(statuses(p)).toEqual(["applied", "rejected", "applied"]);
    expect(p.results[1]).toMatchObject({ reason: "SECRET_IN_OPTIONS", field: "connection.options.password" });
    expect(p.records.get(R1)!.seq).toBe(101);
    expect(p.records.get(R3)!.seq).toBe(102);
    expect(p.records.has(R2)).toBe(false);
    expect(p.headSeq).toBe(102);
    expect(p.mutations[1]).toEqual({ mutationId: p.mutations[1].mutationId, recordId: R2, status: "rejected", version: 0, conflictId: null, reason: "SECRET_IN_OPTIONS", field: "connection.options.password" });
  });

  it("a batch of only rejections leaves the head where it was", () => {
    const p = plan([bad(R1, "FIELD_REQUIRED", "saved_query.title"), del(R2, 0)], { headSeq: 33 });
    expect(statuses(p)).toEqual(["rejected", "rejected"]);
    expect(p.headSeq).toBe(33);
    expect(p.records.size).toBe(0);
  });

  it("history is insert-or-ignore: a second insert of the same entry changes nothing", () => {
    const h = JSON.stringify({ sql: "select 1", success: true });
    const existing = rec(R1, 1, 4, h, "history");
    const p = plan([up(R1, 0, JSON.stringify({ sql: "select 2" }), "history")], { records: [existing], headSeq: 4 });
    expect(p.results).toEqual([{ status: "applied", mutationId: p.mutations[0].mutationId, recordId: R1, version: 1 }]);
    expect(p.records.size).toBe(0);
    expect(p.conflicts).toEqual([]);
    expect(p.headSeq).toBe(4);
    // And inside one batch: insert then insert again (another mutation id) → one record, one seq.
    const twice = plan([up(R2, 0, h, "history"), up(R2, 0, h, "history")], { headSeq: 0 });
    expect(statuses(twice)).toEqual(["applied", "applied"]);
    expect(twice.records.get(R2)).toMatchObject({ version: 1, seq: 1 });
    expect(twice.headSeq).toBe(1);
  });

  it("deleting an unknown record is rejected RECORD_NOT_FOUND", () => {
    const p = plan([del(R1, 0)]);
    expect(p.results[0]).toMatchObject({ status: "rejected", reason: "RECORD_NOT_FOUND", field: "record_id" });
    expect(p.records.size).toBe(0);
    expect(p.headSeq).toBe(0);
  });

  it("a delete writes a tombstone: payload null, deleted, new version and seq", () => {
    const p = plan([del(R1, 2)], { records: [rec(R1, 2, 6, q("bye"))], headSeq: 6 });
    expect(statuses(p)).toEqual(["applied"]);
    expect(p.records.get(R1)).toEqual({ id: R1, kind: "saved_query", version: 3, seq: 7, deleted: true, payload: null, updatedAt: NOW });
  });

  it("deleting a tombstone at its version is answered applied and writes nothing", () => {
    const p = plan([del(R1, 3)], { records: [rec(R1, 3, 6, null)], headSeq: 6 });
    expect(p.results[0]).toMatchObject({ status: "applied", version: 3 });
    expect(p.records.size).toBe(0);
    expect(p.headSeq).toBe(6);
  });

  it("an upsert at the tombstone's version resurrects the record", () => {
    const p = plan([up(R1, 3, q("back"))], { records: [rec(R1, 3, 6, null)], headSeq: 6, liveRecords: 0 });
    expect(p.results[0]).toMatchObject({ status: "applied", version: 4 });
    expect(p.records.get(R1)).toMatchObject({ version: 4, seq: 7, deleted: false, payload: q("back") });
  });

  it("delete then resurrect in one batch", () => {
    const p = plan([del(R1, 1), up(R1, 2, q("again"))], { records: [rec(R1, 1, 1, q("first"))], headSeq: 1 });
    expect(p.results.map((r) => (r.status === "applied" ? r.version : r.status))).toEqual([2, 3]);
    expect(p.records.get(R1)).toMatchObject({ version: 3, seq: 3, deleted: false, payload: q("again") });
  });

  it("a payload of another kind than the record is rejected KIND_MISMATCH", () => {
    const p = plan([up(R1, 1, JSON.stringify({ name: "db", engine: "sqlite" }), "connection")], { records: [rec(R1, 1, 1, q("a"))] });
    expect(p.results[0]).toMatchObject({ status: "rejected", reason: "KIND_MISMATCH" });
    expect(p.records.size).toBe(0);
    // also against a tombstone of another kind
    const t = plan([up(R1, 2, q("a"))], { records: [rec(R1, 2, 1, null, "connection")] });
    expect(t.results[0]).toMatchObject({ status: "rejected", reason: "KIND_MISMATCH" });
  });

  it("the record limit rejects new records beyond it (RECORD_LIMIT) and counts deletions", () => {
    const p = plan([up(R1, 0, q("a")), up(R2, 0, q("b")), up(R3, 0, q("c"))], { liveRecords: 8, maxRecords: 10 });
    expect(p.results.map((r) => (r.status === "rejected" ? r.reason : r.status))).toEqual(["applied", "applied", "RECORD_LIMIT"]);
    expect(p.headSeq).toBe(2);
    // An update of an existing record is never limited; a delete frees a place.
    const existing = [rec(R1, 1, 1, q("a")), rec(R2, 1, 2, q("b"))];
    const q2 = plan([up(R1, 1, q("a2")), up(R3, 0, q("c"))], { records: existing, maxRecords: 2 });
    expect(q2.results.map((r) => (r.status === "rejected" ? r.reason : r.status))).toEqual(["applied", "RECORD_LIMIT"]);
    const q3 = plan([del(R2, 1), up(R3, 0, q("c"))], { records: existing, maxRecords: 2 });
    expect(statuses(q3)).toEqual(["applied", "applied"]);
    // Resurrecting a tombstone needs a place too.
    const q4 = plan([up(R3, 1, q("back"))], { records: [...existing, rec(R3, 1, 3, null)], maxRecords: 2 });
    expect(q4.results[0]).toMatchObject({ status: "rejected", reason: "RECORD_LIMIT" });
  });

  it("seq is strictly increasing across the batch, one per write, none for conflicts/duplicates/rejections", () => {
    const existing = [rec(R1, 1, 40, q("a")), rec(R2, 4, 41, q("b"))];
    const seenBefore: MutationRow = { mutationId: "old", recordId: R1, status: "applied", version: 1, conflictId: null, reason: "", field: "" };
    const ids = Array.from({ length: 20 }, (_, i) => rid(100 + i));
    const changes: CheckedChange[] = [
      up(R1, 1, q("a2")),
      up(R2, 1, q("stale")),
      up(R1, 0, q("dup"), "saved_query", "old"),
      bad(R3, "FIELD_REQUIRED", "saved_query.title"),
      ...ids.map((id) => up(id, 0, q(id))),
      del(R1, 2),
      up(R1, 3, q("back")),
    ];
    const p = plan(changes, { records: existing, pushed: [seenBefore], headSeq: 42 });
    const seqs = [...p.records.values()].map((r) => r.seq).sort((a, b) => a - b);
    // Final records: R1 (written three times, final seq), 20 new ones.
    expect(p.records.size).toBe(21);
    // 1 (R1) + 20 creates + delete + resurrect = 23 writes from 43 to 65.
    expect(p.headSeq).toBe(42 + 23);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs.every((s) => s > 42 && s <= p.headSeq)).toBe(true);
    // Creates in the batch's order get increasing seqs.
    const createSeqs = ids.map((id) => p.records.get(id)!.seq);
    expect(createSeqs).toEqual([...createSeqs].sort((a, b) => a - b));
    expect(createSeqs[0]).toBe(44);
    expect(p.records.get(R1)!.seq).toBe(65);
    expect(p.records.get(R1)!.version).toBe(4);
  });

  it("never looks at client clocks: the same batch at another time decides the same", () => {
    const db = { records: [rec(R1, 2, 5, q("s"))], headSeq: 5 };
    const changes = [up(R1, 1, q("x"), "saved_query", "a"), up(R2, 0, q("y"), "saved_query", "b")];
    const a = plan(changes, db);
    const b = planPush({ ...inputOf(changes, db), now: NOW + 86_400_000 });
    expect(statuses(a)).toEqual(statuses(b));
    expect(a.headSeq).toBe(b.headSeq);
  });
});

describe("planPush: open conflict caps", () => {
  const reasons = (p: PushPlan) => p.results.map((r) => (r.status === "rejected" ? r.reason : r.status));

  it("a record with the most open conflicts allowed rejects further stale changes (OPEN_CONFLICTS_PER_RECORD_LIMIT); others still conflict", () => {
    const db = { records: [rec(R1, 2, 5, q("s")), rec(R2, 2, 6, q("t"))], headSeq: 6, openConflictsByRecord: new Map([[R1, 2]]), maxOpenConflictsPerRecord: 3 };
    const p = plan([up(R1, 1, q("a")), up(R1, 1, q("b")), up(R2, 1, q("c"))], db);
    expect(reasons(p)).toEqual(["conflict", "OPEN_CONFLICTS_PER_RECORD_LIMIT", "conflict"]);
    expect(p.conflicts.map((c) => c.recordId)).toEqual([R1, R2]);
    const rejected = p.mutations.find((m) => m.status === "rejected");
    expect(rejected).toMatchObject({ reason: "OPEN_CONFLICTS_PER_RECORD_LIMIT", field: "base_version" });
  });

  it("the user's cap counts the conflicts of this push too (OPEN_CONFLICTS_PER_USER_LIMIT)", () => {
    const db = { records: [rec(R1, 2, 5, q("s")), rec(R2, 2, 6, q("t")), rec(R3, 2, 7, q("u"))], headSeq: 7, openConflicts: 8, maxOpenConflicts: 10 };
    const p = plan([up(R1, 1, q("a")), up(R2, 1, q("b")), up(R3, 1, q("c"))], db);
    expect(reasons(p)).toEqual(["conflict", "conflict", "OPEN_CONFLICTS_PER_USER_LIMIT"]);
  });

  it("changes that apply are not affected by the caps", () => {
    const db = { records: [rec(R1, 2, 5, q("s"))], headSeq: 5, openConflicts: 10, openConflictsByRecord: new Map([[R1, 10]]), maxOpenConflicts: 10, maxOpenConflictsPerRecord: 10 };
    expect(reasons(plan([up(R1, 2, q("fresh"))], db))).toEqual(["applied"]);
  });
});

function inputOf(changes: CheckedChange[], db: { records: RecordRow[]; headSeq: number }) {
  return {
    changes,
    deviceId: "laptop",
    existing: new Map(db.records.map((r) => [r.id, r])),
    pushed: new Map<string, MutationRow>(),
    headSeq: db.headSeq,
    liveRecords: db.records.length,
    maxRecords: 1000,
    openConflicts: 0,
    openConflictsByRecord: new Map<string, number>(),
    maxOpenConflicts: 1000,
    maxOpenConflictsPerRecord: 1000,
    now: NOW,
    newId: () => "c",
  };
}
