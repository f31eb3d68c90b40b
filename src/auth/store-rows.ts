import type { Row } from "@libsql/client";

/** The rows of the auth tables as the code sees them, and their mapping from SQL rows (store.ts). */

export interface UserRow {
  id: string;
  email: string;
  username: string;
  displayName: string;
  passwordHash: string;
  role: "user" | "admin";
  emailVerified: boolean;
  /** A new address waiting for verification (email stays the login address until then). */
  pendingEmail: string | null;
  passwordChangedAt: number;
  createdAt: number;
}

export interface SessionRow {
  id: string;
  userId: string;
  deviceName: string;
  userAgent: string;
  ipAddress: string;
  expiresAt: number;
  revokedAt: number | null;
  lastSeenAt: number;
  createdAt: number;
}

export interface SessionCheck {
  userId: string;
  role: "user" | "admin";
  emailVerified: boolean;
  live: boolean;
  lastSeenAt: number;
}

export interface SecurityEventRow {
  id: string;
  userId: string;
  type: string;
  sessionId: string | null;
  ipAddress: string;
  userAgent: string;
  details: Record<string, string>;
  createdAt: number;
}

export type EmailTokenPurpose = "verify_email" | "reset_password" | "secure_account";

/** An emailed token to store: only its hash, whose it is, what for, the address it went to. */
export interface EmailToken {
  hash: string;
  userId: string;
  purpose: EmailTokenPurpose;
  email: string;
  expiresAt: number;
}

export const USER_COLS = "id, email, username, display_name, password_hash, role, email_verified, pending_email, password_changed_at, created_at";
export const SESSION_COLS = "id, user_id, device_name, user_agent, ip_address, expires_at, revoked_at, last_seen_at, created_at";
export const EVENT_COLS = "id, user_id, type, session_id, ip_address, user_agent, details, created_at";

export function user(r: Row): UserRow {
  return {
    id: String(r.id),
    email: String(r.email),
    username: String(r.username),
    displayName: String(r.display_name),
    passwordHash: String(r.password_hash),
    role: r.role === "admin" ? "admin" : "user",
    emailVerified: Number(r.email_verified) === 1,
    pendingEmail: r.pending_email === null || r.pending_email === undefined ? null : String(r.pending_email),
    passwordChangedAt: Number(r.password_changed_at),
    createdAt: Number(r.created_at),
  };
}

export function session(r: Row): SessionRow {
  return {
    id: String(r.id),
    userId: String(r.user_id),
    deviceName: String(r.device_name),
    userAgent: String(r.user_agent),
    ipAddress: String(r.ip_address),
    expiresAt: Number(r.expires_at),
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
    lastSeenAt: Number(r.last_seen_at),
    createdAt: Number(r.created_at),
  };
}

export function securityEvent(r: Row): SecurityEventRow {
  return {
    id: String(r.id),
    userId: String(r.user_id),
    type: String(r.type),
    sessionId: r.session_id === null ? null : String(r.session_id),
    ipAddress: String(r.ip_address),
    userAgent: String(r.user_agent),
    details: JSON.parse(String(r.details)) as Record<string, string>,
    createdAt: Number(r.created_at),
  };
}

/** Which unique column a constraint error is about, if it is one. */
export function uniqueViolation(err: unknown): "email" | "username" | undefined {
  const msg = String((err as Error)?.message ?? "");
  if (!/UNIQUE constraint failed/i.test(msg)) return undefined;
  if (msg.includes("users.email")) return "email";
  if (msg.includes("users.username_key")) return "username";
  return undefined;
}
