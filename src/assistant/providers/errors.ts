import { ConnectError } from "@connectrpc/connect";
import type { Logger } from "../../observability/logger.js";
import { KEY_SHAPES } from "../../sync/secrets.js";
import { modelNotFound, providerRateLimited, providerRejected, providerUnavailable, requestRefused } from "../errors.js";
import { retryAfterMs } from "./fetch.js";
import { ProviderFailure } from "./types.js";

/** How long a client waits after a provider 429 without a retry-after. */
const DEFAULT_RETRY_AFTER_MS = 10_000;

/** Whether a provider request timed out. */
export function isTimeout(err: unknown): boolean {
  return err instanceof ProviderFailure && err.kind === "timeout";
}

/** Text with the given secrets and anything shaped like a key replaced, for logs. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join("[redacted]");
  for (const re of KEY_SHAPES) out = out.replace(new RegExp(re.source, re.flags.includes("g") ? re.flags : `${re.flags}g`), "[redacted]");
  return out.slice(0, 500);
}

/**
 * An error of either SDK (after its retries) as the client hears it. An aborted request ends with
 * the reason of the abort (client gone: Canceled; deadline: DeadlineExceeded; shutdown:
 * Unavailable). Rejected credentials are logged without the key.
 */
export function providerError(err: unknown, ctx: { provider: string; signal: AbortSignal; logger: Logger; secrets: readonly string[] }): unknown {
  if (ctx.signal.aborted) return ConnectError.from(ctx.signal.reason);
  if (err instanceof ConnectError) return err;
  if (!(err instanceof ProviderFailure)) return err;
  if (err.kind === "timeout") return providerUnavailable("timeout");
  if (err.kind === "connection") return providerUnavailable("connection failed");
  // Aborted without our signal: the SDK's own timer.
  if (err.kind === "aborted" || err.status === undefined) return providerUnavailable("timeout");
  const status = err.status;
  const requestId = err.headers?.get("x-request-id") ?? err.headers?.get("request-id") ?? undefined;
  const line = { provider: ctx.provider, status, requestId, providerMessage: scrub(err.message, ctx.secrets) };
  if (status === 429) return providerRateLimited(retryAfterMs(err.headers) ?? DEFAULT_RETRY_AFTER_MS);
  if (status === 401 || status === 403) {
    ctx.logger.warn(line, "the AI provider rejected the configured credentials");
    return providerRejected(status);
  }
  if (status === 404) {
    ctx.logger.warn(line, "the AI provider does not know the model");
    return modelNotFound();
  }
  if (status === 408 || status === 409 || status >= 500) {
    ctx.logger.warn(line, "the AI provider failed");
    return providerUnavailable(`HTTP ${status}`);
  }
  ctx.logger.warn(line, "the AI provider refused the request");
  return requestRefused(status);
}
