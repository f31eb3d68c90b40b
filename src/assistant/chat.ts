import { Code, ConnectError } from "@connectrpc/connect";
import { invalidArgument } from "../common/errors.js";
import { sqlBlocks } from "./answer.js";
import { checkText, LIMITS, type AssistantCore, type ContextInfo, type SqlAnswer } from "./assistant.js";
import { oneLine } from "./ddl.js";
import { conversationNotFound } from "./errors.js";
import { estimateTokens, type ModelReply, type Turn, type Usage } from "./providers/types.js";
import type { AssistantStore, ConversationRow, MessageRow } from "./store.js";

export interface ChatMessageOut {
  id: string;
  role: "user" | "assistant";
  text: string;
  sql: SqlAnswer[];
  usage: Usage;
  model: string;
  createdAt: number;
}

export type ChatEvent =
  | { case: "started"; conversationId: string; messageId: string; context: ContextInfo }
  | { case: "delta"; text: string }
  | { case: "done"; message: ChatMessageOut; usage: Usage };

export interface ChatRequest {
  conversationId: string;
  connectionId: string;
  schema: string;
  message: string;
  includeSampleRows: boolean;
  refreshSchema: boolean;
  model: string;
  readOnly: boolean;
}

export const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Earlier messages sent with a new one. */
const HISTORY_MESSAGES = 20;
const HISTORY_TOKENS = 4_000;
/** SQL blocks of one answer that are examined (EXPLAIN each). */
const MAX_BLOCKS = 5;

export function messageOut(m: MessageRow): ChatMessageOut {
  return {
    id: m.id,
    role: m.role,
    text: m.text,
    sql: JSON.parse(m.sqlJson) as SqlAnswer[],
    usage: { input: m.inputTokens, output: m.outputTokens },
    model: m.model,
    createdAt: m.createdAt,
  };
}

/** Earlier turns, newest kept, within the history budget. */
function turnsOf(history: MessageRow[]): Turn[] {
  const out: Turn[] = [];
  let used = 0;
  for (let i = history.length - 1; i >= 0; i--) {
    used += estimateTokens(history[i].text);
    if (used > HISTORY_TOKENS) break;
    out.unshift({ role: history[i].role, content: history[i].text });
  }
  // A conversation sent to a model starts with the user.
  while (out[0]?.role === "assistant") out.shift();
  return out;
}

/**
 * Chat: the caller's message is stored, the model's answer streams back as it is written (the
 * provider request carries the RPC's AbortSignal: a client that goes away, the deadline or
 * shutdown close the provider's connection), then its SQL blocks are examined and the answer is
 * stored with its usage. An answer cut short is not stored; its estimated tokens still count.
 */
export class Chat {
  constructor(
    private readonly core: AssistantCore,
    private readonly store: AssistantStore,
  ) {}

  async *run(userId: string, req: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatEvent> {
    const started = performance.now();
    const labels = { provider: this.core.providerLabel, model: this.core.labelModel(req.model), rpc: "Chat" };
    let failure: unknown;
    let finished = false;
    try {
      yield* this.exchange(userId, req, signal);
      finished = true;
    } catch (err) {
      failure = err;
      throw err;
    } finally {
      // Abandoned: the client went away (or the shutdown deadline ended the stream).
      const err = failure ?? (finished ? undefined : signal.aborted ? ConnectError.from(signal.reason) : new ConnectError("stream abandoned", Code.Canceled));
      this.core.deps.metrics.finished(labels, (performance.now() - started) / 1000, err);
    }
  }

  private async conversation(userId: string, req: ChatRequest): Promise<ConversationRow | undefined> {
    if (req.conversationId === "") return undefined;
    const conv = ID.test(req.conversationId) ? await this.store.getConversation(userId, req.conversationId) : undefined;
    if (!conv) throw conversationNotFound("conversation_id");
    return conv;
  }

  private async *exchange(userId: string, req: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatEvent> {
    this.core.provider();
    checkText("message", req.message, LIMITS.text, true);
    const model = this.core.model(req.model);
    const conv = await this.conversation(userId, req);
    if (conv && req.connectionId !== "" && req.connectionId !== conv.connectionId) {
      throw invalidArgument("connection_id", "is not the connection of this conversation (leave it empty to continue)");
    }
    const connectionId = req.connectionId || conv?.connectionId || "";
    if (connectionId === "") throw invalidArgument("connection_id", "is required to start a conversation");
    const history = conv ? await this.store.messages(userId, conv.id, HISTORY_MESSAGES) : [];
    const previousSql = history.flatMap((m) => (m.role === "assistant" ? (JSON.parse(m.sqlJson) as SqlAnswer[]).map((a) => a.sql) : [])).join(";\n");
    const lastQuestion = [...history].reverse().find((m) => m.role === "user")?.text ?? "";
    const scope = await this.core.scope(userId, {
      connectionId,
      schema: req.schema,
      refresh: req.refreshSchema,
      samples: req.includeSampleRows,
      text: `${req.message}\n${lastQuestion}`,
      sql: previousSql,
    });

    const { runtime } = this.core.deps;
    const now = runtime.now();
    const conversationId = conv?.id ?? runtime.newId();
    const created: ConversationRow | undefined = conv
      ? undefined
      : { id: conversationId, userId, connectionId, title: oneLine(req.message, 80), messageCount: 0, createdAt: now, updatedAt: now };
    const asked: MessageRow = { id: runtime.newId(), conversationId, role: "user", text: req.message, sqlJson: "[]", model: "", inputTokens: 0, outputTokens: 0, createdAt: now };
    if (!(await this.store.addMessage(userId, asked, created))) throw conversationNotFound("conversation_id");
    yield { case: "started", conversationId, messageId: asked.id, context: scope.info };

    const request = this.core.request({ kind: "chat", history: turnsOf(history), message: req.message, readOnly: req.readOnly }, model, scope);
    const usage: Usage = { input: 0, output: 0 };
    let text = "";
    let reply: ModelReply | undefined;
    try {
      for await (const ev of this.core.stream(request, signal)) {
        if ("delta" in ev) {
          text += ev.delta;
          yield { case: "delta", text: ev.delta };
        } else reply = ev.done;
      }
      if (!reply) throw new Error("the provider's stream ended without a reply");
      this.core.count(model, reply.usage, usage);
    } finally {
      if (!reply) {
        // Cut short (client gone, deadline, shutdown, provider error): the tokens still count.
        this.core.count(model, { input: estimateTokens(request.system + request.messages.map((m) => m.content).join("")), output: estimateTokens(text) }, usage);
      }
      await this.core.account(userId, model, usage);
    }

    const sql: SqlAnswer[] = [];
    for (const block of sqlBlocks(reply.text).slice(0, MAX_BLOCKS)) {
      sql.push(await this.core.examine(userId, scope, block, { readOnly: req.readOnly, signal, repairRounds: 0, explanation: "" }));
    }
    const answered: MessageRow = {
      id: runtime.newId(),
      conversationId,
      role: "assistant",
      text: reply.text,
      sqlJson: JSON.stringify(sql),
      model,
      inputTokens: usage.input,
      outputTokens: usage.output,
      createdAt: Math.max(runtime.now(), now + 1),
    };
    if (!(await this.store.addMessage(userId, answered))) throw conversationNotFound("conversation_id");
    yield { case: "done", message: messageOut(answered), usage };
  }
}
