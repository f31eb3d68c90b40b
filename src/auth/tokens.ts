import { createHash, createHmac } from "node:crypto";
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
  async verify(token: string): Promise<AccessClaims | undefined> {
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
      return { sub: payload.sub, sid: payload.sid, role, email_verified: payload.email_verified === true };
    } catch {
      return undefined;
    }
  }
}

/** Opaque random tokens (refresh and email tokens): only their SHA-256 is stored. */
export function newOpaqueToken(runtime: Runtime): string {
  return runtime.random(32).toString("base64url");
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}
