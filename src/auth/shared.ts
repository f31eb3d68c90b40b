import type { Runtime } from "../common/runtime.js";
import type { RequestInfo } from "../common/caller.js";
import { fail, R } from "../common/errors.js";
import type { SecurityEventRow, UserRow } from "./store.js";

/** Small pieces both Accounts and Profiles use. */

export const VERIFY_TOKEN_TTL_MS = 24 * 3_600_000;
export const RESET_TOKEN_TTL_MS = 3_600_000;
/** The secure-account link of an email-change notice outlives the change (the owner may read it late). */
export const SECURE_TOKEN_TTL_MS = 7 * 24 * 3_600_000;

export type EventType =
  | "registered"
  | "email_verified"
  | "login_succeeded"
  | "login_failed"
  | "login_locked"
  | "refresh_token_reused"
  | "password_changed"
  | "password_reset"
  | "password_reset_requested"
  | "session_revoked"
  | "profile_updated"
  | "email_change_requested"
  | "email_changed"
  | "account_secured"
  | "connection_moved";

export function securityEvent(
  runtime: Runtime,
  e: { userId: string; type: EventType; info: RequestInfo; sessionId?: string | null; details?: Record<string, string> },
): SecurityEventRow {
  return {
    id: runtime.newId(),
    userId: e.userId,
    type: e.type,
    sessionId: e.sessionId ?? null,
    ipAddress: e.info.ip,
    userAgent: e.info.userAgent,
    details: e.details ?? {},
    createdAt: runtime.now(),
  };
}

/** `${PUBLIC_URL}/<path>?token=…`; PUBLIC_URL may be decided at start (the listening address). */
export function emailLink(publicUrl: string | (() => string), path: string, token: string): string {
  const base = typeof publicUrl === "function" ? publicUrl() : publicUrl;
  return `${base.replace(/\/$/, "")}/${path}?token=${encodeURIComponent(token)}`;
}

/**
 * The name to greet a recipient with: only the account's own verified address hears the
 * user-chosen display name or username; any other address gets a generic greeting.
 */
export function nameFor(user: UserRow, to: string): string | undefined {
  return user.emailVerified && to === user.email ? user.displayName || user.username : undefined;
}

export const wrongPassword = () => fail(R.WRONG_PASSWORD, "current_password: is not the account's password");
export const passwordRequired = () =>
  fail(R.PASSWORD_REQUIRED, "current_password: is required to change the email address");

export function alreadyExists(field: "email" | "username") {
  return fail(field === "email" ? R.EMAIL_TAKEN : R.USERNAME_TAKEN, `${field}: is already in use`);
}
