/** The one small interface the assistant talks to a model through (DESIGN.md §8). */

export interface Turn {
  role: "user" | "assistant";
  content: string;
}

export interface ModelRequest {
  model: string;
  system: string;
  messages: Turn[];
  maxOutputTokens: number;
}

export interface Usage {
  input: number;
  output: number;
}

export interface ModelReply {
  text: string;
  usage: Usage;
}

/** Stream events: text as it arrives, then the whole reply. */
export type StreamEvent = { delta: string } | { done: ModelReply };

export type ProviderKind = "openai" | "anthropic";

/**
 * A model provider behind its SDK. `signal` aborts the HTTP request (the provider sees its
 * connection closed); errors are the SDK's own, mapped by providers/errors.ts.
 */
export interface Provider {
  readonly kind: ProviderKind;
  complete(req: ModelRequest, signal: AbortSignal): Promise<ModelReply>;
  stream(req: ModelRequest, signal: AbortSignal): AsyncIterable<StreamEvent>;
  /** Lists the provider's models: succeeds when the provider answers and accepts the key. */
  ping(signal: AbortSignal): Promise<void>;
}

/** What the provider SDKs are built from (config only; a request never chooses any of it). */
export interface ProviderSettings {
  kind: ProviderKind;
  apiKey?: string;
  baseUrl?: string;
  timeoutMs: number;
  maxRetries: number;
}

/** Tokens of a text when the provider reports none (an OpenAI-compatible server without usage). */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

/**
 * A provider request that failed, in SDK-neutral terms (the adapters translate their SDK's errors,
 * so nothing else needs to load an SDK): an HTTP answer with its status and headers, or a timeout,
 * a connection failure or an abort.
 */
export class ProviderFailure extends Error {
  constructor(
    readonly kind: "http" | "timeout" | "connection" | "aborted",
    message: string,
    readonly status?: number,
    readonly headers?: Headers,
  ) {
    super(message);
    this.name = "ProviderFailure";
  }
}

/** The error classes both SDKs export (the same names and shapes). */
type ErrorClass<T = object> = abstract new (...args: never[]) => T;
export interface SdkErrors {
  APIConnectionTimeoutError: ErrorClass;
  APIConnectionError: ErrorClass;
  APIUserAbortError: ErrorClass;
  APIError: ErrorClass<{ status?: unknown; headers?: unknown }>;
}

/** An SDK's error in neutral terms; anything else unchanged. */
export function sdkFailure(sdk: SdkErrors, err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  if (err instanceof sdk.APIConnectionTimeoutError) return new ProviderFailure("timeout", err.message);
  if (err instanceof sdk.APIConnectionError) return new ProviderFailure("connection", err.message);
  if (err instanceof sdk.APIUserAbortError) return new ProviderFailure("aborted", err.message);
  if (err instanceof sdk.APIError && typeof err.status === "number") return new ProviderFailure("http", err.message, err.status, err.headers as Headers | undefined);
  return err;
}
