import type { ConflictRow, MutationRow, RecordRow } from "./store.js";

/**
 * What a user's sync data costs, in bytes, by one simple rule the migration, the retention job and
 * GetSyncStatus share (migrations/0010_limits.sql): every stored row costs ROW_BYTES (its ids,
 * versions, timestamps and index entries) plus the UTF-8 bytes of its payloads. Rows: records
 * (tombstones and history included), conflicts (both sides), rejected change results.
 */
export const ROW_BYTES = 128;

const bytesOf = (json: string | null) => (json === null ? 0 : Buffer.byteLength(json));

export const recordBytes = (r: Pick<RecordRow, "payload">) => ROW_BYTES + bytesOf(r.payload);
export const conflictBytes = (c: Pick<ConflictRow, "server" | "client">) => ROW_BYTES + bytesOf(c.server.payload) + bytesOf(c.client.payload);

/** How a set of writes moves a user's usage: bytes (may be negative) and open conflicts. */
export interface UsageDelta {
  bytes: number;
  openConflicts: number;
}

/**
 * The usage change of writing `records` (final state per id, over `existing`), adding `conflicts`
 * and storing the rejected ones among `mutations`.
 */
export function usageDelta(input: {
  records: Iterable<RecordRow>;
  existing: Map<string, RecordRow>;
  conflicts: ConflictRow[];
  mutations: MutationRow[];
}): UsageDelta {
  let bytes = 0;
  for (const r of input.records) {
    const before = input.existing.get(r.id);
    bytes += recordBytes(r) - (before ? recordBytes(before) : 0);
  }
  for (const c of input.conflicts) bytes += conflictBytes(c);
  for (const m of input.mutations) if (m.status === "rejected") bytes += ROW_BYTES;
  return { bytes, openConflicts: input.conflicts.length };
}

/** Does a write of `delta` fit a user at `used` bytes under `quota`? Writes that free space always do. */
export function fitsQuota(used: number, delta: number, quota: number): boolean {
  return delta <= 0 || used + delta <= quota;
}
