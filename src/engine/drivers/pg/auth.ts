import type pg from "pg";
import { EngineError } from "../../driver.js";
import { R } from "../../../common/reasons.js";

/** PostgreSQL's default `scram_iterations`: fewer would let whoever answers make offline guessing cheap. */
export const MIN_SCRAM_ITERATIONS = 4_096;

export const passwordRefused = (why: string) =>
  new EngineError(
    `the password was not sent: ${why}. It goes only over verified TLS (ssl_mode verify-ca or verify-full) or to a SCRAM-SHA-256 exchange`,
    R.PASSWORD_NOT_SENT,
    { field: "ssl_mode" },
  );

interface AuthHooks {
  _handleAuthCleartextPassword(msg: unknown): void;
  _handleAuthMD5Password(msg: unknown): void;
  _handleAuthSASLContinue(msg: { data: string }): Promise<void>;
  connection: { emit(event: string, ...args: unknown[]): boolean; stream: { destroy(): void } };
}

/**
 * Makes a pg Client refuse to send the password (or anything derived from it that can be cracked
 * offline) where it could be read: cleartext and md5 requests only over verified TLS, SCRAM only
 * with at least MIN_SCRAM_ITERATIONS. pg binds its handlers when it connects, so these instance
 * methods replace its own; the refusal fails the connect before a byte of the password is written.
 * These handlers are pg's internals, not its API: test/unit/engine/pg-internals.test.ts fails when
 * pg renames or stops binding them.
 */
export function guardPassword(client: pg.Client, verifiedTls: boolean): void {
  const c = client as unknown as AuthHooks;
  const refuse = (why: string) => {
    c.connection.emit("error", passwordRefused(why));
    c.connection.stream.destroy();
  };
  const cleartext = c._handleAuthCleartextPassword;
  const md5 = c._handleAuthMD5Password;
  const scram = c._handleAuthSASLContinue;
  c._handleAuthCleartextPassword = function (msg) {
    if (!verifiedTls) return refuse("the server asked for it in clear text over a connection that is not verified TLS");
    cleartext.call(this, msg);
  };
  c._handleAuthMD5Password = function (msg) {
    if (!verifiedTls) return refuse("the server asked for an md5 hash (crackable offline) over a connection that is not verified TLS");
    md5.call(this, msg);
  };
  c._handleAuthSASLContinue = async function (msg) {
    const iterations = Number(/(?:^|,)i=(\d+)/.exec(msg.data)?.[1] ?? 0);
    if (iterations < MIN_SCRAM_ITERATIONS) return refuse(`the server asked for SCRAM with ${iterations} iterations (at least ${MIN_SCRAM_ITERATIONS})`);
    return scram.call(this, msg);
  };
}
