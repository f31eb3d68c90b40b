/**
 * This browser's copy of the user's library, kept in localStorage (per user): the records as the
 * server last sent them, the changes made here and not yet pushed (offline-first: an edit is
 * applied at once and queued), the pull cursor, and the device id this browser syncs as.
 */
export type Kind = "saved_query" | "history" | "connection";

/** Proto JSON of the payload (SavedQuery, HistoryEntry, ConnectionProfile). */
export type Payload = Record<string, unknown>;

export interface ServerRecord {
  id: string;
  kind: Kind;
  version: number;
  seq: number;
  deleted: boolean;
  payload: Payload | null;
  updatedAt: number;
}

export interface PendingChange {
  mutationId: string;
  recordId: string;
  kind: Kind;
  baseVersion: number;
  delete: boolean;
  payload: Payload | null;
  /** When it was made here (for display only; ordering is the server's). */
  at: number;
}

export interface LocalLibrary {
  deviceId: string;
  cursor: number;
  records: Record<string, ServerRecord>;
  pending: PendingChange[];
}

const DEVICE = "sqlstudio.deviceId";
const key = (userId: string) => `sqlstudio.library.${userId}`;

/** One id per browser profile, made once: the browser is a sync device like the desktop app. */
export function deviceId(): string {
  let id = localStorage.getItem(DEVICE);
  if (!id) {
    id = `web-${crypto.randomUUID()}`;
    localStorage.setItem(DEVICE, id);
  }
  return id;
}

export function loadLibrary(userId: string): LocalLibrary {
  try {
    const saved = JSON.parse(localStorage.getItem(key(userId)) ?? "null") as LocalLibrary | null;
    if (saved && saved.records && Array.isArray(saved.pending)) return { ...saved, deviceId: deviceId() };
  } catch {
    /* damaged: start over from the server */
  }
  return { deviceId: deviceId(), cursor: 0, records: {}, pending: [] };
}

/** History is capped here (the server keeps its own retention): the newest 1,000 entries. */
export function saveLibrary(userId: string, lib: LocalLibrary): void {
  const history = Object.values(lib.records).filter((r) => r.kind === "history");
  if (history.length > 1000) {
    history.sort((a, b) => b.seq - a.seq);
    for (const r of history.slice(1000)) delete lib.records[r.id];
  }
  try {
    localStorage.setItem(key(userId), JSON.stringify(lib));
  } catch {
    // Storage full: keep only what cannot be fetched again (the pending changes).
    localStorage.setItem(key(userId), JSON.stringify({ ...lib, cursor: 0, records: {} }));
  }
}
