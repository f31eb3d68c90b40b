/**
 * The library, synced: saved queries and history (and the connection profiles of other devices)
 * through SyncService, with this browser as a device. Edits apply here at once and are queued;
 * the queue is pushed when online (now, on reconnect, after a failed try). A poke on the realtime
 * socket, a reconnect or a push triggers a pull. Conflicts are listed from the server and shown
 * by pages/conflicts.
 */
import { fromJson, toJson } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { effect, signal } from "@preact/signals";
import {
  ChangeStatus,
  ConnectionProfileSchema,
  HistoryEntrySchema,
  RecordKind,
  SavedQuerySchema,
  type Change,
  type Conflict,
  type Record as SyncRecord,
} from "@gen/sqlstudio/sync/v1/sync_pb.js";
import { problemOf, type Problem } from "../api/errors.js";
import { session } from "../api/session.js";
import { api } from "../api/transport.js";
import { Realtime } from "./realtime.js";
import { loadLibrary, saveLibrary, type Kind, type LocalLibrary, type Payload, type PendingChange, type ServerRecord } from "./store.js";

export const CLIENT_VERSION = "web-console/1";

/** What the pages read. */
export const library = signal<LocalLibrary | undefined>(undefined);
export const conflicts = signal<Conflict[]>([]);
export const syncState = signal<{ online: boolean; syncing: boolean; live: boolean; problem?: Problem; rejected: { recordId: string; reason: string }[] }>({
  online: navigator.onLine,
  syncing: false,
  live: false,
  rejected: [],
});

const KINDS: Record<Kind, RecordKind> = { saved_query: RecordKind.SAVED_QUERY, history: RecordKind.HISTORY, connection: RecordKind.CONNECTION };
const kindOf = (k: RecordKind): Kind | undefined => (k === RecordKind.SAVED_QUERY ? "saved_query" : k === RecordKind.HISTORY ? "history" : k === RecordKind.CONNECTION ? "connection" : undefined);

let userId = "";
let realtime: Realtime | undefined;
let pushTimer: ReturnType<typeof setTimeout> | undefined;

function commit(lib: LocalLibrary): void {
  library.value = { ...lib };
  saveLibrary(userId, lib);
}

function payloadOf(r: SyncRecord): Payload | null {
  const p = r.payload;
  if (p.case === "savedQuery") return toJson(SavedQuerySchema, p.value) as Payload;
  if (p.case === "history") return toJson(HistoryEntrySchema, p.value) as Payload;
  if (p.case === "connection") return toJson(ConnectionProfileSchema, p.value) as Payload;
  return null;
}

export function changePayload(kind: Kind, payload: Payload): Change["payload"] {
  if (kind === "saved_query") return { case: "savedQuery", value: fromJson(SavedQuerySchema, payload as never) };
  if (kind === "history") return { case: "history", value: fromJson(HistoryEntrySchema, payload as never) };
  return { case: "connection", value: fromJson(ConnectionProfileSchema, payload as never) };
}

// ── the view: server records with the pending changes on top ───────────────

export interface Item {
  id: string;
  kind: Kind;
  version: number;
  payload: Payload;
  /** Changed here and not pushed yet. */
  pending: boolean;
}

export function items(lib: LocalLibrary | undefined, kind: Kind): Item[] {
  if (!lib) return [];
  const out = new Map<string, Item>();
  for (const r of Object.values(lib.records)) if (r.kind === kind && !r.deleted && r.payload) out.set(r.id, { id: r.id, kind, version: r.version, payload: r.payload, pending: false });
  for (const c of lib.pending) {
    if (c.kind !== kind) continue;
    if (c.delete) out.delete(c.recordId);
    else out.set(c.recordId, { id: c.recordId, kind, version: lib.records[c.recordId]?.version ?? 0, payload: c.payload!, pending: true });
  }
  return [...out.values()];
}

// ── edits (offline-first) ───────────────────────────────────────────────────

/** Writes a record here and queues the change; returns its id. */
export function write(kind: Kind, id: string | undefined, payload: Payload | null): string {
  const lib = library.value!;
  const recordId = id ?? crypto.randomUUID();
  // One queued change per record: a later edit replaces an earlier one not pushed yet (same base).
  const earlier = lib.pending.find((c) => c.recordId === recordId);
  const change: PendingChange = {
    mutationId: crypto.randomUUID(),
    recordId,
    kind,
    baseVersion: earlier ? earlier.baseVersion : lib.records[recordId]?.version ?? 0,
    delete: payload === null,
    payload,
    at: Date.now(),
  };
  lib.pending = [...lib.pending.filter((c) => c.recordId !== recordId), change];
  if (payload === null && change.baseVersion === 0) lib.pending = lib.pending.filter((c) => c.recordId !== recordId);
  commit(lib);
  schedulePush(0);
  return recordId;
}

function schedulePush(ms: number): void {
  clearTimeout(pushTimer);
  pushTimer = setTimeout(() => void sync(), ms);
}

// ── push, pull, conflicts ───────────────────────────────────────────────────

async function push(lib: LocalLibrary): Promise<boolean> {
  const batch = lib.pending.slice(0, 100);
  if (batch.length === 0) return false;
  const r = await api.sync.push({
    deviceId: lib.deviceId,
    clientVersion: CLIENT_VERSION,
    changes: batch.map((c) => ({ mutationId: c.mutationId, recordId: c.recordId, baseVersion: BigInt(c.baseVersion), delete: c.delete, payload: c.delete ? { case: undefined } : changePayload(c.kind, c.payload!) })),
  });
  const done = new Set<string>();
  const applied = new Map<string, number>();
  let conflicted = false;
  const rejected = [...syncState.value.rejected];
  for (const res of r.results) {
    done.add(res.mutationId);
    const status = res.status === ChangeStatus.DUPLICATE ? res.originalStatus : res.status;
    if (status === ChangeStatus.CONFLICT) conflicted = true;
    if (status === ChangeStatus.REJECTED) rejected.push({ recordId: res.recordId, reason: res.reason });
    if (status === ChangeStatus.APPLIED) applied.set(res.recordId, Number(res.version));
  }
  // Only drop what the server answered, and only if it was not edited again meanwhile.
  const now = library.value!;
  // An edit made while its record's earlier change was in flight is based on what that change became.
  now.pending = now.pending
    .filter((c) => !done.has(c.mutationId))
    .map((c) => (applied.has(c.recordId) && c.baseVersion < applied.get(c.recordId)! ? { ...c, baseVersion: applied.get(c.recordId)! } : c));
  commit(now);
  syncState.value = { ...syncState.value, rejected };
  if (conflicted) await loadConflicts();
  return true;
}

async function pull(lib: LocalLibrary): Promise<void> {
  for (let pages = 0; pages < 100; pages++) {
    const r = await api.sync.pull({ deviceId: lib.deviceId, sinceSeq: BigInt(lib.cursor), pageSize: 500 });
    if (r.resetRequired) {
      lib.records = {};
      lib.cursor = 0;
      continue;
    }
    for (const rec of r.records) {
      const kind = kindOf(rec.kind);
      if (!kind) continue;
      const row: ServerRecord = { id: rec.id, kind, version: Number(rec.version), seq: Number(rec.seq), deleted: rec.deleted, payload: rec.deleted ? null : payloadOf(rec), updatedAt: rec.updatedAt ? timestampDate(rec.updatedAt).getTime() : 0 };
      lib.records[rec.id] = row;
    }
    lib.cursor = Number(r.nextSeq);
    commit(lib);
    if (!r.hasMore) return;
  }
}

export async function loadConflicts(): Promise<void> {
  const r = await api.sync.listConflicts({ pageSize: 200 });
  conflicts.value = r.conflicts.filter((c) => !c.resolved);
}

let running: Promise<void> | undefined;
let again = false;

/** Push what is queued, then pull; one at a time (a call during a sync runs once more after it). */
export function sync(): Promise<void> {
  if (running) {
    again = true;
    return running;
  }
  running = (async () => {
    do {
      again = false;
      const lib = library.value;
      if (!lib || !navigator.onLine) return;
      syncState.value = { ...syncState.value, syncing: true };
      try {
        while (await push(library.value!)) if (library.value!.pending.length === 0) break;
        await pull(library.value!);
        syncState.value = { ...syncState.value, syncing: false, problem: undefined };
      } catch (e) {
        syncState.value = { ...syncState.value, syncing: false, problem: problemOf(e) };
        schedulePush(10_000);
      }
    } while (again);
  })().finally(() => (running = undefined));
  return running;
}

export function dismissRejected(recordId: string): void {
  syncState.value = { ...syncState.value, rejected: syncState.value.rejected.filter((r) => r.recordId !== recordId) };
}

// ── lifecycle: follows the session and the network ──────────────────────────

function start(user: string): void {
  userId = user;
  library.value = loadLibrary(user);
  realtime = new Realtime({
    syncChanged: (_head, device) => {
      if (device !== library.value?.deviceId) void sync();
      // A resolution (device "") or anyone's push may close or open conflicts.
      void loadConflicts().catch(() => undefined);
    },
    conflictCreated: () => void loadConflicts().catch(() => undefined),
    live: (live) => {
      syncState.value = { ...syncState.value, live };
    },
    connected: () => {
      syncState.value = { ...syncState.value, live: true };
      void sync();
      void loadConflicts().catch(() => undefined);
    },
  });
  realtime.start();
  void sync();
  void loadConflicts().catch(() => undefined);
}

function stop(): void {
  realtime?.stop();
  realtime = undefined;
  clearTimeout(pushTimer);
  library.value = undefined;
  conflicts.value = [];
  userId = "";
}

effect(() => {
  const id = session.value?.user.id;
  if (id && id !== userId) {
    if (userId) stop();
    start(id);
  } else if (!id && userId) stop();
});

window.addEventListener("online", () => {
  syncState.value = { ...syncState.value, online: true };
  realtime?.kick();
  void sync();
});
window.addEventListener("offline", () => {
  syncState.value = { ...syncState.value, online: false };
});

export { KINDS };
