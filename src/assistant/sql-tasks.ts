import { writesData } from "../engine/classify.js";
import { parseAnswer, tablesIn } from "./answer.js";
import { checkText, LIMITS, type AssistantCore, type ContextInfo, type Scope, type SqlAnswer } from "./assistant.js";
import { repairTurns, type Task } from "./prompt.js";
import type { Usage } from "./providers/types.js";

export interface SqlResult {
  answer: SqlAnswer;
  usage: Usage;
  model: string;
  context: ContextInfo;
}

export interface ScopeRequest {
  connectionId: string;
  schema: string;
  refreshSchema: boolean;
  includeSampleRows: boolean;
  model: string;
}

/**
 * GenerateSql, FixSql, OptimizeSql and ExplainSql. An SQL answer is examined (EXPLAIN, writes,
 * tables); one the database rejected, or one that writes for a read-only request, goes back to the
 * model with the reason, up to AI_REPAIR_ROUNDS times. The SQL is never run.
 */
export class SqlTasks {
  constructor(private readonly core: AssistantCore) {}

  generate(userId: string, req: ScopeRequest & { prompt: string; readOnly: boolean }, signal: AbortSignal): Promise<SqlResult> {
    return this.core.observe("GenerateSql", req.model, async () => {
      this.core.provider();
      checkText("prompt", req.prompt, LIMITS.text, true);
      return this.sqlTask(userId, req, { kind: "generate", prompt: req.prompt, readOnly: req.readOnly }, signal);
    });
  }

  fix(userId: string, req: ScopeRequest & { sql: string; error: string; prompt: string; readOnly: boolean }, signal: AbortSignal): Promise<SqlResult> {
    return this.core.observe("FixSql", req.model, async () => {
      this.core.provider();
      checkText("sql", req.sql, LIMITS.sql, true);
      checkText("error", req.error, LIMITS.text, false);
      checkText("prompt", req.prompt, LIMITS.text, false);
      return this.sqlTask(userId, req, { kind: "fix", sql: req.sql, error: req.error, prompt: req.prompt, readOnly: req.readOnly }, signal, req.sql);
    });
  }

  optimize(userId: string, req: ScopeRequest & { sql: string; plan: string }, signal: AbortSignal): Promise<SqlResult> {
    return this.core.observe("OptimizeSql", req.model, async () => {
      this.core.provider();
      checkText("sql", req.sql, LIMITS.sql, true);
      checkText("plan", req.plan, LIMITS.sql, false);
      return this.sqlTask(userId, req, { kind: "optimize", sql: req.sql, plan: req.plan }, signal, req.sql);
    });
  }

  async explain(
    userId: string,
    req: { sql: string; connectionId: string; schema: string; model: string; refreshSchema: boolean },
    signal: AbortSignal,
  ): Promise<{ explanation: string; writes: boolean; tablesUsed: string[]; usage: Usage; model: string; context?: ContextInfo }> {
    return this.core.observe("ExplainSql", req.model, async () => {
      this.core.provider();
      checkText("sql", req.sql, LIMITS.sql, true);
      const model = this.core.model(req.model);
      let scope: Scope | undefined;
      if (req.connectionId !== "") {
        scope = await this.core.scope(userId, { connectionId: req.connectionId, schema: req.schema, refresh: req.refreshSchema, samples: false, text: req.sql, sql: req.sql });
      } else {
        await this.core.deps.limits.admit(userId);
      }
      const usage: Usage = { input: 0, output: 0 };
      try {
        const reply = await this.core.complete(this.core.request({ kind: "explain", sql: req.sql }, model, scope), signal, usage);
        const s = scope?.schema;
        return {
          explanation: reply.text.trim(),
          writes: writesData(req.sql, scope?.row.engine ?? "postgresql"),
          tablesUsed: s ? tablesIn(req.sql, s.byName, (k) => s.byKey.get(k)!.table.name).map((k) => s.byKey.get(k)!.table.name) : [],
          usage,
          model,
          context: scope?.info,
        };
      } finally {
        await this.core.account(userId, model, usage);
      }
    });
  }

  private async sqlTask(userId: string, req: ScopeRequest & { readOnly?: boolean }, task: Task, signal: AbortSignal, sql?: string): Promise<SqlResult> {
    const model = this.core.model(req.model);
    const text = task.kind === "generate" ? task.prompt : task.kind === "fix" ? `${task.prompt}\n${task.error}` : "";
    const scope = await this.core.scope(userId, {
      connectionId: req.connectionId,
      schema: req.schema,
      refresh: req.refreshSchema,
      samples: req.includeSampleRows,
      text: `${text}\n${sql ?? ""}`,
      sql,
    });
    // An optimization of a read must stay a read: a writing answer is flagged as a violation.
    const readOnly = task.kind === "optimize" ? !writesData(task.sql, scope.row.engine) : (req.readOnly ?? false);
    const usage: Usage = { input: 0, output: 0 };
    const nonce = this.core.nonce();
    try {
      const request = this.core.request(task, model, scope, nonce);
      let reply = await this.core.complete(request, signal, usage);
      let parsed = parseAnswer(reply.text);
      let answer = await this.core.examine(userId, scope, parsed.sql, { readOnly, signal, repairRounds: 0, explanation: parsed.explanation });
      for (let round = 1; round <= this.core.deps.settings.repairRounds; round++) {
        const rejected = answer.validation.checked && !answer.validation.ok;
        const violation = answer.writes && (readOnly || scope.row.readOnly);
        if (!rejected && !violation) break;
        request.messages.push(...repairTurns(reply.text, { engineError: rejected ? answer.validation.engineError : undefined, readOnly: violation }, nonce));
        reply = await this.core.complete(request, signal, usage);
        parsed = parseAnswer(reply.text);
        answer = await this.core.examine(userId, scope, parsed.sql, { readOnly, signal, repairRounds: round, explanation: parsed.explanation });
      }
      return { answer, usage, model, context: scope.info };
    } finally {
      await this.core.account(userId, model, usage);
    }
  }
}
