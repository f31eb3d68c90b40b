import type { Runtime } from "../common/runtime.js";
import type { Config } from "../config/schema.js";
import { writesData } from "../engine/classify.js";
import type { Connections } from "../engine/connections.js";
import { explainCheck } from "../engine/explain-check.js";
import type { ConnectionRow } from "../engine/store.js";
import type { Logger } from "../observability/logger.js";
import { invalidArgument } from "../common/errors.js";
import { tablesIn } from "./answer.js";
import { buildContext, rankedKeys, type BuiltContext } from "./context.js";
import { modelNotAllowed, notConfigured } from "./errors.js";
import type { Limits } from "./limits.js";
import type { AssistantMetrics } from "./metrics.js";
import { buildPrompt, type PromptInput, type Task } from "./prompt.js";
import { providerError } from "./providers/errors.js";
import type { ModelReply, ModelRequest, Provider, StreamEvent, Usage } from "./providers/types.js";
import type { LoadedSchema, SchemaSource } from "./schema-source.js";

export type WarningKind = "writes" | "readOnlyViolation" | "notValidated" | "invalid" | "contextTruncated";

export interface Validation {
  ok: boolean;
  checked: boolean;
  engineError: string;
  note: string;
}

export interface SqlAnswer {
  sql: string;
  explanation: string;
  validation: Validation;
  writes: boolean;
  tablesUsed: string[];
  warnings: { kind: WarningKind; message: string }[];
  repairRounds: number;
}

export interface ContextInfo {
  tables: string[];
  tablesTotal: number;
  tokens: number;
  budget: number;
  truncated: boolean;
  dialect: string;
}

/** Where a request's SQL runs and what the model is told about it. */
export interface Scope {
  row: ConnectionRow;
  schema: LoadedSchema;
  context: BuiltContext;
  info: ContextInfo;
  samples: boolean;
}

export interface AssistantDeps {
  settings: Config["assistant"];
  /** Undefined when AI_PROVIDER is unset. */
  provider: Provider | undefined;
  connections: Connections;
  source: SchemaSource;
  limits: Limits;
  runtime: Runtime;
  logger: Logger;
  metrics: AssistantMetrics;
}

const TEXT_MAX = 8_000;
const SQL_MAX = 100_000;

/** Checks a text field: required or not, at most `max` characters. */
export function checkText(field: string, value: string, max: number, required: boolean): void {
  if (required && value.trim() === "") throw invalidArgument(field, "is required");
  if (value.length > max) throw invalidArgument(field, `must be at most ${max.toLocaleString("en-US")} characters`);
}
export const LIMITS = { text: TEXT_MAX, sql: SQL_MAX };

/**
 * The parts every assistant RPC shares: the provider (or ASSISTANT_NOT_CONFIGURED), the model
 * (one of the configured), limits, the schema context, the provider call with its errors mapped,
 * the EXPLAIN check and metrics. GenerateSql & co (sql-tasks.ts) and Chat (chat.ts) build on it.
 */
export class AssistantCore {
  constructor(readonly deps: AssistantDeps) {}

  get providerLabel(): string {
    return this.deps.provider?.kind ?? "none";
  }

  /** The provider, or FailedPrecondition ASSISTANT_NOT_CONFIGURED. */
  provider(): Provider {
    if (!this.deps.provider) throw notConfigured();
    return this.deps.provider;
  }

  /** Every model a request may name; the first is the default. */
  models(): string[] {
    const s = this.deps.settings;
    return s.model ? [...new Set([s.model, ...s.models])] : [];
  }

  /** The request's model, or the default; InvalidArgument for one not configured. */
  model(requested: string): string {
    const all = this.models();
    if (requested === "") return all[0] ?? "";
    if (!all.includes(requested)) throw modelNotAllowed();
    return requested;
  }

  /** Runs an RPC with its metrics (code and latency by provider, model and RPC). */
  async observe<T>(rpc: string, requestedModel: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const labels = { provider: this.providerLabel, model: this.labelModel(requestedModel), rpc };
    try {
      const out = await fn();
      this.deps.metrics.finished(labels, (performance.now() - started) / 1000);
      return out;
    } catch (err) {
      this.deps.metrics.finished(labels, (performance.now() - started) / 1000, err);
      throw err;
    }
  }

  labelModel(requested: string): string {
    const all = this.models();
    return requested === "" ? (all[0] ?? "") : all.includes(requested) ? requested : "other";
  }

  /**
   * The caller's connection (NotFound for anyone else's), the request admitted by the limits,
   * and the schema context for `text` (tables named in `sql` first).
   */
  async scope(userId: string, req: { connectionId: string; schema: string; refresh: boolean; samples: boolean; text: string; sql?: string; extraKeys?: string[] }): Promise<Scope> {
    const row = await this.deps.connections.get(userId, req.connectionId);
    await this.deps.limits.admit(userId);
    const schema = await this.deps.source.get(userId, row, req.schema, req.refresh);
    const sqlTables = [...(req.sql ? tablesIn(req.sql, schema.byName, (k) => schema.byKey.get(k)!.table.name) : []), ...(req.extraKeys ?? [])];
    const historyTables = await this.deps.source.historyKeys(userId, row, schema).catch((err: unknown) => {
      this.deps.logger.warn({ err }, "assistant: query history not read");
      return [];
    });
    const keys = rankedKeys(schema, { text: req.text, sqlTables, historyTables });
    const budget = this.deps.settings.contextTokens;
    let context = buildContext(schema, keys, { budget, text: req.text });
    if (req.samples && context.keys.length > 0) {
      const samples = await this.deps.source.samples(userId, row, schema, context.keys);
      context = buildContext(schema, context.keys, { budget, text: req.text, samples });
    }
    const info: ContextInfo = { tables: context.names, tablesTotal: schema.total, tokens: context.tokens, budget, truncated: context.truncated, dialect: schema.server };
    return { row, schema, context, info, samples: req.samples };
  }

  /** The model request for a task in a scope (or without one: ExplainSql with no connection). */
  request(task: Task, model: string, scope: Scope | undefined, nonce = this.nonce()): ModelRequest {
    const input: PromptInput = {
      task,
      dialect: scope?.schema.server ?? "",
      schemaName: scope?.schema.defaultSchema ?? "",
      context: scope?.context.text ?? "",
      samples: scope?.samples ?? false,
      nonce,
    };
    return { model, ...buildPrompt(input), maxOutputTokens: this.deps.settings.maxOutputTokens };
  }

  /** The random tag of one request's blocks (prompt.ts). */
  nonce(): string {
    return this.deps.runtime.random(6).toString("hex");
  }

  /** One completion; usage is added to `total` (and the metrics) as it arrives. */
  async complete(req: ModelRequest, signal: AbortSignal, total: Usage): Promise<ModelReply> {
    try {
      const reply = await this.provider().complete(req, signal);
      this.count(req.model, reply.usage, total);
      return reply;
    } catch (err) {
      throw this.mapError(err, signal);
    }
  }

  /** A streamed completion, errors mapped; the caller adds the final usage with `count`. */
  async *stream(req: ModelRequest, signal: AbortSignal): AsyncGenerator<StreamEvent> {
    try {
      for await (const ev of this.provider().stream(req, signal)) {
        // Both SDKs end an aborted stream quietly, as if the answer were complete.
        if (signal.aborted) break;
        yield ev;
      }
    } catch (err) {
      throw this.mapError(err, signal);
    }
    if (signal.aborted) throw this.mapError(signal.reason, signal);
  }

  count(model: string, usage: Usage, total: Usage): void {
    total.input += usage.input;
    total.output += usage.output;
    this.deps.metrics.used({ provider: this.providerLabel, model }, usage);
  }

  mapError(err: unknown, signal: AbortSignal): unknown {
    return providerError(err, { provider: this.providerLabel, signal, logger: this.deps.logger, secrets: this.deps.settings.apiKey ? [this.deps.settings.apiKey] : [] });
  }

  /** Adds a request's tokens to the caller's day (never fails the request). */
  async account(userId: string, model: string, usage: Usage): Promise<void> {
    if (usage.input === 0 && usage.output === 0) return;
    await this.deps.limits.record(userId, this.providerLabel, model, usage).catch((err: unknown) => this.deps.logger.warn({ err }, "assistant: usage not recorded"));
  }

  /**
   * What the server knows about SQL before anyone runs it: EXPLAIN on the connection (never the
   * SQL itself), whether it writes (the engine's statement classifier), the tables it names.
   */
  async examine(userId: string, scope: Scope, sql: string, opts: { readOnly: boolean; signal: AbortSignal; repairRounds: number; explanation: string }): Promise<SqlAnswer> {
    const { row, schema } = scope;
    const v = sql.trim() === ""
      ? { ok: false, checked: false, error: "", note: "the answer holds no SQL" }
      : await explainCheck(this.deps.connections, { userId, row, sql, timeoutMs: this.deps.settings.validateTimeoutMs, signal: opts.signal });
    const writes = sql.trim() !== "" && writesData(sql, row.engine);
    const readOnly = opts.readOnly || row.readOnly;
    const warnings: SqlAnswer["warnings"] = [];
    if (writes) warnings.push({ kind: "writes", message: "This SQL modifies data or schema. Review it before running it." });
    if (writes && readOnly) warnings.push({ kind: "readOnlyViolation", message: "This SQL writes, but the request or the connection is read-only." });
    if (!v.checked && sql.trim() !== "") warnings.push({ kind: "notValidated", message: `Not checked on the database: ${v.note}` });
    if (v.checked && !v.ok) warnings.push({ kind: "invalid", message: "The database rejected this SQL." });
    if (scope.context.truncated) warnings.push({ kind: "contextTruncated", message: "Some relevant tables did not fit the context budget." });
    return {
      sql,
      explanation: opts.explanation,
      validation: { ok: v.ok, checked: v.checked, engineError: v.error, note: v.note },
      writes,
      tablesUsed: tablesIn(sql, schema.byName, (k) => schema.byKey.get(k)!.table.name).map((k) => schema.byKey.get(k)!).map((d) =>
        d.table.schema === schema.defaultSchema ? d.table.name : `${d.table.schema}.${d.table.name}`,
      ),
      warnings,
      repairRounds: opts.repairRounds,
    };
  }
}
