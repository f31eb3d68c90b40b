import Anthropic from "@anthropic-ai/sdk";
import { sdkOptions } from "./fetch.js";
import { sdkFailure, type ModelReply, type ModelRequest, type Provider, type ProviderSettings, type StreamEvent } from "./types.js";

/**
 * The Anthropic Messages API through `@anthropic-ai/sdk`. Everything comes from config: the SDK's
 * environment fallbacks (ANTHROPIC_BASE_URL, ANTHROPIC_AUTH_TOKEN) are pinned off.
 */
export function anthropicProvider(s: ProviderSettings, fetchImpl: typeof fetch = fetch): Provider {
  const client = new Anthropic({
    apiKey: s.apiKey ?? "",
    authToken: null,
    baseURL: s.baseUrl ?? "https://api.anthropic.com",
    ...sdkOptions(s, fetchImpl),
  });
  const body = (req: ModelRequest) => ({
    model: req.model,
    max_tokens: req.maxOutputTokens,
    system: req.system,
    messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
  });
  return {
    kind: "anthropic",
    async complete(req, signal): Promise<ModelReply> {
      try {
        const r = await client.messages.create({ ...body(req), stream: false }, { signal });
        const text = r.content.map((b) => (b.type === "text" ? b.text : "")).join("");
        return { text, usage: { input: r.usage.input_tokens, output: r.usage.output_tokens } };
      } catch (err) {
        throw failure(err);
      }
    },
    async *stream(req, signal): AsyncGenerator<StreamEvent> {
      let text = "";
      const usage = { input: 0, output: 0 };
      try {
        const stream = await client.messages.create({ ...body(req), stream: true }, { signal });
        for await (const event of stream) {
          if (event.type === "message_start") {
            usage.input = event.message.usage.input_tokens;
            usage.output = event.message.usage.output_tokens;
          } else if (event.type === "content_block_delta" && event.delta.type === "text_delta") {
            text += event.delta.text;
            yield { delta: event.delta.text };
          } else if (event.type === "message_delta") {
            usage.output = event.usage.output_tokens;
          }
        }
      } catch (err) {
        throw failure(err);
      }
      yield { done: { text, usage } };
    },
    async ping(signal) {
      await client.models.list({}, { signal, maxRetries: 0 }).catch((err: unknown) => {
        throw failure(err);
      });
    },
  };
}

/** The SDK's error in neutral terms (types.ts); anything else unchanged. */
const failure = (err: unknown): unknown => sdkFailure(Anthropic, err);
