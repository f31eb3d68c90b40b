import type { SecurityEventRow, SessionRow, UserRow } from "./store.js";

/** What other features hold of a user, for ExportMyData (wired in features.ts). */
export interface ExportSources {
  /** Engine connection profiles, without any secret (hasPassword says whether one is stored). */
  connections(userId: string): Promise<Record<string, unknown>[]>;
  /** The synced library: live records of every kind, payloads as JSON values. */
  records(userId: string): Promise<{ id: string; kind: string; version: number; updatedAt: number; payload: unknown }[]>;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * The export document (docs/export.md): one JSON object, versioned, with everything the server
 * keeps of the user. No secret is in it: no password hash, no token, no stored database password.
 */
export function exportDocument(
  parts: {
    user: UserRow;
    sessions: (SessionRow & { revokedReason: string | null })[];
    events: SecurityEventRow[];
    connections: Record<string, unknown>[];
    records: { id: string; kind: string; version: number; updatedAt: number; payload: unknown }[];
  },
  now: number,
): Record<string, unknown> {
  const { user } = parts;
  const library = (kind: string) =>
    parts.records.filter((r) => r.kind === kind).map((r) => ({ id: r.id, version: r.version, updatedAt: iso(r.updatedAt), ...(r.payload as object) }));
  return {
    format: "sqlstudio-export",
    version: 1,
    exportedAt: iso(now),
    profile: {
      id: user.id,
      email: user.email,
      pendingEmail: user.pendingEmail,
      emailVerified: user.emailVerified,
      username: user.username,
      displayName: user.displayName,
      role: user.role,
      createdAt: iso(user.createdAt),
      passwordChangedAt: iso(user.passwordChangedAt),
    },
    sessions: parts.sessions.map((s) => ({
      id: s.id,
      deviceName: s.deviceName,
      userAgent: s.userAgent,
      ipAddress: s.ipAddress,
      createdAt: iso(s.createdAt),
      lastSeenAt: iso(s.lastSeenAt),
      expiresAt: iso(s.expiresAt),
      revokedAt: iso(s.revokedAt),
      revokedReason: s.revokedReason,
    })),
    securityEvents: parts.events.map((e) => ({
      id: e.id,
      type: e.type,
      createdAt: iso(e.createdAt),
      ipAddress: e.ipAddress,
      userAgent: e.userAgent,
      sessionId: e.sessionId,
      details: e.details,
    })),
    connectionProfiles: parts.connections,
    library: { connections: library("connection"), savedQueries: library("saved_query"), history: library("history") },
  };
}
