import { randomBytes } from "node:crypto";
import { v7 as uuidv7 } from "uuid";

/** Time, ids and randomness, injected everywhere so tests control them. */
export interface Runtime {
  /** ms since epoch, server clock. */
  now(): number;
  /** A new UUIDv7 (time-ordered). */
  newId(): string;
  /** Cryptographically random bytes. */
  random(bytes: number): Buffer;
}

export const systemRuntime: Runtime = {
  now: () => Date.now(),
  newId: () => uuidv7(),
  random: (n) => randomBytes(n),
};
