import { createHash, createPublicKey, constants, publicEncrypt } from "node:crypto";
import { passwordRefused } from "../pg/auth.js";

/**
 * The profile option that pins the server's RSA public key: the SHA-256 of its DER
 * (SubjectPublicKeyInfo) in hex, or its first 32 or more hex characters (128 bits are plenty for a
 * pin, and sync refuses longer hex strings as secret-looking). `openssl pkey -pubin -in key.pem
 * -outform DER | sha256sum | cut -c1-32`.
 */
export const RSA_PIN_OPTION = "server_rsa_key_sha256";

interface Ctx {
  connection: { config: { password?: string } };
}
type Plugin = (ctx: Ctx) => (data: Buffer) => Buffer | null | Promise<Buffer | null>;

function sha256(b: Buffer | string): Buffer {
  return createHash("sha256").update(b).digest();
}

/** caching_sha2_password's scramble: SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + nonce). */
function scrambleToken(password: string, nonce: Buffer): Buffer {
  if (!password) return Buffer.alloc(0);
  const stage1 = sha256(Buffer.from(password, "utf8"));
  const stage3 = sha256(Buffer.concat([sha256(stage1), nonce]));
  return Buffer.from(stage1.map((b, i) => b ^ stage3[i]));
}

/** The password, NUL-terminated, XORed with the nonce and RSA-OAEP encrypted to `pem` (when its pin matches). */
function encryptTo(pem: Buffer, pin: string | undefined, password: string, nonce: Buffer): Buffer {
  let der: Buffer;
  try {
    der = createPublicKey(pem).export({ type: "spki", format: "der" });
  } catch {
    throw passwordRefused("the server sent an RSA key that is not a public key");
  }
  const got = sha256(der).toString("hex");
  const wanted = (pin ?? "").toLowerCase();
  if (!wanted) throw passwordRefused(`the server asked for the password encrypted to its own RSA key, which the profile does not pin (option ${RSA_PIN_OPTION}=${got.slice(0, 32)} pins this one)`);
  if (!/^[0-9a-f]{32,64}$/.test(wanted) || !got.startsWith(wanted)) throw passwordRefused(`the server's RSA key (${got.slice(0, 32)}…) is not the one the profile pins (${RSA_PIN_OPTION}: 32-64 hex characters of its SHA-256)`);
  const plain = Buffer.from(`${password}\0`, "utf8");
  const xored = Buffer.from(plain.map((b, i) => b ^ nonce[i % nonce.length]));
  return publicEncrypt({ key: pem, oaepHash: "sha1", padding: constants.RSA_PKCS1_OAEP_PADDING }, xored);
}

/**
 * mysql2 auth plugins that never let the password (or something it can be recovered from) go
 * where it can be read: in clear only over verified TLS, RSA-encrypted only to a key the profile
 * pins. The challenge-response plugins (mysql_native_password, caching_sha2_password's fast path)
 * send no password and stay allowed (docs/security.md says what a server learns from them).
 */
export function authPlugins(opts: { verifiedTls: boolean; rsaPin: string | undefined }): Record<string, Plugin> {
  const clear = (why: string) => (ctx: Ctx) => {
    if (!opts.verifiedTls) throw passwordRefused(why);
    return Buffer.from(`${ctx.connection.config.password ?? ""}\0`, "utf8");
  };
  return {
    mysql_clear_password: (ctx) => () => clear("the server asked for it in clear text (mysql_clear_password) over a connection that is not verified TLS")(ctx),

    sha256_password: (ctx) => {
      let nonce = Buffer.alloc(0);
      let waiting = false;
      return (data) => {
        if (opts.verifiedTls) return clear("")(ctx);
        if (!waiting) {
          nonce = Buffer.from(data.subarray(0, 20));
          if (!opts.rsaPin) throw passwordRefused(`the server asked for sha256_password over a connection that is not verified TLS, and the profile pins no RSA key (option ${RSA_PIN_OPTION})`);
          waiting = true;
          return Buffer.from([1]); // ask for the server's key
        }
        return encryptTo(data, opts.rsaPin, ctx.connection.config.password ?? "", nonce);
      };
    },

    caching_sha2_password: (ctx) => {
      let nonce = Buffer.alloc(0);
      let state: "initial" | "token-sent" | "wait-key" = "initial";
      return (data) => {
        const password = ctx.connection.config.password ?? "";
        if (state === "initial") {
          nonce = Buffer.from(data.subarray(0, 20));
          state = "token-sent";
          return scrambleToken(password, nonce);
        }
        if (state === "token-sent") {
          if (data.length === 1 && data[0] === 3) return null; // fast auth succeeded
          if (data.length !== 1 || data[0] !== 4) throw passwordRefused("the server sent an unknown caching_sha2_password message");
          // Full authentication: the password itself is asked for.
          if (opts.verifiedTls) return clear("")(ctx);
          if (!opts.rsaPin) throw passwordRefused(`the server asked for caching_sha2_password full authentication over a connection that is not verified TLS, and the profile pins no RSA key (option ${RSA_PIN_OPTION})`);
          state = "wait-key";
          return Buffer.from([2]); // ask for the server's key
        }
        return encryptTo(data, opts.rsaPin, password, nonce);
      };
    },
  };
}
