import { R, type Reason } from "../common/reasons.js";
import type { ConflictRow, Kind, MutationRow, RecordRow } from "./store.js";

/** Reasons of changes rejected by a limit, and the limit (its configuration variable) each names. */
export const RECORD_LIMIT = R.RECORD_LIMIT;
export const OPEN_CONFLICTS_PER_RECORD_LIMIT = R.OPEN_CONFLICTS_PER_RECORD_LIMIT;
export const OPEN_CONFLICTS_PER_USER_LIMIT = R.OPEN_CONFLICTS_PER_USER_LIMIT;
export const LIMIT_OF_REASON: Record<string, string> = {
  [RECORD_LIMIT]: "SYNC_MAX_RECORDS_PER_USER",
  [OPEN_CONFLICTS_PER_RECORD_LIMIT]: "SYNC_MAX_OPEN_CONFLICTS_PER_RECORD",
  [OPEN_CONFLICTS_PER_USER_LIMIT]: "SYNC_MAX_OPEN_CONFLICTS_PER_USER",
};

/** A change after validation: either valid (with its stored JSON payload) or rejected. */
export type CheckedChange =
  | {
      ok: true;
      mutationId: string;
      recordId: string;
      baseVersion: number;
      delete: boolean;
      /** The payload's kind; undefined for a delete (the record's own kind applies). */
      kind?: Kind;
      payload: string | null;
    }
  | { ok: false; mutationId: string; recordId: string; reason: Reason; field: string };

export type Result =
  | { status: "applied"; mutationId: string; recordId: string; version: number }
  | { status: "conflict"; mutationId: string; recordId: string; version: number; conflictId: string }
  | { status: "rejected"; mutationId: string; recordId: string; reason: string; field: string }
  | { status: "duplicate"; original: MutationRow };

export interface PushPlan {
  results: Result[];
  /** Records to write, final state per id. */
  records: Map<string, RecordRow>;
  mutations: MutationRow[];
  conflicts: ConflictRow[];
  headSeq: number;
}

/**
 * Decides a push, given what the database holds: pure, so it is tested without I/O.
 * In order, per change: a mutation this device already pushed answers its stored result; an
 * invalid change is rejected; a new record gets version 1; a matching base version applies and
 * bumps the version; a stale one becomes a conflict that keeps both sides, unless the record or the
 * user already has the most open conflicts allowed (then the change is rejected, naming which).
 * History is insert-or-ignore. Every write takes the next seq of the user. Nothing depends on
 * client clocks.
 */
export function planPush(input: {
  changes: CheckedChange[];
  deviceId: string;
  existing: Map<string, RecordRow>;
  pushed: Map<string, MutationRow>;
  headSeq: number;
  liveRecords: number;
  maxRecords: number;
  /** Open conflicts of the user, and of the records this push may conflict on (others have none). */
  openConflicts: number;
  openConflictsByRecord: Map<string, number>;
  maxOpenConflicts: number;
  maxOpenConflictsPerRecord: number;
  now: number;
  newId: () => string;
}): PushPlan {
  const records = new Map<string, RecordRow>();
  const current = (id: string) => records.get(id) ?? input.existing.get(id);
  const seen = new Map<string, MutationRow>(input.pushed);
  const results: Result[] = [];
  const mutations: MutationRow[] = [];
  const conflicts: ConflictRow[] = [];
  let head = input.headSeq;
  let live = input.liveRecords;
  let open = input.openConflicts;
  const openOf = new Map(input.openConflictsByRecord);

  const remember = (r: Exclude<Result, { status: "duplicate" }>) => {
    results.push(r);
    const m: MutationRow = {
      mutationId: r.mutationId,
      recordId: r.recordId,
      status: r.status,
      version: r.status === "rejected" ? 0 : r.version,
      conflictId: r.status === "conflict" ? r.conflictId : null,
      reason: r.status === "rejected" ? r.reason : "",
      field: r.status === "rejected" ? r.field : "",
    };
    mutations.push(m);
    seen.set(r.mutationId, m);
  };
  const reject = (c: { mutationId: string; recordId: string }, reason: string, field = "") =>
    remember({ status: "rejected", mutationId: c.mutationId, recordId: c.recordId, reason, field });

  for (const c of input.changes) {
    const before = seen.get(c.mutationId);
    if (before) {
      results.push({ status: "duplicate", original: before });
      continue;
    }
    if (!c.ok) {
      reject(c, c.reason, c.field);
      continue;
    }
    const rec = current(c.recordId);
    if (!rec) {
      if (c.delete) {
        reject(c, R.RECORD_NOT_FOUND, "record_id");
        continue;
      }
      if (live >= input.maxRecords) {
        reject(c, RECORD_LIMIT);
        continue;
      }
      live++;
      const created: RecordRow = { id: c.recordId, kind: c.kind!, version: 1, seq: ++head, deleted: false, payload: c.payload, updatedAt: input.now };
      records.set(c.recordId, created);
      remember({ status: "applied", mutationId: c.mutationId, recordId: c.recordId, version: 1 });
      continue;
    }
    if (!c.delete && c.kind !== rec.kind) {
      reject(c, R.KIND_MISMATCH, "payload");
      continue;
    }
    if (rec.kind === "history" && !c.delete && !rec.deleted) {
      // Append-only: the entry exists, the change is already reflected.
      remember({ status: "applied", mutationId: c.mutationId, recordId: c.recordId, version: rec.version });
      continue;
    }
    if (c.baseVersion !== rec.version) {
      const onRecord = openOf.get(rec.id) ?? 0;
      if (onRecord >= input.maxOpenConflictsPerRecord) {
        reject(c, OPEN_CONFLICTS_PER_RECORD_LIMIT, "base_version");
        continue;
      }
      if (open >= input.maxOpenConflicts) {
        reject(c, OPEN_CONFLICTS_PER_USER_LIMIT, "base_version");
        continue;
      }
      openOf.set(rec.id, onRecord + 1);
      open++;
      const conflictId = input.newId();
      conflicts.push({
        id: conflictId,
        recordId: rec.id,
        kind: rec.kind,
        deviceId: input.deviceId,
        baseVersion: c.baseVersion,
        server: { version: rec.version, deleted: rec.deleted, payload: rec.payload, seq: rec.seq, updatedAt: rec.updatedAt },
        client: { mutationId: c.mutationId, deleted: c.delete, payload: c.payload },
        createdAt: input.now,
        resolvedAt: null,
        resolution: null,
      });
      remember({ status: "conflict", mutationId: c.mutationId, recordId: c.recordId, version: rec.version, conflictId });
      continue;
    }
    if (c.delete && rec.deleted) {
      remember({ status: "applied", mutationId: c.mutationId, recordId: c.recordId, version: rec.version });
      continue;
    }
    if (!c.delete && rec.deleted) {
      if (live >= input.maxRecords) {
        reject(c, RECORD_LIMIT);
        continue;
      }
      live++;
    }
    if (c.delete) live--;
    const next: RecordRow = { ...rec, version: rec.version + 1, seq: ++head, deleted: c.delete, payload: c.delete ? null : c.payload, updatedAt: input.now };
    records.set(rec.id, next);
    remember({ status: "applied", mutationId: c.mutationId, recordId: c.recordId, version: next.version });
  }
  return { results, records, mutations, conflicts, headSeq: head };
}
