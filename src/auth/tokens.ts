import { createHash, createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import type { Runtime } from "../common/runtime.js";

export interface AccessClaims {
  sub: string;
  sid: string;
  role: "user" | "admin";
  email_verified: boolean;
}

export interface AccessTokenConfig {
  secret: string;
  previousSecret?: string;
  issuer: string;
  audience: string;
  ttlMs: number;
}

interface Key {
  kid: string;
  bytes: Uint8Array;
}

function keyOf(secret: string): Key {
  const bytes = new TextEncoder().encode(secret);
  // The key id names the key without revealing it.
  const kid = createHmac("sha256", bytes).update("sqlstudio-kid").digest("base64url").slice(0, 12);
  return { kid, bytes };
}

/** Short-lived JWT access tokens (HS256, key id for rotation). */
export class AccessTokens {
  private readonly current: Key;
  private readonly keys = new Map<string, Key>();

  constructor(private readonly cfg: AccessTokenConfig, private readonly runtime: Runtime) {
    this.current = keyOf(cfg.secret);
    this.keys.set(this.current.kid, this.current);
    if (cfg.previousSecret) {
      const prev = keyOf(cfg.previousSecret);
      this.keys.set(prev.kid, prev);
    }
  }

  async sign(claims: AccessClaims): Promise<{ token: string; expiresAt: number }> {
    const now = this.runtime.now();
    const expiresAt = now + this.cfg.ttlMs;
    const token = await new SignJWT({ sid: claims.sid, role: claims.role, email_verified: claims.email_verified })
      .setProtectedHeader({ alg: "HS256", kid: this.current.kid, typ: "JWT" })
      .setSubject(claims.sub)
      .setIssuer(this.cfg.issuer)
      .setAudience(this.cfg.audience)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(expiresAt / 1000))
      .sign(this.current.bytes);
    return { token, expiresAt: Math.floor(expiresAt / 1000) * 1000 };
  }

  /** The claims of a valid token, or undefined for anything else (bad signature, expired, wrong audience…). */
  async verify(token: string): Promise<(AccessClaims & { expiresAt: number }) | undefined> {
    try {
      const { payload } = await jwtVerify(
        token,
        (header) => {
          const key = header.kid ? this.keys.get(header.kid) : undefined;
          if (!key) throw new joseErrors.JWKSNoMatchingKey();
          return key.bytes;
        },
        {
          algorithms: ["HS256"],
          issuer: this.cfg.issuer,
          audience: this.cfg.audience,
          currentDate: new Date(this.runtime.now()),
          requiredClaims: ["sub", "sid", "exp", "iat"],
        },
      );
      if (typeof payload.sid !== "string" || typeof payload.sub !== "string") return undefined;
      const role = payload.role === "admin" ? "admin" : "user";
      return { sub: payload.sub, sid: payload.sid, role, email_verified: payload.email_verified === true, expiresAt: payload.exp! * 1000 };
    } catch {
      return undefined;
    }
  }
}

/**
 * Refresh tokens: `<session id>.<32 random bytes>.<MAC>`, stored only as their SHA-256. The MAC
 * (HMAC-SHA256 with a key derived from the server secret) proves the server issued the token,
 * so any authentic token of a session that is not its current one is a reuse, however many
 * rotations ago it was replaced, while a forged token cannot revoke anyone's session.
 */
export class RefreshTokens {
  private readonly keys: Buffer[];

  constructor(secrets: (string | undefined)[], private readonly runtime: Runtime) {
    this.keys = secrets
      .filter((s): s is string => !!s)
      .map((s) => Buffer.from(hkdfSync("sha256", Buffer.from(s, "utf8"), Buffer.alloc(0), "sqlstudio:refresh-mac", 32)));
  }

  private mac(key: Buffer, body: string): string {
    return createHmac("sha256", key).update(body).digest("base64url").slice(0, 22);
  }

  issue(sessionId: string): string {
    const body = `${sessionId}.${this.runtime.random(32).toString("base64url")}`;
    return `${body}.${this.mac(this.keys[0], body)}`;
  }

  /** The session an authentic token belongs to; undefined for anything this server did not issue. */
  sessionOf(token: string): string | undefined {
    const m = REFRESH_TOKEN.exec(token);
    if (!m) return undefined;
    const body = `${m[1]}.${m[2]}`;
    const given = Buffer.from(m[3]);
    return this.keys.some((k) => timingSafeEqual(Buffer.from(this.mac(k, body)), given)) ? m[1] : undefined;
  }
}

export const REFRESH_TOKEN = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{22})$/;

/** Opaque random email tokens: only their SHA-256 is stored. */
export function newOpaqueToken(runtime: Runtime): string {
  return runtime.random(32).toString("base64url");
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}
