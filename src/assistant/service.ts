import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  AssistantService,
  Provider as ProviderKind,
  Role,
  WarningKind,
  type ChatMessageSchema,
  type ContextInfoSchema,
  type ConversationSchema,
  type SqlAnswerSchema,
  type UsageSchema,
} from "../../gen/sqlstudio/ai/v1/assistant_pb.js";
import { userIdOf } from "../common/caller.js";
import type { ContextInfo, SqlAnswer, WarningKind as Warning } from "./assistant.js";
import type { Chat, ChatMessageOut } from "./chat.js";
import type { Conversations } from "./conversations.js";
import type { Usage } from "./providers/types.js";
import type { SqlResult, SqlTasks } from "./sql-tasks.js";
import type { ConversationRow } from "./store.js";


const WARNINGS: Record<Warning, WarningKind> = {
  writes: WarningKind.WRITES,
  readOnlyViolation: WarningKind.READ_ONLY_VIOLATION,
  notValidated: WarningKind.NOT_VALIDATED,
  invalid: WarningKind.INVALID,
  contextTruncated: WarningKind.CONTEXT_TRUNCATED,
};

const usageOut = (u: Usage): MessageInitShape<typeof UsageSchema> => ({ inputTokens: BigInt(u.input), outputTokens: BigInt(u.output) });

function answerOut(a: SqlAnswer): MessageInitShape<typeof SqlAnswerSchema> {
  return {
    sql: a.sql,
    explanation: a.explanation,
    validation: a.validation,
    writes: a.writes,
    tablesUsed: a.tablesUsed,
    warnings: a.warnings.map((w) => ({ kind: WARNINGS[w.kind], message: w.message })),
    repairRounds: a.repairRounds,
  };
}

const contextOut = (c: ContextInfo | undefined): MessageInitShape<typeof ContextInfoSchema> | undefined => c;

function resultOut(r: SqlResult) {
  return { answer: answerOut(r.answer), usage: usageOut(r.usage), model: r.model, context: contextOut(r.context) };
}

function messageOut(m: ChatMessageOut): MessageInitShape<typeof ChatMessageSchema> {
  return {
    id: m.id,
    role: m.role === "user" ? Role.USER : Role.ASSISTANT,
    text: m.text,
    sql: m.sql.map(answerOut),
    usage: usageOut(m.usage),
    model: m.model,
    createdAt: timestampFromMs(m.createdAt),
  };
}

function conversationOut(c: ConversationRow): MessageInitShape<typeof ConversationSchema> {
  return { id: c.id, title: c.title, connectionId: c.connectionId, messageCount: c.messageCount, createdAt: timestampFromMs(c.createdAt), updatedAt: timestampFromMs(c.updatedAt) };
}

/** sqlstudio.ai.v1.AssistantService: request in, the assistant's logic, answer out. */
export function assistantService(tasks: SqlTasks, chat: Chat, conversations: Conversations): ServiceImpl<typeof AssistantService> {
  return {
    async generateSql(req, ctx) {
      return resultOut(await tasks.generate(userIdOf(ctx), req, ctx.signal));
    },
    async fixSql(req, ctx) {
      return resultOut(await tasks.fix(userIdOf(ctx), req, ctx.signal));
    },
    async optimizeSql(req, ctx) {
      return resultOut(await tasks.optimize(userIdOf(ctx), { ...req, includeSampleRows: false }, ctx.signal));
    },
    async explainSql(req, ctx) {
      const r = await tasks.explain(userIdOf(ctx), req, ctx.signal);
      return { explanation: r.explanation, writes: r.writes, tablesUsed: r.tablesUsed, usage: usageOut(r.usage), model: r.model, context: contextOut(r.context) };
    },
    async *chat(req, ctx) {
      for await (const ev of chat.run(userIdOf(ctx), req, ctx.signal)) {
        if (ev.case === "started") yield { event: { case: "started", value: { conversationId: ev.conversationId, messageId: ev.messageId, context: contextOut(ev.context) } } };
        else if (ev.case === "delta") yield { event: { case: "delta", value: { text: ev.text } } };
        else yield { event: { case: "done", value: { message: messageOut(ev.message), usage: usageOut(ev.usage) } } };
      }
    },
    async getStatus(req, ctx) {
      const s = await conversations.status(userIdOf(ctx), req.checkProvider);
      return {
        ...s,
        provider: s.provider === "openai" ? ProviderKind.OPENAI : s.provider === "anthropic" ? ProviderKind.ANTHROPIC : ProviderKind.UNSPECIFIED,
        limits: { ...s.limits, tokensPerDay: BigInt(s.limits.tokensPerDay) },
        usageToday: usageOut(s.usageToday),
      };
    },
    async listConversations(req, ctx) {
      const page = await conversations.list(userIdOf(ctx), req);
      return { conversations: page.conversations.map(conversationOut), nextPageToken: page.next };
    },
    async getConversation(req, ctx) {
      const r = await conversations.get(userIdOf(ctx), req.id);
      return { conversation: conversationOut(r.conversation), messages: r.messages.map(messageOut) };
    },
    async deleteConversation(req, ctx) {
      await conversations.delete(userIdOf(ctx), req.id);
      return {};
    },
  };
}
