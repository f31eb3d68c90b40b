import type { ServiceImpl } from "@connectrpc/connect";
import { RealtimeService, type ServerEvent } from "../../gen/sqlstudio/realtime/v1/realtime_pb.js";
import { callerOf } from "../common/caller.js";
import { fail, limitExceeded, R } from "../common/errors.js";
import { SUBSCRIPTION_LIMIT, type EndReason, type RealtimeHub } from "./hub.js";


/**
 * sqlstudio.realtime.v1.RealtimeService: the same events as the WebSocket, as a server
 * stream for gRPC and Connect clients. A slow reader is ended (ResourceExhausted: pull, then
 * subscribe again) instead of buffering without bound.
 */
export function realtimeService(hub: RealtimeHub, opts: { maxQueued: number; now: () => number }): ServiceImpl<typeof RealtimeService> {
  return {
    async *subscribe(_req, ctx) {
      const auth = callerOf(ctx);
      const queue: ServerEvent[] = [];
      let ended: EndReason | "expired" | undefined;
      let wake: (() => void) | undefined;
      const unsubscribe = hub.add({
        userId: auth.userId,
        sessionId: auth.sessionId,
        deliver: (event) => {
          if (queue.length >= opts.maxQueued) return false;
          queue.push(event);
          wake?.();
          return true;
        },
        end: (reason) => {
          ended = reason;
          wake?.();
        },
      });
      const onAbort = () => wake?.();
      ctx.signal.addEventListener("abort", onAbort);
      // The stream lives as long as its access token; the client subscribes again with a fresh one.
      const expiry =
        auth.tokenExpiresAt === undefined
          ? undefined
          : setTimeout(() => {
              ended ??= "expired";
              wake?.();
            }, Math.min(2 ** 31 - 1, Math.max(0, auth.tokenExpiresAt - opts.now())));
      try {
        while (!ctx.signal.aborted) {
          const next = queue.shift();
          if (next) {
            yield { event: next };
            continue;
          }
          if (ended === "revoked") throw fail(R.SESSION_REVOKED, "session has ended; log in again");
          if (ended === "slow") throw fail(R.TOO_SLOW, "events arrived faster than they were read: pull, then subscribe again");
          if (ended === "shutdown") throw fail(R.SHUTTING_DOWN, "server shutting down");
          if (ended === "limit") throw subscriptionLimitError(hub.maxPerUser);
          if (ended === "expired") throw fail(R.TOKEN_EXPIRED, "access token expired: subscribe again with a fresh one");
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      } finally {
        clearTimeout(expiry);
        ctx.signal.removeEventListener("abort", onAbort);
        unsubscribe();
      }
    },
  };
}

/** ResourceExhausted for a Subscribe beyond the user's subscriptions (sockets and streams). */
export function subscriptionLimitError(max: number) {
  return limitExceeded(
    SUBSCRIPTION_LIMIT,
    max,
    R.TOO_MANY_SUBSCRIPTIONS,
    `this account already holds ${max} realtime subscriptions (WebSockets and Subscribe streams) on this server (${SUBSCRIPTION_LIMIT}): close one first`,
  );
}
