import { createCipheriv, createDecipheriv, hkdfSync } from "node:crypto";
import type { Runtime } from "../common/runtime.js";

/**
 * AES-256-GCM with a key derived (HKDF) from a server secret and a purpose, so one secret
 * never keys two uses. Output: base64url(iv ‖ tag ‖ ciphertext).
 */
export class Sealer {
  private readonly key: Buffer;

  constructor(secret: string, purpose: string, private readonly runtime: Runtime) {
    this.key = Buffer.from(hkdfSync("sha256", Buffer.from(secret, "utf8"), Buffer.alloc(0), `sqlstudio:${purpose}`, 32));
  }

  seal(plain: string): string {
    const iv = this.runtime.random(12);
    const c = createCipheriv("aes-256-gcm", this.key, iv);
    const body = Buffer.concat([c.update(plain, "utf8"), c.final()]);
    return Buffer.concat([iv, c.getAuthTag(), body]).toString("base64url");
  }

  /** The plaintext, or undefined when the box was not sealed with this key or was altered. */
  open(sealed: string): string | undefined {
    try {
      const buf = Buffer.from(sealed, "base64url");
      const d = createDecipheriv("aes-256-gcm", this.key, buf.subarray(0, 12));
      d.setAuthTag(buf.subarray(12, 28));
      return Buffer.concat([d.update(buf.subarray(28)), d.final()]).toString("utf8");
    } catch {
      return undefined;
    }
  }
}
