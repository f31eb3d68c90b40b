import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import bcrypt from "bcrypt";
import { ZxcvbnFactory } from "@zxcvbn-ts/core";
import { adjacencyGraphs, dictionary } from "@zxcvbn-ts/language-common";
import { invalidArgument, R } from "../common/errors.js";

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
  // Huge input is refused before it is spread into code points (see tooManyCodePoints).
  const length = password.length > 2 * PASSWORD_MAX ? password.length : [...password].length;
  if (length < PASSWORD_MIN) throw invalidArgument(field, `must be at least ${PASSWORD_MIN} characters`, R.PASSWORD_TOO_SHORT);
  if (length > PASSWORD_MAX) throw invalidArgument(field, `must be at most ${PASSWORD_MAX} characters`, R.PASSWORD_TOO_LONG);
  if (/[\u0000-\u001f\u007f]/.test(password)) throw invalidArgument(field, "must not contain control characters", R.INVALID_CHARACTERS);
  const result = zxcvbn.check(password, userInputs.filter((s) => s.length > 0));
  if (result.score < MIN_SCORE) {
    const hint = result.feedback.warning ? ` (${result.feedback.warning})` : "";
    throw invalidArgument(field, `is too common or easy to guess${hint}; use a longer phrase`, R.PASSWORD_TOO_WEAK);
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

/**
 * At most `slots` bcrypt computations at once (default: cores - 1), so a storm of logins
 * queues here instead of taking every core from the event loop; the rest wait their turn.
 */
export class PasswordHasher {
  private dummy?: Promise<string>;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly cost: number,
    private readonly slots = Math.max(1, availableParallelism() - 1),
  ) {}

  private async limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.slots) await new Promise<void>((r) => this.waiting.push(r));
    else this.active++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  hash(password: string): Promise<string> {
    return this.limited(() => bcrypt.hash(prehash(password), this.cost));
  }

  verify(password: string, hash: string): Promise<boolean> {
    return this.limited(() => bcrypt.compare(prehash(password), hash));
  }

  /** Spends the same time as verify() for an unknown account (no timing oracle). */
  async verifyNothing(password: string): Promise<false> {
    this.dummy ??= this.hash("unknown-account-placeholder");
    const hash = await this.dummy;
    await this.limited(() => bcrypt.compare(prehash(password), hash));
    return false;
  }
}
