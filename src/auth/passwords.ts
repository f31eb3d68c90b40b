import { createHash } from "node:crypto";
import bcrypt from "bcrypt";
import { ZxcvbnFactory } from "@zxcvbn-ts/core";
import { adjacencyGraphs, dictionary } from "@zxcvbn-ts/language-common";
import { invalidArgument } from "../server/errors.js";

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 256;
/** zxcvbn score below which a password is refused as common/guessable (0-4 scale). */
const MIN_SCORE = 3;

const zxcvbn = new ZxcvbnFactory({ dictionary, graphs: adjacencyGraphs });

/**
 * Checks a new password: length in characters, no control characters, and not common or
 * guessable (zxcvbn, also against the user's own email and username).
 */
export function checkNewPassword(password: string, field: string, userInputs: string[] = []): void {
  const length = [...password].length;
  if (length < PASSWORD_MIN) throw invalidArgument(field, `must be at least ${PASSWORD_MIN} characters`, "PASSWORD_TOO_SHORT");
  if (length > PASSWORD_MAX) throw invalidArgument(field, `must be at most ${PASSWORD_MAX} characters`, "PASSWORD_TOO_LONG");
  if (/[\u0000-\u001f\u007f]/.test(password)) throw invalidArgument(field, "must not contain control characters", "INVALID_CHARACTERS");
  const result = zxcvbn.check(password, userInputs.filter((s) => s.length > 0));
  if (result.score < MIN_SCORE) {
    const hint = result.feedback.warning ? ` (${result.feedback.warning})` : "";
    throw invalidArgument(field, `is too common or easy to guess${hint}; use a longer phrase`, "PASSWORD_TOO_WEAK");
  }
}

/**
 * bcrypt reads at most 72 bytes. To never truncate silently, the password is first reduced
 * to its SHA-256 (base64, 44 bytes), so every character counts. bcrypt runs on libuv's
 * thread pool (async API): hashing never blocks the event loop.
 */
function prehash(password: string): string {
  return createHash("sha256").update(password, "utf8").digest("base64");
}

export class PasswordHasher {
  private dummy?: Promise<string>;

  constructor(private readonly cost: number) {}

  hash(password: string): Promise<string> {
    return bcrypt.hash(prehash(password), this.cost);
  }

  verify(password: string, hash: string): Promise<boolean> {
    return bcrypt.compare(prehash(password), hash);
  }

  /** Spends the same time as verify() for an unknown account (no timing oracle). */
  async verifyNothing(password: string): Promise<false> {
    this.dummy ??= this.hash("unknown-account-placeholder");
    await bcrypt.compare(prehash(password), await this.dummy);
    return false;
  }
}
