import type { Runtime } from "../common/runtime.js";
import { accountDeletedEmail, emailChangeNoticeEmail, verificationEmail } from "../email/templates.js";
import type { Logger } from "../observability/logger.js";
import type { AuthContext, RequestInfo } from "../common/caller.js";
import { resourceExhausted, fail, R } from "../common/errors.js";
import type { AccountDataStore } from "./account-store.js";
import type { Sessions } from "./sessions.js";
import { exportDocument, type ExportSources } from "./export.js";
import type { AccountMail } from "./mail.js";
import type { PasswordHasher } from "./passwords.js";
import {
  alreadyExists,
  emailLink,
  nameFor,
  passwordRequired,
  SECURE_TOKEN_TTL_MS,
  securityEvent,
  VERIFY_TOKEN_TTL_MS,
  wrongPassword,
} from "./shared.js";
import { uniqueViolation, type AuthStore, type UserRow } from "./store.js";
import { hashToken, newOpaqueToken } from "./tokens.js";

/** An export is a few MB for a heavy user; past this it would not fit one response. */
export const MAX_EXPORT_BYTES = 48 * 1024 * 1024;
export const exportLimit = { max: 10, windowMs: 3_600_000 };

export interface ProfilesDeps {
  store: AuthStore;
  data: AccountDataStore;
  sessions: Sessions;
  hasher: PasswordHasher;
  mail: AccountMail;
  runtime: Runtime;
  publicUrl: string | (() => string);
  logger: Logger;
  sources: ExportSources;
  /** Removes the bytes of deleted rows from a local database file (db/scrub.ts). */
  scrub: () => Promise<unknown>;
  /** What the account holds outside the database: released before its rows go, removed after. */
  resources: { release(userId: string): Promise<void>; remove(userId: string): Promise<void> };
}

/** The signed-in user's own account: profile and email changes, deletion, export. */
export class Profiles {
  constructor(private readonly d: ProfilesDeps) {}

  /**
   * Changes the display name and username at once; a new email needs the current password and
   * only becomes the account's address when its verification link is used. The address it
   * leaves is told, with a link that secures the account (ResetPassword) for 7 days.
   */
  async updateProfile(
    auth: AuthContext,
    requested: { displayName?: string; username?: string; email?: string },
    currentPassword: string | undefined,
    info: RequestInfo,
  ): Promise<UserRow> {
    const { store, runtime } = this.d;
    const user = await this.d.sessions.requireUser(auth);
    const changes = { ...requested };
    if (changes.email === user.email) delete changes.email;
    if (changes.username === user.username) delete changes.username;
    if (changes.displayName === user.displayName) delete changes.displayName;
    if (Object.keys(changes).length === 0) return user;
    if (changes.email !== undefined) {
      if (!currentPassword) throw passwordRequired();
      if (!(await this.d.hasher.verify(currentPassword, user.passwordHash))) throw wrongPassword();
    }
    const usernameChanged = changes.username !== undefined && changes.username.toLowerCase() !== user.username.toLowerCase();
    const taken = await store.emailOrUsernameTaken(changes.email, usernameChanged ? changes.username : undefined, user.id);
    if (taken) throw alreadyExists(taken);
    const now = runtime.now();
    const events = [];
    const { email, ...fields } = changes;
    if (Object.keys(fields).length > 0) {
      events.push(securityEvent(runtime, { userId: user.id, type: "profile_updated", info, sessionId: auth.sessionId, details: { fields: Object.keys(fields).sort().join(",") } }));
    }
    let emailChange;
    const verifyToken = newOpaqueToken(runtime);
    const secureToken = newOpaqueToken(runtime);
    if (email !== undefined) {
      // Two emails: the verification to the new address, the notice to the current one.
      await this.d.mail.reserveOrRefuse(user.id, [email, user.email]);
      events.push(securityEvent(runtime, { userId: user.id, type: "email_change_requested", info, sessionId: auth.sessionId }));
      emailChange = {
        next: email,
        current: user.email,
        verify: { hash: hashToken(verifyToken), expiresAt: now + VERIFY_TOKEN_TTL_MS },
        secure: { hash: hashToken(secureToken), expiresAt: now + SECURE_TOKEN_TTL_MS },
      };
    }
    try {
      await store.updateProfile(user.id, fields, now, events, emailChange);
    } catch (e) {
      const field = uniqueViolation(e);
      if (field) throw alreadyExists(field);
      throw e;
    }
    if (email !== undefined) {
      this.d.mail.enqueueReserved(verificationEmail(email, emailLink(this.d.publicUrl, "verify-email", verifyToken)));
      const link = emailLink(this.d.publicUrl, "reset-password", secureToken);
      this.d.mail.enqueueReserved(emailChangeNoticeEmail(user.email, nameFor(user, user.email), link, SECURE_TOKEN_TTL_MS / 86_400_000));
    }
    return (await store.userById(user.id))!;
  }

  /**
   * Deletes the account and every row of it in every feature, ends its sessions on every
   * instance (their rows are gone: the next check fails), scrubs the freed bytes from a local
   * database file and removes the user's own SQLite folder. A verified address is told.
   */
  async deleteAccount(auth: AuthContext, currentPassword: string): Promise<void> {
    const user = await this.d.sessions.requireUser(auth);
    if (!(await this.d.hasher.verify(currentPassword, user.passwordHash))) throw wrongPassword();
    const addresses = [user.email, ...(user.pendingEmail ? [user.pendingEmail] : [])];
    const identifiers = [`user:${user.id}`, `id:${user.username.toLowerCase()}`, ...addresses.map((a) => `id:${a}`)];
    const buckets = [...this.d.mail.buckets(user.id, addresses), `resend:user:${user.id}`, `reset:email:${user.id}`, `export:user:${user.id}`];
    await this.d.resources.release(user.id);
    const sessions = await this.d.data.deleteUser(user.id, { identifiers, buckets });
    this.d.sessions.forgetUserSessions(user.id);
    this.d.sessions.revoked(user.id, sessions);
    try {
      await this.d.scrub();
    } catch (err) {
      this.d.logger.error({ err }, "account deleted, but the freed database pages could not be scrubbed");
    }
    try {
      await this.d.resources.remove(user.id);
    } catch (err) {
      this.d.logger.error({ err }, "account deleted, but its SQLite folder could not be removed");
    }
    this.d.logger.info({ sessions: sessions.length }, "account deleted");
    // Only an address that agreed to hear from this account (verified) is told; not counted in
    // the mail limits, which would keep a trace of the address.
    if (user.emailVerified) this.d.mail.enqueueReserved(accountDeletedEmail(user.email, nameFor(user, user.email)));
  }

  /** Everything the server keeps of the caller, as one JSON document. */
  async exportMyData(auth: AuthContext): Promise<{ document: string; fileName: string }> {
    const { store, runtime } = this.d;
    const user = await this.d.sessions.requireUser(auth);
    const now = runtime.now();
    const windowStart = now - (now % exportLimit.windowMs);
    if ((await store.hit(`export:user:${user.id}`, windowStart, now)) > exportLimit.max) {
      throw resourceExhausted("too many exports; try again later", exportLimit.windowMs - (now % exportLimit.windowMs));
    }
    const [sessions, events, connections, records] = await Promise.all([
      this.d.data.sessions(user.id),
      this.d.data.events(user.id),
      this.d.sources.connections(user.id),
      this.d.sources.records(user.id),
    ]);
    const document = JSON.stringify(exportDocument({ user, sessions, events, connections, records }, now), null, 2);
    if (Buffer.byteLength(document) > MAX_EXPORT_BYTES) {
      throw fail(R.EXPORT_TOO_LARGE, "the export is larger than one response can carry; remove old query history and try again");
    }
    const day = new Date(now).toISOString().slice(0, 10);
    return { document, fileName: `sqlstudio-export-${user.username.toLowerCase()}-${day}.json` };
  }
}
