import type { IncomingMessage } from "node:http";
import { fromBinary, fromJsonString, toBinary, toJsonString } from "@bufbuild/protobuf";
import type { WebSocket } from "ws";
import { ClientMessageSchema, ServerEventSchema, type ServerEvent } from "../../gen/sqlstudio/realtime/v1/realtime_pb.js";
import { create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import type { AuthContext } from "../common/caller.js";
import { SUBSCRIPTION_LIMIT, type EndReason, type RealtimeHub } from "./hub.js";
import { KeyedSlots, RateBucket } from "./limits.js";

/** Subprotocols: JSON text frames (default) or protobuf binary frames. */
export const PROTOCOL_JSON = "sqlstudio.v1+json";
export const PROTOCOL_PROTO = "sqlstudio.v1+proto";

/** Close codes of /v1/stream (4000-4999 are the application's). */
export const StreamClose = {
  goingAway: 1001,
  badMessage: 4400,
  /** Not authenticated in time, or the token is invalid or expired: refresh and reconnect. */
  unauthenticated: 4401,
  /** The session was revoked: log in again. */
  revoked: 4403,
  /** The client could not keep up: pull to catch up, then reconnect. */
  tooSlow: 4408,
  /** A limit was reached (the reason names it): too many sockets or messages; back off before reconnecting. */
  limit: 4429,
} as const;

/** The limits of /v1/stream, by their configuration variable (named in close reasons and metrics). */
export const UNAUTHENTICATED_LIMIT = "WS_MAX_UNAUTHENTICATED_PER_ADDRESS";
export const AUTH_RATE_LIMIT = "WS_AUTH_MESSAGES_PER_MINUTE";

/** Checks the access token a socket's `authenticate` message carries (auth's sessions). */
export interface Authenticator {
  authenticate(authorization: string | null): Promise<AuthContext>;
}

export interface WsOptions {
  authTimeoutMs: number;
  /** The server clock (the injected Runtime's), for token expiry. */
  now: () => number;
  /** A socket with more than this many bytes unsent is a slow consumer. */
  maxBufferedBytes: number;
  /** Sockets of one client address that have not authenticated yet. */
  maxUnauthenticatedPerAddress: number;
  /** `authenticate` messages per socket and minute (a burst of as many). */
  authMessagesPerMinute: number;
  /** The client address of an upgrade request (the socket's, or the trusted proxy's view). */
  addressOf: (req: IncomingMessage) => string;
  /** A limit refused a socket or closed one (its variable name), for metrics. */
  onLimit?: (limit: string) => void;
}

/**
 * The realtime WebSocket protocol: the first client message carries the access token (never
 * the URL) within `authTimeoutMs`; then ServerEvents flow until the socket closes, the session
 * is revoked (4403), the client is too slow (4408), the server shuts down (1001) or the access
 * token expires (4401) — unless the client sends `authenticate` again with a fresh token of the
 * same session, which extends the socket. Any other message closes it (4400).
 */
export function realtimeSocketHandler(hub: RealtimeHub, authenticator: Authenticator, opts: WsOptions) {
  // The hub hands every subscriber the same event object: encode it once per frame format.
  const json = new WeakMap<ServerEvent, string>();
  const bin = new WeakMap<ServerEvent, Uint8Array>();
  const encode = <T>(cache: WeakMap<ServerEvent, T>, event: ServerEvent, f: (e: ServerEvent) => T): T => {
    let out = cache.get(event);
    if (out === undefined) cache.set(event, (out = f(event)));
    return out;
  };
  const unauthenticated = new KeyedSlots(opts.maxUnauthenticatedPerAddress);
  const refuse = (ws: WebSocket, limit: string, reason: string) => {
    opts.onLimit?.(limit);
    ws.close(StreamClose.limit, reason);
  };
  return (ws: WebSocket, req: IncomingMessage) => {
    const address = opts.addressOf(req);
    if (!unauthenticated.take(address)) {
      return refuse(ws, UNAUTHENTICATED_LIMIT, `${UNAUTHENTICATED_LIMIT} (${unauthenticated.max}) reached for this address: authenticate the open ones first`);
    }
    /** The address's slot is held until the socket authenticates or closes. */
    let holdsSlot = true;
    const releaseSlot = () => {
      if (holdsSlot) unauthenticated.release(address);
      holdsSlot = false;
    };
    const messages = new RateBucket(opts.authMessagesPerMinute, opts.now);
    const binary = ws.protocol === PROTOCOL_PROTO;
    const send = (event: ServerEvent) =>
      ws.send(binary ? encode(bin, event, (e) => toBinary(ServerEventSchema, e)) : encode(json, event, (e) => toJsonString(ServerEventSchema, e)));
    let state: "waiting" | "authenticating" | "open" | "closed" = "waiting";
    let sessionId: string | undefined;
    let unsubscribe: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const close = (code: number, reason: string) => {
      if (state === "closed") return;
      state = "closed";
      clearTimeout(timer);
      releaseSlot();
      unsubscribe?.();
      ws.close(code, reason);
    };
    /** One timer at a time: the authentication deadline, then the access token's expiry. */
    const closeAt = (ms: number, reason: string) => {
      clearTimeout(timer);
      timer = setTimeout(() => close(StreamClose.unauthenticated, reason), Math.max(0, ms));
    };
    const untilExpiry = (at: number | undefined) => (at === undefined ? 2 ** 31 - 1 : Math.min(2 ** 31 - 1, at - opts.now()));
    closeAt(opts.authTimeoutMs, "authenticate within the time allowed");
    ws.once("close", () => {
      state = "closed";
      clearTimeout(timer);
      releaseSlot();
      unsubscribe?.();
    });
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (state === "closed") return;
      // Every message counts, also those that arrive while a token is being checked.
      if (!messages.take()) {
        opts.onLimit?.(AUTH_RATE_LIMIT);
        return close(StreamClose.limit, `${AUTH_RATE_LIMIT} (${opts.authMessagesPerMinute}) exceeded: authenticate once, renew only when the token is about to expire`);
      }
      if (state === "authenticating") return;
      let token: string;
      try {
        const msg = isBinary ? fromBinary(ClientMessageSchema, data) : fromJsonString(ClientMessageSchema, data.toString("utf8"));
        if (msg.message.case !== "authenticate") throw new Error("expected authenticate");
        token = msg.message.value.accessToken;
      } catch {
        return close(StreamClose.badMessage, "expected {\"authenticate\":{\"accessToken\":\"…\"}}");
      }
      const renewing = state === "open";
      if (!renewing) state = "authenticating";
      authenticator.authenticate(`Bearer ${token}`).then(
        (auth) => {
          if (state === "closed") return;
          const expiry = "access token expired: send authenticate with a fresh token, or reconnect";
          if (renewing) {
            // A fresh token of the same session extends the socket; another session's is refused.
            if (auth.sessionId !== sessionId) return close(StreamClose.badMessage, "a renewed token must belong to the same session");
            return closeAt(untilExpiry(auth.tokenExpiresAt), expiry);
          }
          state = "open";
          releaseSlot();
          sessionId = auth.sessionId;
          closeAt(untilExpiry(auth.tokenExpiresAt), expiry);
          unsubscribe = hub.add({
            userId: auth.userId,
            sessionId: auth.sessionId,
            deliver: (event) => {
              if (ws.bufferedAmount > opts.maxBufferedBytes) return false;
              send(event);
              return true;
            },
            end: (reason: EndReason) => {
              unsubscribe = undefined;
              if (reason === "revoked") close(StreamClose.revoked, "session revoked");
              else if (reason === "slow") close(StreamClose.tooSlow, "too slow: pull to catch up, then reconnect");
              else if (reason === "limit") {
                close(StreamClose.limit, `${SUBSCRIPTION_LIMIT} (${hub.maxPerUser}) reached for this account: close another socket or stream first`);
              }
              else close(StreamClose.goingAway, "server shutting down");
            },
          });
          // Ended already (a session revoked after the token passed a session cache): no ready.
          if (state !== "open") return;
          send(create(ServerEventSchema, { id: "0", event: { case: "ready", value: { sessionId: auth.sessionId } } }));
        },
        (err: unknown) => close(StreamClose.unauthenticated, (err instanceof ConnectError ? err.rawMessage : "invalid token").slice(0, 120)),
      );
    });
  };
}
