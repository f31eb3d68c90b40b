import { createHash } from "node:crypto";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { ChangeSchema, type Change, type HistoryEntrySchema } from "../../gen/sqlstudio/sync/v1/sync_pb.js";
import { decodePageToken, pageOf, pageSize, type PageScope } from "../common/paging.js";
import type { Runtime } from "../common/runtime.js";
import { invalidArgument, limitExceeded, fail, R } from "../common/errors.js";
import { checkAndRedactChange } from "./payload.js";
import { LIMIT_OF_REASON, planPush, type CheckedChange, type Result } from "./push.js";
import type { ConflictRow, DeviceRow, Kind, RecordRow, SyncStore } from "./store.js";
import { fitsQuota, recordBytes, usageDelta, type UsageDelta } from "./usage.js";

export interface SyncLimits {
  maxChangesPerPush: number;
  maxPushBytes: number;
  maxRecordsPerUser: number;
  /** Bytes one user may store (usage.ts says what counts). */
  quotaBytes: number;
  maxOpenConflictsPerRecord: number;
  maxOpenConflictsPerUser: number;
}

export const QUOTA_LIMIT = "SYNC_QUOTA_BYTES";

/** What the rest of the server hears from sync (realtime pokes, metrics), after the commit. */
export interface SyncHooks {
  /** The user's head moved (`deviceId` pushed; empty for a resolution). */
  changed?: (userId: string, headSeq: number, deviceId: string) => void;
  conflictsCreated?: (userId: string, conflicts: { id: string; recordId: string }[]) => void;
  pushed?: (results: Result[]) => void;
  pulled?: (outcome: "records" | "empty" | "reset") => void;
  /** A write was refused, or a change rejected, by a limit (its configuration variable). */
  limitHit?: (limit: string) => void;
}

export type Resolution =
  | { case: "keepServer" }
  | { case: "keepClient" }
  | { case: "keepBoth" }
  | { case: "merged"; change: Change };

/** The device id history entries written by the server carry. */
export const SERVER_DEVICE = "server";

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TOKEN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Sync of the client's library: the logic behind SyncService. Every query is scoped by user. */
export class Sync {
  constructor(
    private readonly store: SyncStore,
    private readonly runtime: Runtime,
    private readonly limits: SyncLimits,
    private readonly hooks: SyncHooks = {},
  ) {}

  async push(userId: string, deviceId: string, clientVersion: string, changes: Change[]): Promise<{ results: Result[]; headSeq: number }> {
    if (!TOKEN.test(deviceId)) throw invalidArgument("device_id", "is required: 1-128 characters of A-Z a-z 0-9 _ . : -", R.INVALID_DEVICE_ID);
    if (clientVersion.length > 64) throw invalidArgument("client_version", "must be at most 64 characters");
    if (changes.length > this.limits.maxChangesPerPush) {
      throw invalidArgument("changes", `at most ${this.limits.maxChangesPerPush} changes per push; split the batch`, R.TOO_MANY_CHANGES);
    }
    changes.forEach((c, i) => {
      if (!TOKEN.test(c.mutationId)) throw invalidArgument(`changes.${i}.mutation_id`, "is required: 1-128 characters of A-Z a-z 0-9 _ . : -", R.INVALID_MUTATION_ID);
      if (!ID.test(c.recordId)) throw invalidArgument(`changes.${i}.record_id`, "must be a UUID", R.INVALID_RECORD_ID);
    });
    // Each payload is encoded once, here; the byte limit counts what would be stored.
    const checked = changes.map(checkAndRedactChange);
    const bytes = checked.reduce((n, c) => n + (c.ok && c.payload !== null ? Buffer.byteLength(c.payload) : 0), 0);
    if (bytes > this.limits.maxPushBytes) {
      throw invalidArgument("changes", `a push may carry at most ${this.limits.maxPushBytes} bytes of payload; split the batch`, R.PUSH_TOO_LARGE);
    }
    const now = this.runtime.now();
    const out = await this.store.write(async (tx) => {
      const recordIds = [...new Set(checked.map((c) => c.recordId))];
      // One statement at a time: a transaction is one connection (one stream when remote).
      const existing = await this.store.records(tx, userId, recordIds);
      const pushed = await this.store.mutations(tx, userId, deviceId, [...new Set(checked.map((c) => c.mutationId))]);
      const head = await this.store.head(tx, userId);
      // Only a push that may add live records needs the count, bounded by the limit itself.
      const adds = checked.some((c) => c.ok && !c.delete);
      const live = adds ? await this.store.liveRecordCount(tx, userId, this.limits.maxRecordsPerUser) : 0;
      // Only records this push may conflict on need their open conflicts counted.
      const stale = mayConflict(checked, existing);
      const openByRecord = stale.length > 0 ? await this.store.openConflictsByRecord(tx, userId, stale) : new Map<string, number>();
      const plan = planPush({
        changes: checked,
        deviceId,
        existing,
        pushed,
        headSeq: head.headSeq,
        liveRecords: live,
        maxRecords: this.limits.maxRecordsPerUser,
        openConflicts: head.openConflicts,
        openConflictsByRecord: openByRecord,
        maxOpenConflicts: this.limits.maxOpenConflictsPerUser,
        maxOpenConflictsPerRecord: this.limits.maxOpenConflictsPerRecord,
        now,
        newId: () => this.runtime.newId(),
      });
      const delta = usageDelta({ records: plan.records.values(), existing, conflicts: plan.conflicts, mutations: plan.mutations });
      this.checkQuota(head.usedBytes, delta);
      await tx.batch([
        ...this.store.upsertRecordsStmts(userId, [...plan.records.values()], now),
        ...this.store.insertMutationsStmts(userId, deviceId, plan.mutations, now),
        ...plan.conflicts.map((c) => this.store.insertConflictStmt(userId, c, now)),
        this.store.setHeadStmt(userId, plan.headSeq, now, delta),
        this.store.touchDeviceStmt(userId, deviceId, now, { clientVersion, push: true }),
      ]);
      return { results: plan.results, headSeq: plan.headSeq, moved: plan.headSeq !== head.headSeq, conflicts: plan.conflicts };
    });
    this.hooks.pushed?.(out.results);
    for (const r of out.results) if (r.status === "rejected" && LIMIT_OF_REASON[r.reason]) this.hooks.limitHit?.(LIMIT_OF_REASON[r.reason]);
    if (out.moved) this.hooks.changed?.(userId, out.headSeq, deviceId);
    if (out.conflicts.length > 0) this.hooks.conflictsCreated?.(userId, out.conflicts);
    return { results: out.results, headSeq: out.headSeq };
  }

  async pull(userId: string, deviceId: string, sinceSeq: number, size: number): Promise<{ records: RecordRow[]; nextSeq: number; hasMore: boolean; resetRequired: boolean }> {
    if (!TOKEN.test(deviceId)) throw invalidArgument("device_id", "is required: 1-128 characters of A-Z a-z 0-9 _ . : -", R.INVALID_DEVICE_ID);
    if (sinceSeq < 0) throw invalidArgument("since_seq", "must not be negative");
    const limit = pageSize(size, 500, 1000);
    const head = await this.store.headOf(userId);
    // A cursor behind the retention horizon missed purged tombstones; one ahead of the head was
    // never issued to this user (another account's cursor, a restored database): both pull from 0.
    if ((sinceSeq > 0 && sinceSeq < head.purgedSeq) || sinceSeq > head.headSeq) {
      this.hooks.pulled?.("reset");
      return { records: [], nextSeq: 0, hasMore: true, resetRequired: true };
    }
    const rows = await this.store.changedSince(userId, sinceSeq, limit + 1);
    const page = rows.slice(0, limit);
    const nextSeq = page.length > 0 ? page[page.length - 1].seq : sinceSeq;
    await this.store.touchDevice(userId, deviceId, this.runtime.now(), { pulledSeq: nextSeq });
    this.hooks.pulled?.(page.length > 0 ? "records" : "empty");
    return { records: page, nextSeq, hasMore: rows.length > limit, resetRequired: false };
  }

  async listConflicts(userId: string, includeResolved: boolean, size: number, token: string): Promise<{ conflicts: ConflictRow[]; next: string }> {
    const limit = pageSize(size);
    const scope: PageScope = ["conflicts", includeResolved];
    const rows = await this.store.listConflicts(userId, includeResolved, limit + 1, decodePageToken(token, scope));
    const { page, next } = pageOf(rows, limit, scope, (last) => last.id);
    return { conflicts: page, next };
  }

  /**
   * Closes a conflict; the chosen content becomes a new version of the record (new seq).
   * Resolving a resolved conflict the same way again (a retry) answers the records as they are
   * and writes nothing; another choice (or a merge of other content) is FailedPrecondition
   * CONFLICT_ALREADY_RESOLVED, whose ErrorInfo metadata names the earlier resolution.
   */
  async resolve(userId: string, conflictId: string, how: Resolution): Promise<{ record: RecordRow; copy?: RecordRow; headSeq: number }> {
    if (!ID.test(conflictId)) throw invalidArgument("conflict_id", "must be a conflict id", R.INVALID_ID);
    let merged: { payload: string; kind: Kind } | undefined;
    if (how.case === "merged") {
      const checked = checkAndRedactChange({ ...how.change, delete: false });
      if (!checked.ok) throw invalidArgument(`merged.${checked.field}`, `is not acceptable (${checked.reason})`, checked.reason);
      merged = { payload: checked.payload!, kind: checked.kind! };
    }
    const now = this.runtime.now();
    const out = await this.store.write(async (tx) => {
      const conflict = await this.store.conflict(tx, userId, conflictId);
      if (!conflict) throw fail(R.CONFLICT_NOT_FOUND, "conflict not found");
      const ids = [conflict.recordId];
      const previous = conflict.resolution ? (JSON.parse(conflict.resolution) as StoredResolution) : undefined;
      if (previous?.copyId) ids.push(previous.copyId);
      const existing = await this.store.records(tx, userId, ids);
      const rec = existing.get(conflict.recordId);
      const head = await this.store.head(tx, userId);
      if (!rec) throw fail(R.RECORD_NOT_FOUND, "the conflicted record no longer exists", { field: "conflict_id" });
      if (conflict.resolvedAt !== null) {
        if (previous && !sameChoice(previous, how.case, merged?.payload)) throw alreadyResolved(conflict, previous, rec);
        return { record: rec, copy: previous?.copyId ? existing.get(previous.copyId) : undefined, headSeq: head.headSeq, moved: false };
      }
      if (merged && merged.kind !== rec.kind) throw invalidArgument("merged.payload", `must be a ${rec.kind} like the record`, R.KIND_MISMATCH);
      let seq = head.headSeq;
      const writes: RecordRow[] = [];
      let record = rec;
      let copy: RecordRow | undefined;
      const bump = (deleted: boolean, payload: string | null) => {
        record = { ...rec, version: rec.version + 1, seq: ++seq, deleted, payload, updatedAt: now };
        writes.push(record);
      };
      // Every resolution writes a new version (DESIGN.md §6), keep_server and keep_both too: the
      // device that lost the conflict may already have pulled past the server's seq, and only a
      // new seq brings the kept server side back to it.
      if (how.case === "keepServer" || how.case === "keepBoth") bump(rec.deleted, rec.payload);
      if (how.case === "keepClient") bump(conflict.client.deleted, conflict.client.deleted ? null : conflict.client.payload);
      if (how.case === "merged") bump(false, merged!.payload);
      if (how.case === "keepBoth" && !conflict.client.deleted && conflict.client.payload !== null) {
        copy = { id: this.runtime.newId(), kind: rec.kind, version: 1, seq: ++seq, deleted: false, payload: renameCopy(rec.kind, conflict.client.payload, conflict.deviceId), updatedAt: now };
        writes.push(copy);
      }
      // The conflict row stays (resolved) until the retention job; the new versions may grow the usage.
      const delta = { bytes: writes.reduce((n, r) => n + recordBytes(r) - (r.id === rec.id ? recordBytes(rec) : 0), 0), openConflicts: -1 };
      this.checkQuota(head.usedBytes, delta);
      await tx.batch([
        ...writes.map((r) => this.store.upsertRecordStmt(userId, r, now)),
        this.store.resolveConflictStmt(userId, conflictId, JSON.stringify(storedResolution(how.case, record.version, copy?.id, merged?.payload)), now),
        this.store.setHeadStmt(userId, seq, now, delta),
      ]);
      return { record, copy, headSeq: seq, moved: seq !== head.headSeq };
    });
    if (out.moved) this.hooks.changed?.(userId, out.headSeq, "");
    return out;
  }

  /** Adds a history entry written by the server (the query engine), as the device `server`. */
  async recordHistory(userId: string, entry: MessageInitShape<typeof HistoryEntrySchema>): Promise<void> {
    const change = create(ChangeSchema, { mutationId: this.runtime.newId(), recordId: this.runtime.newId(), payload: { case: "history", value: entry } });
    await this.push(userId, SERVER_DEVICE, "", [change]);
  }

  /** The user's history, newest first; the page token is the last seq seen. */
  async history(userId: string, connectionId: string, size: number, token: string): Promise<{ records: RecordRow[]; next: string }> {
    const limit = pageSize(size);
    const scope: PageScope = ["history", connectionId];
    const before = decodePageToken(token, scope, (key) => (/^\d{1,16}$/.test(key) ? Number(key) : undefined));
    const rows = await this.store.history(userId, limit + 1, before, connectionId);
    const { page, next } = pageOf(rows, limit, scope, (last) => String(last.seq));
    return { records: page, next };
  }

  async status(userId: string): Promise<{ devices: DeviceRow[]; headSeq: number; openConflicts: number; records: number; usedBytes: number; limits: SyncLimits }> {
    return { ...(await this.store.status(userId)), limits: this.limits };
  }

  /** Refuses a write that would take the user over the byte quota (inside its transaction: nothing is written). */
  private checkQuota(used: number, delta: UsageDelta): void {
    if (fitsQuota(used, delta.bytes, this.limits.quotaBytes)) return;
    this.hooks.limitHit?.(QUOTA_LIMIT);
    throw limitExceeded(
      QUOTA_LIMIT,
      this.limits.quotaBytes,
      R.SYNC_QUOTA_EXCEEDED,
      `sync storage quota reached (${QUOTA_LIMIT}: ${used} of ${this.limits.quotaBytes} bytes used, this write needs ${delta.bytes} more): delete records or resolve conflicts first`,
    );
  }
}

/** Records a push may conflict on: existing ones whose version a valid change does not match. */
function mayConflict(changes: CheckedChange[], existing: Map<string, RecordRow>): string[] {
  const ids = new Set<string>();
  for (const c of changes) {
    const rec = c.ok ? existing.get(c.recordId) : undefined;
    if (c.ok && rec && c.baseVersion !== rec.version) ids.add(rec.id);
  }
  return [...ids];
}

/** The device's side kept as a new record, named so the user sees where it came from. */
function renameCopy(kind: Kind, json: string, deviceId: string): string {
  const v = JSON.parse(json) as Record<string, unknown>;
  const suffix = ` (conflict from ${deviceId})`;
  if (kind === "saved_query") v.title = `${String(v.title ?? "")}${suffix}`;
  if (kind === "connection") v.name = `${String(v.name ?? "")}${suffix}`;
  return JSON.stringify(v);
}

/** What a resolved conflict row keeps of its resolution (JSON in `sync_conflicts.resolution`). */
interface StoredResolution {
  how: Resolution["case"];
  /** The record's version the resolution wrote. */
  version: number;
  /** keep_both: the record made of the device's side. */
  copyId?: string;
  /** merged: SHA-256 of the merged payload, so a retry is told from a merge of other content. */
  payloadSha256?: string;
}

const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

function storedResolution(how: Resolution["case"], version: number, copyId: string | undefined, mergedPayload: string | undefined): StoredResolution {
  return { how, version, copyId, payloadSha256: mergedPayload === undefined ? undefined : sha256(mergedPayload) };
}

/** Whether a resolution asked now is the one made before (a retry). Merges resolved before the hash was kept match any merge. */
function sameChoice(previous: StoredResolution, how: Resolution["case"], mergedPayload: string | undefined): boolean {
  if (previous.how !== how) return false;
  if (how !== "merged" || previous.payloadSha256 === undefined || mergedPayload === undefined) return true;
  return previous.payloadSha256 === sha256(mergedPayload);
}

/** The resolution's name as the request spells it (the proto field). */
const RESOLUTION_FIELD: Record<Resolution["case"], string> = { keepServer: "keep_server", keepClient: "keep_client", keepBoth: "keep_both", merged: "merged" };

function alreadyResolved(conflict: ConflictRow, previous: StoredResolution, record: RecordRow) {
  const earlier = RESOLUTION_FIELD[previous.how] ?? String(previous.how);
  const metadata: Record<string, string> = {
    resolution: earlier,
    resolved_at: new Date(conflict.resolvedAt!).toISOString(),
    record_id: record.id,
    record_version: String(previous.version),
  };
  if (previous.copyId) metadata.copy_id = previous.copyId;
  return fail(
    R.CONFLICT_ALREADY_RESOLVED,
    `the conflict was already resolved with ${earlier} at ${metadata.resolved_at}; pull to get the result (asking the same resolution again answers it)`,
    { metadata },
  );
}
