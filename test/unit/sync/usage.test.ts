/** The byte cost rule of the sync quota (src/sync/usage.ts). */
import { describe, expect, it } from "vitest";
import type { ConflictRow, MutationRow, RecordRow } from "../../../src/sync/store.js";
import { fitsQuota, ROW_BYTES, usageDelta } from "../../../src/sync/usage.js";

const rec = (id: string, payload: string | null): RecordRow => ({ id, kind: "saved_query", version: 1, seq: 1, deleted: payload === null, payload, updatedAt: 0 });
const mutation = (status: MutationRow["status"]): MutationRow => ({ mutationId: "m", recordId: "r", status, version: 0, conflictId: null, reason: "", field: "" });
const conflict = (server: string | null, client: string | null): ConflictRow => ({
  id: "c",
  recordId: "r",
  kind: "saved_query",
  deviceId: "d",
  baseVersion: 0,
  server: { version: 1, deleted: server === null, payload: server, seq: 1, updatedAt: 0 },
  client: { mutationId: "m", deleted: client === null, payload: client },
  createdAt: 0,
  resolvedAt: null,
  resolution: null,
});

describe("usageDelta", () => {
  it("a new record costs a row plus its UTF-8 bytes; an update costs the difference; a delete frees the payload, the tombstone keeps its row", () => {
    const existing = new Map([["a", rec("a", "x".repeat(100))], ["b", rec("b", "y".repeat(50))]]);
    const d = usageDelta({ records: [rec("n", "é".repeat(10)), rec("a", "x".repeat(30)), rec("b", null)], existing, conflicts: [], mutations: [] });
    expect(d).toEqual({ bytes: ROW_BYTES + 20 + (30 - 100) + -50, openConflicts: 0 });
  });

  it("conflicts cost both sides; rejected change results a row each; applied and conflict results nothing", () => {
    const d = usageDelta({
      records: [],
      existing: new Map(),
      conflicts: [conflict("s".repeat(10), "c".repeat(20)), conflict(null, null)],
      mutations: [mutation("rejected"), mutation("rejected"), mutation("applied"), mutation("conflict")],
    });
    expect(d).toEqual({ bytes: ROW_BYTES + 30 + ROW_BYTES + 2 * ROW_BYTES, openConflicts: 2 });
  });
});

describe("fitsQuota", () => {
  it("growth must stay within the quota; writes that free space always fit, even over it", () => {
    expect(fitsQuota(90, 10, 100)).toBe(true);
    expect(fitsQuota(90, 11, 100)).toBe(false);
    expect(fitsQuota(150, -1, 100)).toBe(true);
    expect(fitsQuota(150, 0, 100)).toBe(true);
  });
});
