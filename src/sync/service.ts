import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  ChangeResultSchema,
  ChangeStatus,
  ConflictSchema,
  RecordSchema,
  SyncService,
  type Change,
} from "../../gen/sqlstudio/sync/v1/sync_pb.js";
import { userIdOf } from "../common/caller.js";
import { invalidArgument, R } from "../common/errors.js";
import { decodePayload, kindToProto } from "./payload.js";
import type { Result } from "./push.js";
import type { ConflictRow, RecordRow } from "./store.js";
import type { Resolution, Sync } from "./sync.js";


const STATUS = { applied: ChangeStatus.APPLIED, conflict: ChangeStatus.CONFLICT, rejected: ChangeStatus.REJECTED } as const;

export function toRecord(r: RecordRow): MessageInitShape<typeof RecordSchema> {
  return {
    id: r.id,
    version: BigInt(r.version),
    seq: BigInt(r.seq),
    deleted: r.deleted,
    updatedAt: timestampFromMs(r.updatedAt),
    kind: kindToProto[r.kind],
    payload: decodePayload(r.kind, r.payload),
  };
}

function toResult(r: Result): MessageInitShape<typeof ChangeResultSchema> {
  if (r.status === "duplicate") {
    const o = r.original;
    return {
      mutationId: o.mutationId,
      recordId: o.recordId,
      status: ChangeStatus.DUPLICATE,
      originalStatus: STATUS[o.status],
      version: BigInt(o.version),
      conflictId: o.conflictId ?? "",
      reason: o.reason,
      field: o.field,
    };
  }
  return {
    mutationId: r.mutationId,
    recordId: r.recordId,
    status: STATUS[r.status],
    version: r.status === "rejected" ? 0n : BigInt(r.version),
    conflictId: r.status === "conflict" ? r.conflictId : "",
    reason: r.status === "rejected" ? r.reason : "",
    field: r.status === "rejected" ? r.field : "",
  };
}

function toConflict(c: ConflictRow): MessageInitShape<typeof ConflictSchema> {
  const clientPayload = decodePayload(c.kind, c.client.payload) as Change["payload"];
  return {
    id: c.id,
    recordId: c.recordId,
    kind: kindToProto[c.kind],
    baseVersion: BigInt(c.baseVersion),
    server: toRecord({ id: c.recordId, kind: c.kind, version: c.server.version, seq: c.server.seq, deleted: c.server.deleted, payload: c.server.payload, updatedAt: c.server.updatedAt }),
    client: { mutationId: c.client.mutationId, recordId: c.recordId, baseVersion: BigInt(c.baseVersion), delete: c.client.deleted, payload: clientPayload },
    deviceId: c.deviceId,
    createdAt: timestampFromMs(c.createdAt),
    resolved: c.resolvedAt !== null,
    resolvedAt: c.resolvedAt !== null ? timestampFromMs(c.resolvedAt) : undefined,
  };
}

/** sqlstudio.sync.v1.SyncService: check input → Sync → response. */
export function syncService(sync: Sync): ServiceImpl<typeof SyncService> {
  return {
    async push(req, ctx) {
      const out = await sync.push(userIdOf(ctx), req.deviceId, req.clientVersion, req.changes);
      return { results: out.results.map(toResult), headSeq: BigInt(out.headSeq) };
    },
    async pull(req, ctx) {
      const out = await sync.pull(userIdOf(ctx), req.deviceId, Number(req.sinceSeq), req.pageSize);
      return { records: out.records.map(toRecord), nextSeq: BigInt(out.nextSeq), hasMore: out.hasMore, resetRequired: out.resetRequired };
    },
    async listConflicts(req, ctx) {
      const page = await sync.listConflicts(userIdOf(ctx), req.includeResolved, req.pageSize, req.pageToken);
      return { conflicts: page.conflicts.map(toConflict), nextPageToken: page.next };
    },
    async resolveConflict(req, ctx) {
      const r = req.resolution;
      let how: Resolution;
      if (r.case === "keepServer" && r.value) how = { case: "keepServer" };
      else if (r.case === "keepClient" && r.value) how = { case: "keepClient" };
      else if (r.case === "keepBoth" && r.value) how = { case: "keepBoth" };
      else if (r.case === "merged") how = { case: "merged", change: r.value };
      else throw invalidArgument("resolution", "choose keep_server, keep_client, keep_both or merged", R.RESOLUTION_REQUIRED);
      const out = await sync.resolve(userIdOf(ctx), req.conflictId, how);
      return { record: toRecord(out.record), copy: out.copy ? toRecord(out.copy) : undefined, headSeq: BigInt(out.headSeq) };
    },
    async getSyncStatus(_req, ctx) {
      const s = await sync.status(userIdOf(ctx));
      return {
        devices: s.devices.map((d) => ({
          deviceId: d.deviceId,
          clientVersion: d.clientVersion,
          lastPushAt: d.lastPushAt !== null ? timestampFromMs(d.lastPushAt) : undefined,
          lastPullAt: d.lastPullAt !== null ? timestampFromMs(d.lastPullAt) : undefined,
          lastPulledSeq: BigInt(d.lastPulledSeq),
        })),
        headSeq: BigInt(s.headSeq),
        openConflicts: s.openConflicts,
        recordCount: BigInt(s.records),
        quota: {
          usedBytes: BigInt(s.usedBytes),
          limitBytes: BigInt(s.limits.quotaBytes),
          maxRecords: BigInt(s.limits.maxRecordsPerUser),
          maxOpenConflicts: s.limits.maxOpenConflictsPerUser,
          maxOpenConflictsPerRecord: s.limits.maxOpenConflictsPerRecord,
        },
      };
    },
  };
}
