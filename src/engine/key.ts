import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "../observability/logger.js";

/**
 * The key for stored connection passwords: ENGINE_SECRET_KEY, else (development) a key made
 * once and kept in ENGINE_SECRET_KEY_FILE so passwords survive restarts, else a key for this
 * process only (stored passwords then stop working on restart).
 */
export function engineKey(cfg: { secretKey?: string; secretKeyFile?: string }, logger: Logger): Buffer {
  if (cfg.secretKey) {
    const key = Buffer.from(cfg.secretKey, "base64");
    if (key.length !== 32) throw new Error("ENGINE_SECRET_KEY must be 32 bytes, base64");
    return key;
  }
  if (cfg.secretKeyFile) {
    try {
      const key = Buffer.from(readFileSync(cfg.secretKeyFile, "utf8").trim(), "base64");
      if (key.length === 32) return key;
      throw new Error(`${cfg.secretKeyFile} does not hold 32 bytes, base64`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    const key = randomBytes(32);
    mkdirSync(dirname(cfg.secretKeyFile), { recursive: true });
    writeFileSync(cfg.secretKeyFile, `${key.toString("base64")}\n`, { mode: 0o600, flag: "wx" });
    logger.info({ file: cfg.secretKeyFile }, "generated the key for stored connection passwords");
    return key;
  }
  logger.warn("ENGINE_SECRET_KEY is not set: stored connection passwords will not survive a restart");
  return randomBytes(32);
}
