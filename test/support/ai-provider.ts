/**
 * Stand-ins for the AI providers: local HTTP servers speaking each provider's wire format, so the
 * tests run the real `openai` and `@anthropic-ai/sdk` clients end to end.
 *
 * - openai: POST /v1/chat/completions (JSON, or SSE `data:` chunks with a final usage chunk when
 *   `stream_options.include_usage`, then `data: [DONE]`), GET /v1/models, errors as {error:{…}}.
 * - anthropic: POST /v1/messages (JSON, or SSE events message_start, content_block_start, ping,
 *   content_block_delta…, content_block_stop, message_delta, message_stop), GET /v1/models,
 *   errors as {type:"error", error:{type, message}}.
 *
 * The "model" is a function of the request (`reply`), so a test decides what it answers. Every
 * request is recorded with its headers and raw body, and when its connection closed.
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type ProviderKind = "openai" | "anthropic";

export interface SeenRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The raw body as sent. */
  raw: string;
  /** The parsed body (JSON requests). */
  body: Record<string, unknown>;
  receivedAt: number;
  /** When the response ended or its connection closed (performance.now()). */
  closedAt?: number;
  /** Whether the whole response was written (false: the client closed first). */
  completed?: boolean;
}

export interface ModelCall {
  /** System prompt. */
  system: string;
  /** The conversation as sent (role, text). */
  messages: { role: string; content: string }[];
  model: string;
  stream: boolean;
  /** Index of this call (0, 1, …) among the calls the stand-in answered. */
  index: number;
  request: SeenRequest;
}

export interface Reply {
  /** The answer text (default ""). */
  text?: string;
  /** An HTTP error instead of an answer. */
  status?: number;
  headers?: Record<string, string>;
  /** The error message of an error reply. */
  message?: string;
  usage?: { input: number; output: number };
  /** Streams: the text in this many pieces (default 4), this many ms apart (default 0); JSON: the wait before answering. */
  pieces?: number;
  delayMs?: number;
  /** Streams: after the first piece, send nothing more and never end (until the client closes). */
  hang?: boolean;
}

export interface ProviderStandIn {
  kind: ProviderKind;
  /** The base URL the SDK is given (AI_BASE_URL). */
  baseUrl: string;
  requests: SeenRequest[];
  /** Requests to the model endpoint only. */
  calls(): SeenRequest[];
  /** Server env for this stand-in (provider, base URL, key, model). */
  env(extra?: Record<string, string>): Record<string, string>;
  /** Replaces the model. */
  setReply(reply: (call: ModelCall) => Reply): void;
  /** Resolves when a model request has been received (the n-th, from 1). */
  waitForCall(n?: number): Promise<SeenRequest>;
  close(): Promise<void>;
}

export const STAND_IN_KEY = "sk-test-standin-0123456789abcdefghijklmnopqrstuv";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function contentText(c: unknown): string {
  if (typeof c === "string") return c;
  if (Array.isArray(c)) return c.map((p) => (typeof p === "object" && p && "text" in p ? String((p as { text: unknown }).text) : "")).join("");
  return "";
}

export async function startProviderStandIn(kind: ProviderKind, reply: (call: ModelCall) => Reply = () => ({ text: "```sql\nSELECT 1\n```" })): Promise<ProviderStandIn> {
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  let model = reply;
  let calls = 0;
  const waiters: { n: number; resolve: (r: SeenRequest) => void }[] = [];
  const modelPath = kind === "openai" ? "/v1/chat/completions" : "/v1/messages";

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const seen: SeenRequest = { method: req.method ?? "", path: (req.url ?? "").split("?")[0], headers: req.headers, raw, body: {}, receivedAt: performance.now() };
    try {
      seen.body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    } catch {
      /* not JSON */
    }
    requests.push(seen);
    res.on("close", () => {
      seen.closedAt = performance.now();
      seen.completed = res.writableFinished;
    });
    if (req.method === "GET" && seen.path === "/v1/models") return models(res);
    if (req.method !== "POST" || seen.path !== modelPath) return error(res, 404, "not found");
    const index = calls++;
    for (const w of waiters.filter((x) => x.n === index + 1)) w.resolve(seen);
    const body = seen.body;
    const msgs = (body.messages ?? []) as { role: string; content: unknown }[];
    const system = kind === "openai" ? contentText(msgs.find((m) => m.role === "system")?.content) : contentText(body.system);
    const call: ModelCall = {
      system,
      messages: msgs.filter((m) => m.role !== "system").map((m) => ({ role: m.role, content: contentText(m.content) })),
      model: String(body.model ?? ""),
      stream: body.stream === true,
      index,
      request: seen,
    };
    const r = model(call);
    if (r.status && r.status >= 400) return error(res, r.status, r.message ?? "error", r.headers);
    if (call.stream) await stream(res, call, r);
    else {
      if (r.delayMs) await sleep(r.delayMs);
      if (!res.destroyed) answer(res, call, r);
    }
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  function models(res: http.ServerResponse) {
    const data =
      kind === "openai"
        ? { object: "list", data: [{ id: "test-model", object: "model", created: 1700000000, owned_by: "stand-in" }] }
        : { data: [{ type: "model", id: "test-model", display_name: "Test", created_at: "2025-01-01T00:00:00Z" }], has_more: false, first_id: "test-model", last_id: "test-model" };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(data));
  }

  function error(res: http.ServerResponse, status: number, message: string, headers: Record<string, string> = {}) {
    const body =
      kind === "openai"
        ? { error: { message, type: status === 401 ? "invalid_request_error" : "api_error", param: null, code: status === 401 ? "invalid_api_key" : null } }
        : { type: "error", error: { type: status === 401 ? "authentication_error" : status === 429 ? "rate_limit_error" : "api_error", message } };
    res.writeHead(status, { "content-type": "application/json", "x-request-id": `req_${status}`, ...headers }).end(JSON.stringify(body));
  }

  function usageOf(call: ModelCall, r: Reply) {
    return r.usage ?? { input: Math.ceil((call.system.length + call.messages.reduce((n, m) => n + m.content.length, 0)) / 4), output: Math.ceil((r.text ?? "").length / 4) };
  }

  function answer(res: http.ServerResponse, call: ModelCall, r: Reply) {
    const text = r.text ?? "";
    const u = usageOf(call, r);
    const body =
      kind === "openai"
        ? {
            id: `chatcmpl-${call.index}`,
            object: "chat.completion",
            created: 1700000000,
            model: call.model,
            choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null }, finish_reason: "stop", logprobs: null }],
            usage: { prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output },
          }
        : {
            id: `msg_${call.index}`,
            type: "message",
            role: "assistant",
            model: call.model,
            content: [{ type: "text", text }],
            stop_reason: "end_turn",
            stop_sequence: null,
            usage: { input_tokens: u.input, output_tokens: u.output },
          };
    res.writeHead(200, { "content-type": "application/json", ...r.headers }).end(JSON.stringify(body));
  }

  async function stream(res: http.ServerResponse, call: ModelCall, r: Reply) {
    const text = r.text ?? "";
    const n = Math.max(1, r.pieces ?? 4);
    const size = Math.ceil(text.length / n) || 1;
    const pieces: string[] = [];
    for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
    const u = usageOf(call, r);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    const send = (event: string | undefined, data: unknown) =>
      res.writableEnded || res.destroyed ? undefined : res.write(`${event ? `event: ${event}\n` : ""}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`);
    const id = `${kind === "openai" ? "chatcmpl" : "msg"}_${call.index}`;
    if (kind === "anthropic") {
      send("message_start", { type: "message_start", message: { id, type: "message", role: "assistant", model: call.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: u.input, output_tokens: 1 } } });
      send("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
      send("ping", { type: "ping" });
    } else {
      send(undefined, { id, object: "chat.completion.chunk", created: 1700000000, model: call.model, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] });
    }
    for (let i = 0; i < pieces.length; i++) {
      if (res.destroyed) return;
      if (kind === "anthropic") send("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: pieces[i] } });
      else send(undefined, { id, object: "chat.completion.chunk", created: 1700000000, model: call.model, choices: [{ index: 0, delta: { content: pieces[i] }, finish_reason: null }] });
      if (r.hang) return; // never ends: the client has to close the connection
      if (r.delayMs) await sleep(r.delayMs);
    }
    if (res.destroyed) return;
    if (kind === "anthropic") {
      send("content_block_stop", { type: "content_block_stop", index: 0 });
      send("message_delta", { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: u.output } });
      send("message_stop", { type: "message_stop" });
    } else {
      send(undefined, { id, object: "chat.completion.chunk", created: 1700000000, model: call.model, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
      const options = call.request.body.stream_options as { include_usage?: boolean } | undefined;
      if (options?.include_usage) {
        send(undefined, { id, object: "chat.completion.chunk", created: 1700000000, model: call.model, choices: [], usage: { prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output } });
      }
      send(undefined, "[DONE]");
    }
    res.end();
  }

  const baseUrl = kind === "openai" ? `http://127.0.0.1:${port}/v1` : `http://127.0.0.1:${port}`;
  return {
    kind,
    baseUrl,
    requests,
    calls: () => requests.filter((r) => r.path === modelPath && r.method === "POST"),
    env: (extra = {}) => ({ AI_PROVIDER: kind, AI_BASE_URL: baseUrl, AI_API_KEY: STAND_IN_KEY, AI_MODEL: "test-model", ...extra }),
    setReply(r) {
      model = r;
    },
    waitForCall(n = calls + 1) {
      const done = requests.filter((r) => r.path === modelPath && r.method === "POST")[n - 1];
      if (done) return Promise.resolve(done);
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
