/**
 * The auth interceptor on the real server: health and reflection stay public; every protected
 * AuthService RPC without a token, with a malformed, forged, wrongly-addressed or expired token,
 * or with the token of a session that is gone, answers Unauthenticated, on every protocol.
 *
 * There is no protected service outside AuthService yet, so REQUIRE_VERIFIED_EMAIL is proven
 * here with a probe service built for the test (test.probe.v1.ProbeService, served beside the
 * features) and, as a unit, in test/unit/auth/interceptor.test.ts.
 */
import { createHmac } from "node:crypto";
import { create, createFileRegistry, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, file_google_protobuf_empty } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../../gen/sqlstudio/auth/v1/auth_pb.js";
import { ServerReflection } from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { authKey, type AuthContext } from "../../../src/common/caller.js";
import {
  AUTH,
  call,
  emailToken,
  errorInfoOfJson,
  manualRuntime,
  registerAndLogin,
  startAuthServer,
  TEST_JWT_SECRET,
  type LoginReply,
} from "../../support/auth.js";
import { startResendStandIn, type ResendStandIn } from "../../support/resend.js";
import type { TestServer } from "../../support/server.js";
import { clientFor, expectRpcError } from "../../support/rpc.js";

/** A protected service that is not AuthService: one Empty → Empty method. */
function probeService(): DescService {
  const fdp = create(FileDescriptorProtoSchema, {
    name: "test/probe/v1/probe.proto",
    package: "test.probe.v1",
    syntax: "proto3",
    dependency: ["google/protobuf/empty.proto"],
    service: [{ name: "ProbeService", method: [{ name: "Ping", inputType: ".google.protobuf.Empty", outputType: ".google.protobuf.Empty" }] }],
  });
  const registry = createFileRegistry(fdp, (name) => (name === "google/protobuf/empty.proto" ? file_google_protobuf_empty : undefined));
  return registry.getService("test.probe.v1.ProbeService")!;
}

const ProbeService = probeService();
const PROTECTED = AuthService.methods
  .map((m) => m.name)
  .filter((m) => !["Register", "VerifyEmail", "Login", "RefreshToken", "RequestPasswordReset", "ResetPassword"].includes(m));

const clock = manualRuntime();
let resend: ResendStandIn;
let server: TestServer;
let strict: TestServer;
const seenByProbe: (AuthContext | undefined)[] = [];

const probeImpl = {
  ping(_req: unknown, ctx: { values: { get: (k: typeof authKey) => AuthContext | undefined } }) {
    seenByProbe.push(ctx.values.get(authKey));
    return {};
  },
};

beforeAll(async () => {
  resend = await startResendStandIn();
  [server, strict] = await Promise.all([
    startAuthServer({ runtime: clock, env: { SESSION_CACHE_MS: "0" }, services: [[ProbeService, probeImpl]] }),
    startAuthServer({ resend, env: { REQUIRE_VERIFIED_EMAIL: "true" }, services: [[ProbeService, probeImpl]] }),
  ]);
});
afterAll(async () => {
  await Promise.all([server?.stop(), strict?.stop()]);
  await resend?.close();
});

const ping = (s: TestServer, token?: string) =>
  fetch(`${s.url}/test.probe.v1.ProbeService/Ping`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: "{}",
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));

/** The key id the server gives a secret (HMAC of a constant), to forge otherwise-perfect tokens. */
const kidOf = (secret: string) => createHmac("sha256", new TextEncoder().encode(secret)).update("sqlstudio-kid").digest("base64url").slice(0, 12);

async function forge(claims: Record<string, unknown>, opts: { secret?: string; kid?: string; iss?: string; aud?: string; iat?: number; exp?: number } = {}): Promise<string> {
  const secret = opts.secret ?? TEST_JWT_SECRET;
  const now = Math.floor(clock.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", kid: opts.kid ?? kidOf(secret), typ: "JWT" })
    .setIssuer(opts.iss ?? "sqlstudio")
    .setAudience(opts.aud ?? "sqlstudio-api")
    .setIssuedAt(opts.iat ?? now)
    .setExpirationTime(opts.exp ?? now + 600)
    .sign(new TextEncoder().encode(secret));
}

describe("public services", () => {
  it("Health answers without a token, even with a garbage Authorization header", async () => {
    for (const headers of [{}, { authorization: "Bearer garbage" }] as Record<string, string>[]) {
      const r = await fetch(`${server.url}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: "{}" });
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ status: "SERVING" });
    }
  });

  it("reflection answers without a token (gRPC)", async () => {
    const client = clientFor(ServerReflection, server, undefined, "grpc");
    async function* one() {
      yield { messageRequest: { case: "listServices" as const, value: "" } };
    }
    const names: string[] = [];
    for await (const res of client.serverReflectionInfo(one())) {
      if (res.messageResponse.case === "listServicesResponse") names.push(...res.messageResponse.value.service.map((s) => s.name));
    }
    expect(names).toContain(AUTH);
    expect(names).toContain("grpc.health.v1.Health");
  });
});

describe("protected RPCs refuse callers without a valid token of a live session", () => {
  let owner: { id: string; session: LoginReply };
  beforeAll(async () => {
    owner = await registerAndLogin(server, "icpt");
  });

  it("every protected AuthService RPC without a token: Unauthenticated (Connect JSON)", async () => {
    expect(PROTECTED).toHaveLength(11);
    for (const method of PROTECTED) {
      const r = await call(server, method, {});
      expect(r.code, method).toBe("unauthenticated");
      expect(r.status, method).toBe(401);
      expect(r.info?.reason, method).toBe("MISSING_TOKEN");
    }
  });

  it("without a token over gRPC and gRPC-Web too", async () => {
    for (const protocol of ["grpc", "grpc-web"] as const) {
      const client = clientFor(AuthService, server, undefined, protocol);
      await expectRpcError(client.getCurrentUser({}), Code.Unauthenticated, "MISSING_TOKEN");
      // A valid token works on the same transport.
      const me = await client.getCurrentUser({}, { headers: { authorization: `Bearer ${owner.session.accessToken}` } });
      expect(me.user?.id).toBe(owner.id);
    }
  });

  it("malformed Authorization headers: Unauthenticated", async () => {
    const t = owner.session.accessToken;
    const bad = ["", "Bearer", "Bearer ", `Basic ${t}`, `Token ${t}`, "Bearer abc", `Bearer ${t} extra`, `Bearer ${t}\u00e9`, `Bearer ${"a".repeat(5000)}`, "Bearer not.a.jwt"];
    let reached = 0;
    for (const authorization of bad) {
      const r = await fetch(`${server.url}/${AUTH}/GetCurrentUser`, { method: "POST", headers: { "content-type": "application/json", authorization }, body: "{}" }).catch(
        () => undefined,
      );
      if (!r) continue; // fetch itself refuses some header values: nothing reached the server
      reached++;
      const body = (await r.json()) as Record<string, unknown>;
      expect(r.status, JSON.stringify(authorization.slice(0, 40))).toBe(401);
      expect(["MISSING_TOKEN", "INVALID_TOKEN"]).toContain(errorInfoOfJson(body)?.reason);
    }
    expect(reached).toBeGreaterThanOrEqual(bad.length - 1);
  });

  it("forged, tampered and wrongly-addressed tokens: Unauthenticated INVALID_TOKEN", async () => {
    const claims = { sub: owner.id, sid: owner.session.sessionId, role: "admin", email_verified: true };
    const [h, p, s] = owner.session.accessToken.split(".");
    const payload = JSON.parse(Buffer.from(p, "base64url").toString());
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, role: "admin" })).toString("base64url")}.${s}`;
    const unsigned = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${p}.`;
    const tokens: Record<string, string> = {
      tampered,
      "alg none": unsigned,
      "another secret": await forge(claims, { secret: "another-secret-of-at-least-32-bytes!!" }),
      "another secret, our kid": await forge(claims, { secret: "another-secret-of-at-least-32-bytes!!", kid: kidOf(TEST_JWT_SECRET) }),
      "wrong issuer": await forge(claims, { iss: "someone-else" }),
      "wrong audience": await forge(claims, { aud: "another-api" }),
      "no sid": await forge({ sub: owner.id }),
    };
    for (const [what, token] of Object.entries(tokens)) {
      const r = await call(server, "GetCurrentUser", {}, { token });
      expect(r.code, what).toBe("unauthenticated");
      expect(["INVALID_TOKEN", "MISSING_TOKEN"], what).toContain(r.info?.reason);
    }
    // The control: a token forged with the real secret and all claims right is accepted, so
    // the refusals above are about what was wrong with each one.
    expect((await call(server, "GetCurrentUser", {}, { token: await forge(claims) })).status).toBe(200);
  });

  it("a well-signed token whose session is unknown or another user's: Unauthenticated SESSION_REVOKED", async () => {
    const other = await registerAndLogin(server, "icpt2");
    for (const claims of [
      { sub: owner.id, sid: "01900000-0000-7000-8000-000000000000" },
      { sub: owner.id, sid: other.session.sessionId },
    ]) {
      const r = await call(server, "GetCurrentUser", {}, { token: await forge({ ...claims, role: "user", email_verified: true }) });
      expect(r.code).toBe("unauthenticated");
      expect(r.info?.reason).toBe("SESSION_REVOKED");
    }
  });

  it("an expired token: Unauthenticated INVALID_TOKEN (the clock moves past 15 minutes)", async () => {
    const { session } = await registerAndLogin(server, "expire");
    expect((await call(server, "GetCurrentUser", {}, { token: session.accessToken })).status).toBe(200);
    clock.advance(15 * 60_000 + 1000);
    const r = await call(server, "GetCurrentUser", {}, { token: session.accessToken });
    expect(r.code).toBe("unauthenticated");
    expect(r.info?.reason).toBe("INVALID_TOKEN");
    // The session itself lives on: a refresh gives a token that works.
    const fresh = await call(server, "RefreshToken", { refreshToken: session.refreshToken });
    expect(fresh.status).toBe(200);
    expect((await call(server, "GetCurrentUser", {}, { token: (fresh.body as unknown as LoginReply).accessToken })).status).toBe(200);
  });

  it("the caller reaches a non-auth handler through the Connect context", async () => {
    seenByProbe.length = 0;
    const { id, session } = await registerAndLogin(server, "ctx");
    expect((await ping(server)).status).toBe(401);
    // REQUIRE_VERIFIED_EMAIL is off here (development): an unverified user may call it.
    expect((await ping(server, session.accessToken)).status).toBe(200);
    expect(seenByProbe).toEqual([
      { userId: id, sessionId: session.sessionId, role: "user", emailVerified: false, tokenExpiresAt: Date.parse(session.accessTokenExpiresAt) },
    ]);
  });
});

describe("REQUIRE_VERIFIED_EMAIL=true", () => {
  it("non-auth RPCs answer FailedPrecondition until the address is verified; AuthService RPCs do not", async () => {
    const { user, session } = await registerAndLogin(strict, "unver");
    const refused = await ping(strict, session.accessToken);
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe("failed_precondition");
    expect(errorInfoOfJson(refused.body)?.reason).toBe("EMAIL_NOT_VERIFIED");
    // The account RPCs stay usable, so the user can fix it.
    expect((await call(strict, "GetCurrentUser", {}, { token: session.accessToken })).status).toBe(200);
    expect((await call(strict, "ListSessions", {}, { token: session.accessToken })).status).toBe(200);

    const { token } = await emailToken(resend, user.email, "verify-email");
    expect((await call(strict, "VerifyEmail", { token })).status).toBe(200);
    // The same access token (its claim still says unverified) now passes: the session check decides.
    expect((await ping(strict, session.accessToken)).status).toBe(200);
    // And without a token it is Unauthenticated, not FailedPrecondition.
    expect((await ping(strict)).status).toBe(401);
  });
});
