import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { ConnectError } from "@connectrpc/connect";
import type { RealtimeHub } from "./hub.js";
import { subscriptionLimitError } from "./service.js";

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

/**
 * Answers a streaming request with an error in its own protocol before Connect's pipeline; false
 * (nothing written) when it cannot. The server's (src/server/early-error.ts), handed in by the
 * composition root: the gate knows no transport.
 */
export type StreamErrorWriter = (req: Request, res: Response, error: ConnectError) => boolean;

export const SUBSCRIBE_PATH = "/sqlstudio.realtime.v1.RealtimeService/Subscribe";

/**
 * Refuses a flood of Subscribe calls before Connect's pipeline. Open Subscribe requests are
 * counted per Authorization header value (verified or not: a forged one only counts against
 * itself); a request beyond the user's subscription limit with a token that already holds that
 * many is answered ResourceExhausted TOO_MANY_SUBSCRIPTIONS at once, as the hub would answer it
 * after authentication. 2,000 calls sent at once with one token cost the server a few
 * milliseconds, not seconds of every other user's time.
 */
export class SubscribeGate {
  private readonly open = new Map<string, number>();
  private refusal?: { max: number; error: ConnectError };

  constructor(
    private readonly hub: RealtimeHub,
    private readonly onRefused: () => void,
    private readonly writeStreamError: StreamErrorWriter,
  ) {}

  /** True when the request was answered here. */
  admit(req: Request, res: Response): boolean {
    const key = req.headers.authorization;
    if (typeof key !== "string" || key === "") return false;
    const n = this.open.get(key) ?? 0;
    if (n >= this.hub.maxPerUser && this.writeStreamError(req, res, this.error())) {
      this.onRefused();
      return true;
    }
    this.open.set(key, n + 1);
    res.once("close", () => {
      const left = (this.open.get(key) ?? 1) - 1;
      if (left <= 0) this.open.delete(key);
      else this.open.set(key, left);
    });
    return false;
  }

  /** The refusal, built once (its encodings are cached by identity). */
  private error(): ConnectError {
    const max = this.hub.maxPerUser;
    if (this.refusal?.max !== max) this.refusal = { max, error: subscriptionLimitError(max) };
    return this.refusal.error;
  }

  /** Tokens with open Subscribe requests (for tests: the map never keeps empty entries). */
  get tokens(): number {
    return this.open.size;
  }
}


