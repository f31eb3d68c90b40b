/**
 * Stored database passwords go only where they cannot be read (issue 17 item 4): a profile moved to
 * another engine, host, port or user loses its stored password (a security event says so); the
 * password, or anything cracked from it offline, leaves only over verified TLS or to an exchange that
 * proves the server (SCRAM; an RSA key the profile pins), otherwise FailedPrecondition before a byte
 * of it is sent. Hostile PostgreSQL and MySQL servers log what they were sent; the real server runs as
 * its own process, trusting a test CA (NODE_EXTRA_CA_CERTS) for the verified-TLS cases.
 */
import { execFileSync } from "node:child_process";
import { createHash, createPublicKey, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe as group, expect, it } from "vitest";
import { SslMode } from "../../gen/sqlstudio/database/v1/connection_pb.js";
import { SecurityEventType } from "../../gen/sqlstudio/auth/v1/auth_pb.js";
import { createClient } from "@connectrpc/connect";
import { AuthService } from "../../gen/sqlstudio/auth/v1/auth_pb.js";
import { transportFor } from "../support/engine.js";
import { startHostileMysql, type HostileMysql, type MysqlAuth } from "../support/hostile/mysql.js";
import { startHostilePg, type HostilePg, type PgAuth } from "../support/hostile/pg.js";
import { describe, hostileSpec, limitServer, limitUser, type LimitUser } from "../support/limits.js";
import type { ChildServer } from "../support/server.js";

const PASSWORD = "s3cret-database-password";
let dir: string;
let tlsFiles: { cert: Buffer; key: Buffer };
let server: ChildServer;
let u: LimitUser;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sqlstudio-pw-"));
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], { stdio: "pipe" });
  tlsFiles = { cert: readFileSync(cert), key: readFileSync(key) };
  server = await limitServer({ NODE_EXTRA_CA_CERTS: cert });
  u = await limitUser(server, "pw");
}, 60_000);

afterAll(async () => {
  await server?.stop();
  for (const c of closers) await c();
  rmSync(dir, { recursive: true, force: true });
});

async function pgWith(auth: PgAuth, tls = false): Promise<HostilePg> {
  const s = await startHostilePg({ auth, tls: tls ? tlsFiles : undefined });
  closers.push(() => s.close());
  return s;
}
async function mysqlWith(auth: MysqlAuth, tls = false): Promise<HostileMysql> {
  const s = await startHostileMysql({ auth, tls: tls ? tlsFiles : undefined });
  closers.push(() => s.close());
  return s;
}

const test = (engine: "postgresql" | "mysql", at: { host: string; port: number }, extra: Record<string, unknown> = {}) =>
  u.connections.testConnection({ target: { case: "spec", value: hostileSpec(engine, at, { password: PASSWORD, ...extra }) } }).then(
    () => ({ ok: true as const }),
    (e: unknown) => describe(e),
  );
/** PostgreSQL PasswordMessage / SASL messages the server received. */
const pgPasswordMessages = (s: HostilePg) => s.received.filter((r) => r.kind === "message" && r.type === "p");
const md5Sent = (s: HostilePg) => pgPasswordMessages(s).some((m) => m.body.toString("latin1").startsWith("md5"));

group("PostgreSQL: the password leaves only over verified TLS or to SCRAM", () => {
  it("a cleartext request over plain TCP or unverified TLS (require) is refused before the password is sent", async () => {
    const plain = await pgWith("cleartext");
    expect(await test("postgresql", plain)).toMatchObject({ ok: false, code: Code.FailedPrecondition, reason: "PASSWORD_NOT_SENT", field: "ssl_mode" });
    expect(pgPasswordMessages(plain)).toEqual([]);
    const tls = await pgWith("cleartext", true);
    expect(await test("postgresql", tls, { sslMode: SslMode.REQUIRE })).toMatchObject({ code: Code.FailedPrecondition, reason: "PASSWORD_NOT_SENT" });
    expect(tls.received.some((r) => r.kind === "ssl")).toBe(true);
    expect(pgPasswordMessages(tls)).toEqual([]);
  });

  it("an md5 request (crackable offline) is refused the same way", async () => {
    const s = await pgWith("md5");
    expect(await test("postgresql", s)).toMatchObject({ code: Code.FailedPrecondition, reason: "PASSWORD_NOT_SENT" });
    expect(md5Sent(s)).toBe(false);
    expect(pgPasswordMessages(s)).toEqual([]);
  });

  it("over verified TLS (verify-full, a trusted CA) the cleartext password is sent", async () => {
    const s = await pgWith("cleartext", true);
    expect(await test("postgresql", s, { sslMode: SslMode.VERIFY_FULL })).toEqual({ ok: true });
    expect(pgPasswordMessages(s).map((m) => m.body.toString("utf8"))).toEqual([`${PASSWORD}\0`]);
  });

  it("SCRAM-SHA-256 proves the server and is allowed; with fewer than 4096 iterations no proof is sent", async () => {
    const good = await pgWith({ scram: { password: PASSWORD } });
    expect(await test("postgresql", good)).toEqual({ ok: true });
    const cheap = await pgWith({ scram: { password: PASSWORD, iterations: 1 } });
    expect(await test("postgresql", cheap)).toMatchObject({ code: Code.FailedPrecondition, reason: "PASSWORD_NOT_SENT" });
    // Only the SASLInitialResponse (a nonce, no proof) went out.
    expect(pgPasswordMessages(cheap)).toHaveLength(1);
    expect(pgPasswordMessages(cheap)[0].body.toString("latin1")).toContain("SCRAM-SHA-256");
  });

  it("a failed verify-full check is FailedPrecondition TLS_VERIFY_FAILED, not internal", async () => {
    // A server whose certificate names another host.
    const other = mkdtempSync(join(tmpdir(), "sqlstudio-pw-other-"));
    try {
      execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(other, "k.pem"), "-out", join(other, "c.pem"), "-days", "1", "-subj", "/CN=elsewhere.test"], { stdio: "pipe" });
      const s = await startHostilePg({ auth: "cleartext", tls: { cert: readFileSync(join(other, "c.pem")), key: readFileSync(join(other, "k.pem")) } });
      closers.push(() => s.close());
      expect(await test("postgresql", s, { sslMode: SslMode.VERIFY_FULL })).toMatchObject({ ok: false, code: Code.FailedPrecondition, reason: "TLS_VERIFY_FAILED" });
      expect(pgPasswordMessages(s)).toEqual([]);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});

group("MySQL: no clear or RSA-encrypted password to a server that is not verified or pinned", () => {
  const keys = generateKeyPairSync("rsa", { modulusLength: 2048, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } });
  // The first 32 hex characters of the key's SHA-256 (a profile that syncs cannot hold 64).
  const pin = createHash("sha256").update(createPublicKey(keys.publicKey).export({ type: "spki", format: "der" })).digest("hex").slice(0, 32);

  it("mysql_clear_password is refused without verified TLS (FailedPrecondition, not internal)", async () => {
    const s = await mysqlWith("clear");
    expect(await test("mysql", s)).toMatchObject({ code: Code.FailedPrecondition, reason: "PASSWORD_NOT_SENT" });
    expect(s.revealed).toEqual([]);
  });

  it("sha256_password and caching_sha2_password full authentication are refused without verified TLS or a pinned key", async () => {
    for (const auth of [{ sha256: keys }, { cachingSha2: keys }] as MysqlAuth[]) {
      const s = await mysqlWith(auth);
      expect(await test("mysql", s)).toMatchObject({ code: Code.FailedPrecondition, reason: "PASSWORD_NOT_SENT" });
      expect(s.revealed).toEqual([]);
      // Unverified TLS (require) is no better.
      const t = await mysqlWith(auth, true);
      expect(await test("mysql", t, { sslMode: SslMode.REQUIRE })).toMatchObject({ code: Code.FailedPrecondition, reason: "PASSWORD_NOT_SENT" });
      expect(t.revealed).toEqual([]);
    }
  });

  it("a pinned RSA key gets the encrypted password; another key is refused", async () => {
    for (const auth of [{ sha256: keys }, { cachingSha2: keys }] as MysqlAuth[]) {
      const s = await mysqlWith(auth);
      expect(await test("mysql", s, { options: { server_rsa_key_sha256: pin } })).toEqual({ ok: true });
      expect(s.revealed).toEqual([PASSWORD]);
      const wrong = await mysqlWith(auth);
      expect(await test("mysql", wrong, { options: { server_rsa_key_sha256: "0".repeat(64) } })).toMatchObject({ code: Code.FailedPrecondition, reason: "PASSWORD_NOT_SENT" });
      expect(wrong.revealed).toEqual([]);
    }
  });

  it("over verified TLS the clear password is sent", async () => {
    const s = await mysqlWith("clear", true);
    expect(await test("mysql", s, { sslMode: SslMode.VERIFY_CA })).toEqual({ ok: true });
    expect(s.revealed).toEqual([PASSWORD]);
  });
});

group("a stored password never follows a profile to another server", () => {
  it("UpdateConnection that changes engine, host, port or username drops it unless entered again, and records the move", async () => {
    const home = await pgWith({ scram: { password: PASSWORD } });
    const id = (await u.connections.createConnection({ spec: hostileSpec("postgresql", home, { password: PASSWORD }) })).connection!.id;
    const evil = await pgWith("cleartext", true);
    const base = hostileSpec("postgresql", home, { password: "" });
    // Renaming keeps it.
    expect((await u.connections.updateConnection({ id, spec: { ...base, name: "renamed" } })).connection!.hasPassword).toBe(true);
    // Another port (the attacker's server, over TLS it would accept with require): dropped.
    const moved = await u.connections.updateConnection({ id, spec: { ...base, port: evil.port, sslMode: SslMode.REQUIRE } });
    expect(moved.connection!.hasPassword).toBe(false);
    await u.connections.testConnection({ target: { case: "id", value: id } }).catch(() => undefined);
    expect(pgPasswordMessages(evil)).toEqual([]);
    // Entered again in the same request: kept.
    const back = await u.connections.updateConnection({ id, spec: { ...base, password: PASSWORD } });
    expect(back.connection!.hasPassword).toBe(true);
    for (const change of [{ username: "someone-else" }, { host: "localhost" }, { engine: hostileSpec("mysql", home).engine }]) {
      await u.connections.updateConnection({ id, spec: { ...base, password: PASSWORD } });
      expect((await u.connections.updateConnection({ id, spec: { ...base, ...change } })).connection!.hasPassword).toBe(false);
    }
    const auth = createClient(AuthService, transportFor(server.url, u.token));
    const events = (await auth.listSecurityEvents({ pageSize: 50 })).events.filter((e) => e.type === SecurityEventType.CONNECTION_MOVED);
    expect(events.length).toBeGreaterThanOrEqual(4);
    expect(events.some((e) => e.details.connection_id === id && e.details.password === "dropped" && e.details.to.endsWith(`:${evil.port}`))).toBe(true);
  });
});
