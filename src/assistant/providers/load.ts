import type { Provider, ProviderSettings } from "./types.js";

/**
 * The configured provider, its SDK loaded on first use (and started loading now): the SDKs take
 * seconds to import on a busy machine, which a server without an assistant, or one starting, should
 * not pay. Only the configured SDK is ever loaded.
 */
export function loadProvider(s: ProviderSettings): Provider {
  let real: Promise<Provider> | undefined;
  const get = () =>
    (real ??=
      s.kind === "openai" ? import("./openai.js").then((m) => m.openaiProvider(s)) : import("./anthropic.js").then((m) => m.anthropicProvider(s)));
  // Warm it in the background; a failure surfaces on the first request.
  get().catch(() => undefined);
  return {
    kind: s.kind,
    complete: async (req, signal) => (await get()).complete(req, signal),
    async *stream(req, signal) {
      yield* (await get()).stream(req, signal);
    },
    ping: async (signal) => (await get()).ping(signal),
  };
}
