import type { InStatement, Row } from "@libsql/client";
import type { Db } from "../db/client.js";

/** The only code with SQL for the assistant's tables (migrations/0011_assistant.sql). Every query is scoped by user. */

export interface ConversationRow {
  id: string;
  userId: string;
  connectionId: string;
  title: string;
  messageCount: number;
  createdAt: number;
  updatedAt: number;
}

export interface MessageRow {
  id: string;
  conversationId: string;
  role: "user" | "assistant";
  text: string;
  /** JSON array of the SQL blocks as answered. */
  sqlJson: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  createdAt: number;
}

export interface UsageTotals {
  input: number;
  output: number;
}

const CONV = "id, user_id, connection_id, title, message_count, created_at, updated_at";
const MSG = "id, conversation_id, role, text, sql_json, model, input_tokens, output_tokens, created_at";

function conversation(r: Row): ConversationRow {
  return {
    id: String(r.id),
    userId: String(r.user_id),
    connectionId: String(r.connection_id),
    title: String(r.title),
    messageCount: Number(r.message_count),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

function message(r: Row): MessageRow {
  return {
    id: String(r.id),
    conversationId: String(r.conversation_id),
    role: String(r.role) as MessageRow["role"],
    text: String(r.text),
    sqlJson: String(r.sql_json),
    model: String(r.model),
    inputTokens: Number(r.input_tokens),
    outputTokens: Number(r.output_tokens),
    createdAt: Number(r.created_at),
  };
}

export class AssistantStore {
  constructor(private readonly db: Db) {}

  // ── conversations ────────────────────────────────────────────────────────

  async getConversation(userId: string, id: string): Promise<ConversationRow | undefined> {
    const r = await this.db.execute({ sql: `SELECT ${CONV} FROM assistant_conversations WHERE id = ? AND user_id = ?`, args: [id, userId] });
    return r.rows[0] ? conversation(r.rows[0]) : undefined;
  }

  /** A page, most recently updated first, after the given (updatedAt, id). */
  async listConversations(userId: string, opts: { limit: number; before?: { updatedAt: number; id: string }; connectionId?: string }): Promise<ConversationRow[]> {
    const where = ["user_id = ?"];
    const args: (string | number)[] = [userId];
    if (opts.before) {
      where.push("(updated_at, id) < (?, ?)");
      args.push(opts.before.updatedAt, opts.before.id);
    }
    if (opts.connectionId) {
      where.push("connection_id = ?");
      args.push(opts.connectionId);
    }
    const r = await this.db.execute({
      sql: `SELECT ${CONV} FROM assistant_conversations WHERE ${where.join(" AND ")} ORDER BY updated_at DESC, id DESC LIMIT ?`,
      args: [...args, opts.limit],
    });
    return r.rows.map(conversation);
  }

  async deleteConversation(userId: string, id: string): Promise<boolean> {
    const r = await this.db.execute({ sql: "DELETE FROM assistant_conversations WHERE id = ? AND user_id = ?", args: [id, userId] });
    return r.rowsAffected === 1;
  }

  /** The messages of a conversation the caller owns, oldest first (the newest `limit` when given). */
  async messages(userId: string, conversationId: string, limit?: number): Promise<MessageRow[]> {
    const r = await this.db.execute({
      sql: `SELECT ${MSG.split(", ").map((c) => `m.${c}`).join(", ")} FROM assistant_messages m JOIN assistant_conversations c ON c.id = m.conversation_id
             WHERE m.conversation_id = ? AND c.user_id = ? ORDER BY m.id DESC LIMIT ?`,
      args: [conversationId, userId, limit ?? -1],
    });
    return r.rows.map(message).reverse();
  }

  /**
   * Adds a message, creating the conversation when `create` is given, in one batch; false when the
   * conversation is gone (deleted meanwhile) or belongs to someone else.
   */
  async addMessage(userId: string, m: MessageRow, create?: ConversationRow): Promise<boolean> {
    const stmts: InStatement[] = [];
    if (create) {
      stmts.push({
        sql: `INSERT INTO assistant_conversations (${CONV}) VALUES (?, ?, ?, ?, 0, ?, ?)`,
        args: [create.id, create.userId, create.connectionId, create.title, create.createdAt, create.updatedAt],
      });
    }
    stmts.push({
      sql: `UPDATE assistant_conversations SET message_count = message_count + 1, updated_at = max(updated_at, ?) WHERE id = ? AND user_id = ?`,
      args: [m.createdAt, m.conversationId, userId],
    });
    stmts.push({
      sql: `INSERT INTO assistant_messages (${MSG}, updated_at)
            SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM assistant_conversations WHERE id = ? AND user_id = ?)`,
      args: [m.id, m.conversationId, m.role, m.text, m.sqlJson, m.model, m.inputTokens, m.outputTokens, m.createdAt, m.createdAt, m.conversationId, userId],
    });
    const rs = await this.db.batch(stmts, "write");
    return rs[rs.length - 1].rowsAffected === 1;
  }

  // ── usage and limits ─────────────────────────────────────────────────────

  /** Adds one request's tokens to the user's day for the provider and model. */
  async addUsage(u: { userId: string; day: number; provider: string; model: string; input: number; output: number; now: number }): Promise<void> {
    await this.db.execute({
      sql: `INSERT INTO assistant_usage (user_id, day, provider, model, requests, input_tokens, output_tokens, created_at, updated_at)
            VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)
            ON CONFLICT (user_id, day, provider, model) DO UPDATE SET requests = requests + 1,
              input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens,
              updated_at = excluded.updated_at`,
      args: [u.userId, u.day, u.provider, u.model, u.input, u.output, u.now, u.now],
    });
  }

  async dayUsage(userId: string, day: number): Promise<UsageTotals> {
    const r = await this.db.execute({
      sql: "SELECT coalesce(sum(input_tokens), 0) AS i, coalesce(sum(output_tokens), 0) AS o FROM assistant_usage WHERE user_id = ? AND day = ?",
      args: [userId, day],
    });
    return { input: Number(r.rows[0].i), output: Number(r.rows[0].o) };
  }

  /** Counts one request in the user's window; returns the count including it. */
  async hit(userId: string, windowStart: number, now: number): Promise<number> {
    const r = await this.db.execute({
      sql: `INSERT INTO assistant_rate (user_id, window_start, count, created_at, updated_at) VALUES (?, ?, 1, ?, ?)
            ON CONFLICT (user_id, window_start) DO UPDATE SET count = count + 1, updated_at = excluded.updated_at
            RETURNING count`,
      args: [userId, windowStart, now, now],
    });
    return Number(r.rows[0]?.count ?? 1);
  }

  /** Old rate windows and usage rows (job). */
  async deleteOld(rateBefore: number, usageBeforeDay: number): Promise<{ rate: number; usage: number }> {
    const rs = await this.db.batch(
      [
        { sql: "DELETE FROM assistant_rate WHERE window_start < ?", args: [rateBefore] },
        { sql: "DELETE FROM assistant_usage WHERE day < ?", args: [usageBeforeDay] },
      ],
      "write",
    );
    return { rate: rs[0].rowsAffected, usage: rs[1].rowsAffected };
  }
}
