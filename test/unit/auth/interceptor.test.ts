/**
 * isPublic() and authInterceptor() as a unit, with a fake Sessions and a fake next(). This is
 * where REQUIRE_VERIFIED_EMAIL is proven for "non-auth RPCs" as such: no protected service
 * outside AuthService exists yet (test/integration/auth/interceptor.test.ts adds a probe service
 * to show it end to end).
 */
import { Code, ConnectError, createContextValues, type UnaryRequest } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { AuthService } from "../../../gen/sqlstudio/auth/v1/auth_pb.js";
import type { Sessions } from "../../../src/auth/sessions.js";
import { authInterceptor, isPublic } from "../../../src/auth/interceptor.js";
import { PUBLIC_AUTH_METHODS } from "../../../src/auth/service.js";
import { authKey, type AuthContext } from "../../../src/common/caller.js";
import { fail, R } from "../../../src/common/errors.js";

const AUTH = "sqlstudio.auth.v1.AuthService";
const EXPECTED_PUBLIC = ["Register", "VerifyEmail", "Login", "RefreshToken", "RequestPasswordReset", "ResetPassword"];

describe("isPublic", () => {
  it("is exactly the issue's list of public AuthService RPCs", () => {
    expect([...PUBLIC_AUTH_METHODS].sort()).toEqual([...EXPECTED_PUBLIC].sort());
    const publicOnes = AuthService.methods.filter((m) => isPublic(AUTH, m.name)).map((m) => m.name);
    expect(publicOnes.sort()).toEqual([...EXPECTED_PUBLIC].sort());
    // Every method of the service exists (no typo in the list hides a public RPC).
    for (const name of EXPECTED_PUBLIC) expect(AuthService.methods.some((m) => m.name === name), name).toBe(true);
  });

  it("keeps every other AuthService RPC protected", () => {
    for (const name of ["ResendVerificationEmail", "Logout", "GetCurrentUser", "UpdateProfile", "ChangePassword", "ListSessions", "RevokeSession", "RevokeOtherSessions", "ListSecurityEvents", "DeleteAccount", "ExportMyData"]) {
      expect(isPublic(AUTH, name), name).toBe(false);
    }
  });

  it("makes health and reflection public, whatever the method", () => {
    for (const [service, method] of [
      ["grpc.health.v1.Health", "Check"],
      ["grpc.health.v1.Health", "Watch"],
      ["grpc.reflection.v1.ServerReflection", "ServerReflectionInfo"],
      ["grpc.reflection.v1alpha.ServerReflection", "ServerReflectionInfo"],
    ]) {
      expect(isPublic(service, method), `${service}/${method}`).toBe(true);
    }
  });

  it("does not take a public method name on another service as public", () => {
    expect(isPublic("sqlstudio.sync.v1.SyncService", "Login")).toBe(false);
    expect(isPublic("sqlstudio.auth.v2.AuthService", "Register")).toBe(false);
    expect(isPublic("grpc.health.v2.Health", "Check")).toBe(false);
    expect(isPublic("", "")).toBe(false);
  });
});

/** A fake Sessions: authenticate() answers what the test says and records what it got. */
function fakeSessions(result: AuthContext | Error) {
  const seen: (string | null)[] = [];
  const sessions = {
    async authenticate(authorization: string | null) {
      seen.push(authorization);
      if (result instanceof Error) throw result;
      return result;
    },
  };
  return { sessions: sessions as unknown as Sessions, seen };
}

function request(service: string, method: string, authorization?: string): UnaryRequest {
  const header = new Headers();
  if (authorization) header.set("authorization", authorization);
  return {
    stream: false,
    service: { typeName: service },
    method: { name: method },
    requestMethod: "POST",
    url: `http://x/${service}/${method}`,
    signal: new AbortController().signal,
    header,
    contextValues: createContextValues(),
    message: {},
  } as unknown as UnaryRequest;
}

/** Runs the interceptor with a next() that records the caller it sees. */
async function run(interceptor: ReturnType<typeof authInterceptor>, req: UnaryRequest) {
  const calls: (AuthContext | undefined)[] = [];
  const next = (async (r: UnaryRequest) => {
    calls.push(r.contextValues.get(authKey));
    return { stream: false, message: {}, header: new Headers(), trailer: new Headers() };
  }) as unknown as Parameters<ReturnType<typeof authInterceptor>>[0];
  const outcome = await interceptor(next)(req).then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  return { calls, error: outcome };
}

const verified: AuthContext = { userId: "u1", sessionId: "s1", role: "user", emailVerified: true };
const unverified: AuthContext = { ...verified, emailVerified: false };
const OTHER = "sqlstudio.sync.v1.SyncService";

describe("authInterceptor", () => {
  it("lets public RPCs through without asking for a session", async () => {
    const { sessions, seen } = fakeSessions(new Error("must not be called"));
    const i = authInterceptor(sessions, { requireVerifiedEmail: true });
    for (const [s, m] of [[AUTH, "Login"], [AUTH, "Register"], ["grpc.health.v1.Health", "Check"], ["grpc.reflection.v1.ServerReflection", "ServerReflectionInfo"]]) {
      const { calls, error } = await run(i, request(s, m));
      expect(error, `${s}/${m}`).toBeUndefined();
      expect(calls).toEqual([undefined]);
    }
    expect(seen).toEqual([]);
  });

  it("authenticates protected RPCs with the Authorization header and hands the caller to the handler", async () => {
    const { sessions, seen } = fakeSessions(verified);
    const { calls, error } = await run(authInterceptor(sessions, { requireVerifiedEmail: true }), request(AUTH, "GetCurrentUser", "Bearer abc.def.ghi"));
    expect(error).toBeUndefined();
    expect(seen).toEqual(["Bearer abc.def.ghi"]);
    expect(calls).toEqual([verified]);
  });

  it("passes no header as null, and Unauthenticated from the session check stops the call", async () => {
    const { sessions, seen } = fakeSessions(fail(R.MISSING_TOKEN, "missing"));
    const { calls, error } = await run(authInterceptor(sessions, { requireVerifiedEmail: false }), request(AUTH, "ListSessions"));
    expect(seen).toEqual([null]);
    expect(error?.code).toBe(Code.Unauthenticated);
    expect(calls).toEqual([]);
  });

  it("REQUIRE_VERIFIED_EMAIL: a non-auth RPC of an unverified user answers FailedPrecondition", async () => {
    const { sessions } = fakeSessions(unverified);
    const { calls, error } = await run(authInterceptor(sessions, { requireVerifiedEmail: true }), request(OTHER, "Push", "Bearer x"));
    expect(error?.code).toBe(Code.FailedPrecondition);
    expect(calls).toEqual([]);
  });

  it("REQUIRE_VERIFIED_EMAIL: AuthService RPCs stay open to unverified users (they must be able to verify)", async () => {
    const { sessions } = fakeSessions(unverified);
    const i = authInterceptor(sessions, { requireVerifiedEmail: true });
    for (const m of ["GetCurrentUser", "ResendVerificationEmail", "UpdateProfile", "Logout"]) {
      const { calls, error } = await run(i, request(AUTH, m, "Bearer x"));
      expect(error, m).toBeUndefined();
      expect(calls).toEqual([unverified]);
    }
  });

  it("REQUIRE_VERIFIED_EMAIL: verified users pass; with the setting off, unverified users pass too", async () => {
    expect((await run(authInterceptor(fakeSessions(verified).sessions, { requireVerifiedEmail: true }), request(OTHER, "Push", "Bearer x"))).error).toBeUndefined();
    const off = await run(authInterceptor(fakeSessions(unverified).sessions, { requireVerifiedEmail: false }), request(OTHER, "Push", "Bearer x"));
    expect(off.error).toBeUndefined();
    expect(off.calls).toEqual([unverified]);
  });
});
