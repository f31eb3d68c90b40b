import { createContextKey, type HandlerContext } from "@connectrpc/connect";

/** Who is calling: set by the auth interceptor for authenticated RPCs. */
export interface AuthContext {
  userId: string;
  sessionId: string;
  role: "user" | "admin";
  emailVerified: boolean;
  /** When the access token of this call expires (ms since epoch); long-lived streams end then. */
  tokenExpiresAt?: number;
}

/** Where the call comes from: set for every RPC from the HTTP request. */
export interface RequestInfo {
  ip: string;
  userAgent: string;
  requestId: string;
}

export const authKey = createContextKey<AuthContext | undefined>(undefined, { description: "authenticated caller" });
export const requestInfoKey = createContextKey<RequestInfo>({ ip: "", userAgent: "", requestId: "" }, { description: "request origin" });

/** The caller of a protected RPC (the auth interceptor ran; not having run is a bug). */
export function callerOf(ctx: HandlerContext): AuthContext {
  const auth = ctx.values.get(authKey);
  if (!auth) throw new Error("auth interceptor did not run for a protected RPC");
  return auth;
}

/** The user id of the caller of a protected RPC. */
export const userIdOf = (ctx: HandlerContext): string => callerOf(ctx).userId;
