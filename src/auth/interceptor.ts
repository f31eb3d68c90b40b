import type { Interceptor } from "@connectrpc/connect";
import { authKey, requestInfoKey } from "../common/caller.js";
import { fail, R } from "../common/errors.js";
import { PUBLIC_AUTH_METHODS } from "./service.js";
import type { Sessions } from "./sessions.js";

/** Services anyone may call: health and reflection. */
const PUBLIC_SERVICES = new Set(["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]);
const PUBLIC_METHODS = new Set(PUBLIC_AUTH_METHODS.map((m) => `sqlstudio.auth.v1.AuthService/${m}`));

export function isPublic(service: string, method: string): boolean {
  return PUBLIC_SERVICES.has(service) || PUBLIC_METHODS.has(`${service}/${method}`);
}

/**
 * Every RPC but the public ones needs `Authorization: Bearer <access token>` of a live
 * session; the caller reaches handlers as `ctx.values.get(authKey)`. With
 * `requireVerifiedEmail`, RPCs outside AuthService answer FailedPrecondition until the
 * address is verified.
 */
export function authInterceptor(sessions: Pick<Sessions, "authenticate">, opts: { requireVerifiedEmail: boolean }): Interceptor {
  return (next) => async (req) => {
    const service = req.service.typeName;
    if (isPublic(service, req.method.name)) return next(req);
    const auth = await sessions.authenticate(req.header.get("authorization"), req.contextValues.get(requestInfoKey).ip);
    if (opts.requireVerifiedEmail && !auth.emailVerified && service !== "sqlstudio.auth.v1.AuthService") {
      throw fail(R.EMAIL_NOT_VERIFIED, "verify your email address first");
    }
    req.contextValues.set(authKey, auth);
    return next(req);
  };
}
