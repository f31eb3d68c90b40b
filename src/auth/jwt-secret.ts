import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Runtime } from "../common/runtime.js";
import type { Logger } from "../observability/logger.js";

/**
 * The HS256 secret of access tokens: JWT_SECRET, else (development) a secret made once and kept
 * in JWT_SECRET_FILE (mode 0600), so tokens and sessions survive a restart, else (no file
 * configured) one for this process only. Production refuses to start without JWT_SECRET.
 */
export function jwtSecret(cfg: { jwtSecret?: string; jwtSecretFile?: string }, runtime: Runtime, logger: Logger): string {
  if (cfg.jwtSecret) return cfg.jwtSecret;
  if (!cfg.jwtSecretFile) {
    logger.warn("JWT_SECRET is not set: using a random secret for this process (tokens end with it)");
    return runtime.random(32).toString("base64url");
  }
  const file = cfg.jwtSecretFile;
  const existing = read(file);
  if (existing !== undefined) return existing;
  const secret = runtime.random(48).toString("base64url");
  mkdirSync(dirname(file), { recursive: true });
  try {
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
    logger.info({ file }, "generated the development JWT secret");
    return secret;
  } catch (err) {
    // Another instance on the same folder made it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return read(file) ?? secret;
    throw err;
  }
}

function read(file: string): string | undefined {
  try {
    const s = readFileSync(file, "utf8").trim();
    if (Buffer.byteLength(s) < 32) throw new Error(`${file} holds less than 32 bytes: delete it to make a new one`);
    return s;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
