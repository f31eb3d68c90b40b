import type { Runtime } from "../common/runtime.js";
import { passwordChangedEmail, passwordResetEmail, verificationEmail } from "../email/templates.js";
import type { AuthContext, RequestInfo } from "../common/caller.js";
import { fail, R } from "../common/errors.js";
import { rateLimits, type AbuseGuard } from "./abuse.js";
import type { AccountMail } from "./mail.js";
import { checkNewPassword, type PasswordHasher } from "./passwords.js";
import type { Sessions } from "./sessions.js";
import { alreadyExists, emailLink, nameFor, RESET_TOKEN_TTL_MS, securityEvent, VERIFY_TOKEN_TTL_MS } from "./shared.js";
import { uniqueViolation, type AuthStore, type UserRow } from "./store.js";
import { hashToken, newOpaqueToken } from "./tokens.js";

export interface EmailFlowsDeps {
  store: AuthStore;
  hasher: PasswordHasher;
  mail: AccountMail;
  guard: AbuseGuard;
  sessions: Sessions;
  runtime: Runtime;
  /** Where email links point: PUBLIC_URL, or a function of the listening address. */
  publicUrl: string | (() => string);
}

/** The flows driven by an emailed link: registration and its verification, password reset. */
export class EmailFlows {
  constructor(private readonly d: EmailFlowsDeps) {}

  private link(path: string, token: string): string {
    return emailLink(this.d.publicUrl, path, token);
  }

  async register(input: { email: string; username: string; password: string; displayName: string }, info: RequestInfo): Promise<UserRow> {
    const { store, runtime } = this.d;
    checkNewPassword(input.password, "password", [input.email, input.username, input.displayName]);
    await this.d.guard.enforce(`register:ip:${info.ip}`, rateLimits.registerPerIp, "registrations from this address");
    const taken = await store.emailOrUsernameTaken(input.email, input.username);
    if (taken) throw alreadyExists(taken);
    const now = runtime.now();
    const id = runtime.newId();
    const passwordHash = await this.d.hasher.hash(input.password);
    const token = newOpaqueToken(runtime);
    try {
      await store.createUser(
        { id, email: input.email, username: input.username, displayName: input.displayName, passwordHash, now },
        { hash: hashToken(token), expiresAt: now + VERIFY_TOKEN_TTL_MS },
        securityEvent(runtime, { userId: id, type: "registered", info }),
      );
    } catch (e) {
      const field = uniqueViolation(e);
      if (field) throw alreadyExists(field);
      throw e;
    }
    // The account exists whatever the mail limits say (ResendVerificationEmail can follow).
    await this.d.mail.sendOrSkip(id, verificationEmail(input.email, this.link("verify-email", token)));
    return (await store.userById(id))!;
  }

  async verifyEmail(token: string, info: RequestInfo): Promise<UserRow> {
    const { store, runtime } = this.d;
    const now = runtime.now();
    const done = await store.verifyEmail(hashToken(token), now, (uid, changed) => [
      securityEvent(runtime, { userId: uid, type: "email_verified", info }),
      ...(changed ? [securityEvent(runtime, { userId: uid, type: "email_changed", info })] : []),
    ]);
    if (done === "taken") throw alreadyExists("email");
    if (!done) throw fail(R.TOKEN_INVALID_OR_USED, "the verification link is invalid, expired or already used");
    this.d.sessions.forgetUserSessions(done.userId);
    return (await store.userById(done.userId))!;
  }

  async resendVerification(auth: AuthContext): Promise<boolean> {
    const { store, runtime, mail } = this.d;
    const user = await this.d.sessions.requireUser(auth);
    if (user.emailVerified) return false;
    await this.d.guard.enforce(`resend:user:${user.id}`, rateLimits.resendPerUser, "verification emails");
    const now = runtime.now();
    const token = newOpaqueToken(runtime);
    await mail.reserveOrRefuse(user.id, [user.email]);
    await store.addEmailToken({ hash: hashToken(token), userId: user.id, purpose: "verify_email", email: user.email, expiresAt: now + VERIFY_TOKEN_TTL_MS }, now);
    mail.enqueueReserved(verificationEmail(user.email, this.link("verify-email", token)));
    return true;
  }

  /** Always answers OK; sends a link only to an existing account, within limits. */
  async requestPasswordReset(email: string, info: RequestInfo): Promise<void> {
    const { store, runtime, mail } = this.d;
    await this.d.guard.enforce(`reset:ip:${info.ip}`, rateLimits.resetPerIp, "password reset requests from this address");
    const user = await store.userByIdentifier(email);
    // No bcrypt here, and one write either way (the counters, plus the token for an account), so
    // an unknown email answers as fast as a known one.
    if (!user) {
      await mail.reserveAlong(undefined, [email], { hits: [], statements: [] });
      return;
    }
    const now = runtime.now();
    const token = newOpaqueToken(runtime);
    const event = securityEvent(runtime, { userId: user.id, type: "password_reset_requested", info });
    const { wait } = await mail.reserveAlong(user.id, [user.email], {
      hits: [{ bucket: `reset:email:${user.id}`, ...rateLimits.resetPerEmail }],
      statements: store.emailTokenStmts({ hash: hashToken(token), userId: user.id, purpose: "reset_password", email: user.email, expiresAt: now + RESET_TOKEN_TTL_MS }, now, event),
    });
    // Over a limit: the token stays unsent (it expires unused); the answer is OK either way.
    if (wait > 0) return;
    mail.enqueueReserved(passwordResetEmail(user.email, nameFor(user, user.email), this.link("reset-password", token)));
  }

  /**
   * Sets a new password with an emailed token and ends every session: a reset link, or the
   * secure-account link of an email-change notice, which also makes the address it was sent to
   * the account's again (verified by the link itself) and drops a pending change.
   */
  async resetPassword(token: string, newPassword: string, info: RequestInfo): Promise<void> {
    const { store, runtime } = this.d;
    const now = runtime.now();
    const hash = hashToken(token);
    const owner = await store.peekEmailToken(hash, ["reset_password", "secure_account"], now);
    const invalid = () => fail(R.TOKEN_INVALID_OR_USED, "the reset link is invalid, expired or already used");
    if (!owner) throw invalid();
    const user = await store.userById(owner.userId);
    if (!user) throw invalid();
    checkNewPassword(newPassword, "new_password", [user.email, user.username, user.displayName]);
    const secure = owner.purpose === "secure_account";
    const events = [securityEvent(runtime, { userId: user.id, type: "password_reset", info })];
    if (secure) events.push(securityEvent(runtime, { userId: user.id, type: "account_secured", info }));
    const revoked = await store.setPassword(user.id, await this.d.hasher.hash(newPassword), now, { consumeTokenHash: hash, restoreEmail: secure ? owner.email : undefined }, events);
    if (revoked === undefined) throw invalid(); // another request consumed the token first
    this.d.sessions.revoked(user.id, revoked);
    this.d.sessions.forgetUserSessions(user.id);
    const after = (await store.userById(user.id)) ?? user;
    await this.d.mail.sendOrSkip(user.id, passwordChangedEmail(after.email, nameFor(after, after.email)));
  }
}
