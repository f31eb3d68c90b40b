import { createHmac, hkdfSync } from "node:crypto";
import type { InStatement } from "@libsql/client";
import type { Runtime } from "../common/runtime.js";
import type { Email, Outbox } from "../email/mailer.js";
import type { Logger } from "../observability/logger.js";
import { resourceExhausted, R } from "../common/errors.js";
import type { AuthStore } from "./store.js";

export interface MailRules {
  perAccount: { max: number; windowMs: number };
  perAddress: { max: number; windowMs: number };
}

/**
 * Every email of an account goes through here: counted per account and per recipient address in
 * the shared rate_limits table (fixed windows, every instance counts together), so no account
 * can turn the product's sender against an inbox, and no inbox gets more than its share whoever
 * asks. Recipient buckets hold a keyed hash of the address, never the address.
 */
export interface AccountMailDeps {
  outbox: Outbox;
  store: AuthStore;
  runtime: Runtime;
  rules: MailRules;
  logger: Logger;
  /** The key of the recipient buckets' hashes is derived from it. */
  secret: string;
}

export class AccountMail {
  private readonly key: Buffer;

  constructor(private readonly d: AccountMailDeps) {
    this.key = Buffer.from(hkdfSync("sha256", Buffer.from(d.secret, "utf8"), Buffer.alloc(0), "sqlstudio:mail-address", 32));
  }

  /** The rate-limit buckets that name an account or an address (DeleteAccount removes them). */
  buckets(userId: string, addresses: string[]): string[] {
    return [`mail:user:${userId}`, ...addresses.map((a) => this.addressBucket(a))];
  }

  private addressBucket(address: string): string {
    return `mail:to:${createHmac("sha256", this.key).update(address.toLowerCase()).digest("base64url").slice(0, 32)}`;
  }

  /**
   * Counts the emails about to go to `to` for the account (one each, all counted together);
   * answers 0 when they may go, else how long until they could.
   */
  async reserve(userId: string, to: string[]): Promise<number> {
    return (await this.reserveAlong(userId, to, { hits: [], statements: [] })).wait;
  }

  /**
   * Like reserve, with more hits and statements in the same batch (one commit): a caller whose
   * answer must not reveal whether an account exists makes the same writes either way (no
   * account: `userId` undefined, only the address is counted).
   */
  async reserveAlong(
    userId: string | undefined,
    to: string[],
    along: { hits: { bucket: string; max: number; windowMs: number }[]; statements: InStatement[] },
  ): Promise<{ wait: number }> {
    const now = this.d.runtime.now();
    const start = (rule: { windowMs: number }) => now - (now % rule.windowMs);
    const wait = (rule: { windowMs: number }) => rule.windowMs - (now % rule.windowMs);
    const rules = [
      ...(userId === undefined ? [] : [{ bucket: `mail:user:${userId}`, by: to.length, ...this.d.rules.perAccount }]),
      ...to.map((a) => ({ bucket: this.addressBucket(a), by: 1, ...this.d.rules.perAddress })),
      ...along.hits.map((h) => ({ ...h, by: 1 })),
    ];
    const counts = await this.d.store.hitMany(
      rules.map((r) => ({ bucket: r.bucket, windowStart: start(r), by: r.by })),
      now,
      along.statements,
    );
    const over = rules.filter((r, i) => counts[i] > r.max);
    return { wait: over.length === 0 ? 0 : Math.max(...over.map(wait)) };
  }

  /** Counts emails about to go; refuses the request (ResourceExhausted MAIL_RATE_LIMITED) when over a limit. */
  async reserveOrRefuse(userId: string, to: string[]): Promise<void> {
    const wait = await this.reserve(userId, to);
    if (wait > 0) throw resourceExhausted("too many emails for this account or address; try again later", wait, R.MAIL_RATE_LIMITED);
  }

  /** Sends an email already counted by reserve / reserveOrRefuse. */
  enqueueReserved(email: Email): void {
    this.d.outbox.enqueue(email);
  }

  /** Sends when within the limits, else drops it (a notice whose action already happened); true when sent. */
  async sendOrSkip(userId: string, email: Email): Promise<boolean> {
    const wait = await this.reserve(userId, [email.to]);
    if (wait > 0) {
      this.d.logger.warn({ kind: email.kind, userId }, "email not sent: the account's or the address's email limit is reached");
      return false;
    }
    this.d.outbox.enqueue(email);
    return true;
  }
}
