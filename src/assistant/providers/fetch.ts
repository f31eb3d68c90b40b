/** A 429 asking for a longer wait than this is answered to the client at once. */
export const MAX_RETRY_WAIT_MS = 2_000;

/**
 * The fetch the SDKs are given. Both SDKs retry a 429 after waiting as long as its retry-after
 * asks (no ceiling), so a provider asking for 30 s would hold an RPC for a minute. A 429 asking for
 * more than `maxWaitMs` is marked `x-should-retry: false`, the header both SDKs obey, and the
 * client hears ResourceExhausted with the provider's retry-after at once; shorter waits are retried.
 */
export function providerFetch(maxWaitMs: number, base: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const res = await base(input, init);
    if (res.status !== 429) return res;
    const wait = retryAfterMs(res.headers);
    if (wait !== undefined && wait <= maxWaitMs) return res;
    const headers = new Headers(res.headers);
    headers.set("x-should-retry", "false");
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
  };
}

/**
 * The client options both SDKs take alike: the configured timeout and retries, `providerFetch`,
 * and the SDK's own logging off.
 */
export function sdkOptions(s: { timeoutMs: number; maxRetries: number }, fetchImpl: typeof fetch) {
  return { timeout: s.timeoutMs, maxRetries: s.maxRetries, fetch: providerFetch(MAX_RETRY_WAIT_MS, fetchImpl), logLevel: "off" as const };
}

/** `retry-after-ms`, or `retry-after` in seconds or as an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = Number.parseFloat(headers?.get("retry-after-ms") ?? "");
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const v = headers?.get("retry-after");
  if (!v) return undefined;
  const s = Number.parseFloat(v);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
