import { codeToString } from "@connectrpc/connect/protocol-connect";
import { Code, ConnectError, type Interceptor, type StreamResponse, type UnaryResponse } from "@connectrpc/connect";
import { authKey } from "../common/caller.js";
import { REDACT_PATHS, type Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
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
  return (next) => (req) => {
    const start = now();
    const service = req.service.typeName;
    const method = req.method.name;
    const protocol = protocolOf(req.header.get("content-type"));
    const requestId = req.header.get("x-request-id") ?? "";
    const series = metrics.rpc.ofMethod(req.method, protocol);
    series.begin();
    let finished = false;
    const finish = (err?: unknown) => {
      if (finished) return;
      finished = true;
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
      const seconds = (now() - start) / 1000;
      series.end(code, seconds);
      const line: Record<string, unknown> = { requestId, service, method, protocol, code, durationMs: Math.round(seconds * 1e4) / 10 };
      const auth = req.contextValues.get(authKey);
      if (auth) line.userId = auth.userId;
      if (err instanceof ConnectError && code !== "ok") line.error = err.rawMessage;
      if (cause !== undefined) line.err = cause;
      (cause === undefined ? unredacted : logger)[level](line, "rpc");
      return err;
    };
    const ended = (res: StreamResponse | UnaryResponse) => {
      if (!res.stream) {
        finish();
        return res;
      }
      const messages = res.message;
      return {
        ...res,
        message: (async function* () {
          try {
            yield* messages;
            finish();
          } catch (e) {
            throw finish(e);
          } finally {
            // the client went away or the stream was abandoned
            if (!finished) finish(new ConnectError("stream abandoned", Code.Canceled));
          }
        })(),
      };
    };
    const failed = (e: unknown) => {
      throw finish(e);
    };
    // `then`, not an async function: one promise less per call.
    try {
      return next(req).then(ended, failed);
    } catch (e) {
      return Promise.reject(finish(e));
    }
  };
}
