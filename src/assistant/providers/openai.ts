import OpenAI from "openai";
import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { sdkOptions } from "./fetch.js";
import { estimateTokens, sdkFailure, type ModelReply, type ModelRequest, type Provider, type ProviderSettings, type StreamEvent } from "./types.js";

/**
 * The OpenAI chat.completions API through the `openai` SDK: OpenAI itself, or with a base URL any
 * OpenAI-compatible server (Ollama, vLLM, LM Studio, llama.cpp). Everything comes from config: the
 * SDK's environment fallbacks (OPENAI_BASE_URL, OPENAI_ORG_ID, …) are pinned off.
 */
export function openaiProvider(s: ProviderSettings, fetchImpl: typeof fetch = fetch): Provider {
  const official = !s.baseUrl;
  const client = new OpenAI({
    // Local servers (Ollama) take any key; the SDK insists on one.
    apiKey: s.apiKey || "unused",
    baseURL: s.baseUrl ?? "https://api.openai.com/v1",
    organization: null,
    project: null,
    ...sdkOptions(s, fetchImpl),
  });
  const body = (req: ModelRequest) => ({
    model: req.model,
    messages: [{ role: "system", content: req.system } as ChatCompletionMessageParam, ...req.messages.map((m): ChatCompletionMessageParam => ({ role: m.role, content: m.content }))],
    // OpenAI's reasoning models take only max_completion_tokens; compatible servers know max_tokens.
    ...(official ? { max_completion_tokens: req.maxOutputTokens } : { max_tokens: req.maxOutputTokens }),
  });
  const estimate = (req: ModelRequest) => estimateTokens(req.system + req.messages.map((m) => m.content).join(""));
  return {
    kind: "openai",
    async complete(req, signal): Promise<ModelReply> {
      try {
        const r = await client.chat.completions.create({ ...body(req), stream: false }, { signal });
        const text = r.choices[0]?.message?.content ?? "";
        return { text, usage: { input: r.usage?.prompt_tokens ?? estimate(req), output: r.usage?.completion_tokens ?? estimateTokens(text) } };
      } catch (err) {
        throw failure(err);
      }
    },
    async *stream(req, signal): AsyncGenerator<StreamEvent> {
      let text = "";
      let usage: ModelReply["usage"] | undefined;
      try {
        const stream = await client.chat.completions.create({ ...body(req), stream: true, stream_options: { include_usage: true } }, { signal });
        for await (const chunk of stream) {
          const delta = chunk.choices[0]?.delta?.content;
          if (delta) {
            text += delta;
            yield { delta };
          }
          if (chunk.usage) usage = { input: chunk.usage.prompt_tokens, output: chunk.usage.completion_tokens };
        }
      } catch (err) {
        throw failure(err);
      }
      yield { done: { text, usage: usage ?? { input: estimate(req), output: estimateTokens(text) } } };
    },
    async ping(signal) {
      await client.models.list({ signal, maxRetries: 0 }).catch((err: unknown) => {
        throw failure(err);
      });
    },
  };
}

/** The SDK's error in neutral terms (types.ts); anything else unchanged. */
const failure = (err: unknown): unknown => sdkFailure(OpenAI, err);
