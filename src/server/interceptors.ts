import { codeToString } from "@connectrpc/connect/protocol-connect";
import { Code, ConnectError, type Interceptor, type StreamRequest, type StreamResponse, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import { authKey } from "../common/caller.js";
import { REDACT_PATHS, type Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import type { RpcSeries } from "../observability/rpc-metrics.js";
import { toPublicError } from "./errors.js";

/** Every key of an RPC log line except `err` (the cause of an Internal error). */
const RPC_LINE_KEYS = ["msg", "requestId", "service", "method", "protocol", "code", "durationMs", "userId", "error"];

/** "grpc", "grpc-web" or "connect", from the request's content type. */
export function protocolOf(contentType: string | null): string {
  const ct = contentType ?? "";
  if (ct.startsWith("application/grpc-web")) return "grpc-web";
  if (ct.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/** One RPC being observed: its log line and metrics are written once, when it ends. */
class ObservedCall {
  private finished = false;
  private readonly start: number;
  private readonly series: RpcSeries;
  private readonly service: string;
  private readonly method: string;
  private readonly protocol: string;
  private readonly requestId: string;

  constructor(
    private readonly o: ObserveDeps,
    private readonly req: UnaryRequest | StreamRequest,
  ) {
    this.start = o.now();
    this.service = req.service.typeName;
    this.method = req.method.name;
    this.protocol = protocolOf(req.header.get("content-type"));
    this.requestId = req.header.get("x-request-id") ?? "";
    this.series = o.metrics.rpc.ofMethod(req.method, this.protocol);
    this.series.begin();
  }

  /** Writes the line and the metrics (once); returns the error the client gets, if any. */
  finish(err?: unknown): unknown {
    if (this.finished) return undefined;
    this.finished = true;
    let code = "ok";
    let level: "info" | "warn" | "error" = "info";
    let cause: unknown;
    if (err !== undefined) {
      const mapped = toPublicError(err);
      cause = mapped.cause;
      code = codeToString(mapped.error.code);
      level = mapped.error.code === Code.Internal || mapped.error.code === Code.Unknown ? "error" : "warn";
      err = mapped.error;
    }
    const seconds = (this.o.now() - this.start) / 1000;
    this.series.end(code, seconds);
    const logger = cause === undefined ? this.o.unredacted : this.o.logger;
    // Below the configured level (LOG_LEVEL=warn and a call that went well): no line to build.
    if (!logger.isLevelEnabled(level)) return err;
    const line: Record<string, unknown> = {
      requestId: this.requestId,
      service: this.service,
      method: this.method,
      protocol: this.protocol,
      code,
      durationMs: Math.round(seconds * 1e4) / 10,
    };
    const auth = this.req.contextValues.get(authKey);
    if (auth) line.userId = auth.userId;
    if (err instanceof ConnectError && code !== "ok") line.error = err.rawMessage;
    if (cause !== undefined) line.err = cause;
    logger[level](line, "rpc");
    return err;
  }

  /** A unary answer ends the call; a stream's ends when its last message is sent (or it fails or is abandoned). */
  ended(res: StreamResponse | UnaryResponse): StreamResponse | UnaryResponse {
    if (!res.stream) {
      this.finish();
      return res;
    }
    const messages = res.message;
    const call = this;
    return {
      ...res,
      message: (async function* () {
        try {
          yield* messages;
          call.finish();
        } catch (e) {
          throw call.finish(e);
        } finally {
          // the client went away or the stream was abandoned
          if (!call.finished) call.finish(new ConnectError("stream abandoned", Code.Canceled));
        }
      })(),
    };
  }
}

interface ObserveDeps {
  logger: Logger;
  unredacted: Logger;
  metrics: Metrics;
  now: () => number;
}

/**
 * The outermost interceptor: one log line and the metrics per RPC (for streams, when the
 * stream ends), and the single error mapping: anything that is not a ConnectError is a bug,
 * logged with its cause and answered as Internal without its message.
 */
export function observe(logger: Logger, metrics: Metrics, now: () => number = performance.now.bind(performance)): Interceptor {
  // Without an error cause the line holds only strings and numbers, under keys that no redaction
  // path names: redaction cannot change it, so it skips pino's redaction pass, which cost about
  // 30 µs per RPC (docs/benchmarks.md). Lines with a cause (`err`) keep full redaction.
  const unredacted = RPC_LINE_KEYS.some((k) => REDACT_PATHS.includes(k)) ? logger : logger.child({}, { redact: { paths: [] } });
  const deps: ObserveDeps = { logger, unredacted, metrics, now };
  // An async function around a small class: no closure per call.
  return (next) =>
    async function observed(req) {
      const call = new ObservedCall(deps, req);
      try {
        return call.ended(await next(req));
      } catch (e) {
        throw call.finish(e);
      }
    };
}
