import { createContextKey } from "@connectrpc/connect";

/** Who is calling: set by the auth interceptor for authenticated RPCs. */
export interface AuthContext {
  userId: string;
  sessionId: string;
  role: "user" | "admin";
  emailVerified: boolean;
}

/** Where the call comes from: set for every RPC from the HTTP request. */
export interface RequestInfo {
  ip: string;
  userAgent: string;
  requestId: string;
}

export const authKey = createContextKey<AuthContext | undefined>(undefined, { description: "authenticated caller" });
export const requestInfoKey = createContextKey<RequestInfo>({ ip: "", userAgent: "", requestId: "" }, { description: "request origin" });
