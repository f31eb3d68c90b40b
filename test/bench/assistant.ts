/**
 * AI assistant benchmarks (issue 11, DESIGN.md §8 and §10):
 *  1. Context quality: 133 questions over three realistic schemas (e-commerce 123 tables, SaaS + HR
 *     111, hospital 88; test/bench/assistant/*.ts), each with the tables a correct answer needs
 *     (gold). For each question the assistant's own ranking and budget cut (src/assistant/context.ts,
 *     the code GenerateSql runs) builds the context; measured: recall of gold tables in it, the share
 *     of the budget (and of the context) spent on tables that are not gold, and what sending the
 *     whole schema would cost instead. At the default budget (AI_CONTEXT_TOKENS) and around it.
 *  2. Overhead: GenerateSql through the real server (a child process, Connect JSON over HTTP/1.1,
 *     auth, limits and accounting in the database, the cached 123-table schema of a SQLite file,
 *     ranking, prompt, the SDK, the EXPLAIN check) against the same SDK called directly from this
 *     process with the same prompt (captured from the server's request), both against the same
 *     stand-in that answers after BENCH_AI_LATENCY_MS (default 400 ms, a fast model's complete
 *     answer). Interleaved rounds; wall time per request.
 *
 *   BENCH_AI_ROUNDS=40   measured requests per side and provider
 * Run: npm run bench -- --only assistant
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import { createClient as createLibsql } from "@libsql/client";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import OpenAI from "openai";
import { AssistantService } from "../../gen/sqlstudio/ai/v1/assistant_pb.js";
import { ConnectionService, Engine } from "../../gen/sqlstudio/database/v1/connection_pb.js";
import { buildContext, prepareSchema, rankedKeys } from "../../src/assistant/context.js";
import { renderTable, tokensOf } from "../../src/assistant/ddl.js";
import { defaultsFor } from "../../src/config/schema.js";
import type { TableDescription } from "../../src/engine/introspect/types.js";
import { startProviderStandIn, STAND_IN_KEY, type ProviderKind } from "../support/ai-provider.js";
import { authEnv, registerAndLogin } from "../support/auth.js";
import { spawnServer } from "../support/server.js";
import { LOAD_RATE_LIMITS } from "../support/rate-limits.js";
import { CLINIC } from "./assistant/clinic.js";
import { parseSchema } from "./assistant/dsl.js";
import { CLINIC_QUESTIONS, SAAS_HR_QUESTIONS, SHOP_QUESTIONS, type Question } from "./assistant/questions.js";
import { SAAS_HR } from "./assistant/saas-hr.js";
import { SHOP } from "./assistant/shop.js";

type Log = (line: string) => void;

const DEFAULT_BUDGET = (defaultsFor("production").assistant as { contextTokens: number }).contextTokens;
const SETS = [
  { name: "e-commerce", text: SHOP, questions: SHOP_QUESTIONS },
  { name: "SaaS + HR", text: SAAS_HR, questions: SAAS_HR_QUESTIONS },
  { name: "hospital", text: CLINIC, questions: CLINIC_QUESTIONS },
];

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

// ── 1. context quality ──────────────────────────────────────────────────────

interface Quality {
  schema: string;
  tables: number;
  questions: number;
  gold: number;
  recall: number;
  complete: number;
  shown: number;
  tokens: number;
  nonGoldOfBudget: number;
  nonGoldOfContext: number;
  wholeSchema: number;
  misses: string[];
}

function quality(set: (typeof SETS)[number], budget: number): Quality {
  const tables: TableDescription[] = parseSchema("public", set.text);
  const schema = prepareSchema("postgresql", "public", tables);
  const wholeSchema = tables.reduce((n, d) => n + tokensOf(renderTable(d, { engine: "postgresql", defaultSchema: "public" })) + 1, 0);
  let found = 0;
  let gold = 0;
  let complete = 0;
  let shown = 0;
  let tokens = 0;
  let nonGold = 0;
  const misses: string[] = [];
  for (const q of set.questions as Question[]) {
    const c = buildContext(schema, rankedKeys(schema, { text: q.q }), { budget, text: q.q });
    const names = new Set(c.names);
    const missing = q.gold.filter((g) => !names.has(g));
    found += q.gold.length - missing.length;
    gold += q.gold.length;
    if (missing.length === 0) complete++;
    else misses.push(`"${q.q}" (${missing.join(", ")})`);
    shown += c.names.length;
    tokens += c.tokens;
    nonGold += c.names.reduce((n, name, i) => n + (q.gold.includes(name) ? 0 : c.costs[i]), 0);
  }
  const n = set.questions.length;
  return {
    schema: set.name,
    tables: tables.length,
    questions: n,
    gold: gold / n,
    recall: found / gold,
    complete: complete / n,
    shown: shown / n,
    tokens: tokens / n,
    nonGoldOfBudget: nonGold / (n * budget),
    nonGoldOfContext: tokens === 0 ? 0 : nonGold / tokens,
    wholeSchema,
    misses,
  };
}

function qualityTables(): string {
  const lines: string[] = [];
  const rows = SETS.map((s) => quality(s, DEFAULT_BUDGET));
  const all = SETS.flatMap((s) => s.questions);
  const total = {
    questions: all.length,
    gold: all.reduce((n, q) => n + q.gold.length, 0),
  };
  const recall = rows.reduce((n, r) => n + r.recall * r.gold * r.questions, 0) / total.gold;
  lines.push(
    `${total.questions} questions over ${SETS.length} schemas, each with its gold tables (test/bench/assistant/). Context at the default budget of ${DEFAULT_BUDGET.toLocaleString("en-US")} tokens (AI_CONTEXT_TOKENS), built by the code GenerateSql runs. **recall**: gold tables in the context / gold tables. **complete**: questions with every gold table in the context. **non-gold share**: tokens of tables that are not gold, of the budget and of the context actually sent. **whole schema**: tokens of the compact DDL of every table (what sending the whole schema would cost).`,
    "",
    "| schema | tables | questions | gold tables / question | recall | complete | tables sent | context tokens | non-gold share of budget | non-gold share of context | whole schema tokens |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const r of rows) {
    lines.push(`| ${r.schema} | ${r.tables} | ${r.questions} | ${f1(r.gold)} | ${f2(r.recall)} | ${pct(r.complete)} | ${f1(r.shown)} | ${Math.round(r.tokens)} | ${pct(r.nonGoldOfBudget)} | ${pct(r.nonGoldOfContext)} | ${r.wholeSchema.toLocaleString("en-US")} |`);
  }
  const avg = (f: (r: Quality) => number) => rows.reduce((n, r) => n + f(r) * r.questions, 0) / total.questions;
  lines.push(
    `| **all** | ${rows.reduce((n, r) => n + r.tables, 0)} | ${total.questions} | ${f1(total.gold / total.questions)} | **${f2(recall)}** | ${pct(avg((r) => r.complete))} | ${f1(avg((r) => r.shown))} | ${Math.round(avg((r) => r.tokens))} | ${pct(avg((r) => r.nonGoldOfBudget))} | ${pct(avg((r) => r.nonGoldOfContext))} | |`,
  );
  lines.push("", "Recall at other budgets (same questions):", "", "| budget (tokens) | recall | complete | context tokens | non-gold share of context |", "|---:|---:|---:|---:|---:|");
  for (const budget of [1_000, 2_000, DEFAULT_BUDGET, 8_000]) {
    const rs = SETS.map((s) => quality(s, budget));
    const rec = rs.reduce((n, r) => n + r.recall * r.gold * r.questions, 0) / total.gold;
    const w = (f: (r: Quality) => number) => rs.reduce((n, r) => n + f(r) * r.questions, 0) / total.questions;
    lines.push(`| ${budget.toLocaleString("en-US")}${budget === DEFAULT_BUDGET ? " (default)" : ""} | ${f2(rec)} | ${pct(w((r) => r.complete))} | ${Math.round(w((r) => r.tokens))} | ${pct(w((r) => r.nonGoldOfContext))} |`);
  }
  const misses = rows.flatMap((r) => r.misses.map((m) => `${r.schema}: ${m}`));
  lines.push("", `Questions with a gold table missing at the default budget (${misses.length}): ${misses.join("; ")}.`);
  return lines.join("\n");
}

// ── 2. overhead against the SDK alone ───────────────────────────────────────

/** The e-commerce schema as a SQLite file (no comments: SQLite has none). */
async function shopFile(file: string): Promise<void> {
  const db = createLibsql({ url: `file:${file}` });
  const stmts = parseSchema("main", SHOP).map((d) => {
    const cols = d.columns.map((c) => `"${c.name}" ${c.databaseType}${c.nullable ? "" : " NOT NULL"}`);
    if (d.primaryKey.length > 0) cols.push(`PRIMARY KEY (${d.primaryKey.map((c) => `"${c}"`).join(", ")})`);
    for (const fk of d.foreignKeys) cols.push(`FOREIGN KEY ("${fk.columns[0]}") REFERENCES "${fk.referencedTable}"("id")`);
    return `CREATE TABLE "${d.table.name}" (${cols.join(", ")})`;
  });
  await db.executeMultiple(stmts.join(";\n"));
  db.close();
}

async function overhead(kind: ProviderKind, rounds: number, latencyMs: number, log: Log) {
  const standIn = await startProviderStandIn(kind, () => ({ text: "```sql\nSELECT o.id, o.total_amount FROM orders o ORDER BY o.placed_at DESC LIMIT 10\n```\nThe ten latest orders.", delayMs: latencyMs, usage: { input: 900, output: 40 } }));
  const dir = mkdtempSync(join(os.tmpdir(), "sqlstudio-bench-ai-"));
  const server = await spawnServer({ dir, env: authEnv(standIn.env({ ...LOAD_RATE_LIMITS, AI_REQUESTS_PER_MINUTE: "100000", AI_TOKENS_PER_DAY: "1000000000000" })) });
  try {
    const { id, session } = await registerAndLogin(server, "benchai");
    // Each account's SQLite files live in its own folder under ENGINE_SQLITE_DIR.
    mkdirSync(join(dir, "sqlite", id), { recursive: true });
    await shopFile(join(dir, "sqlite", id, "shop.db"));
    const transport = createConnectTransport({
      baseUrl: server.url,
      httpVersion: "1.1",
      interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${session.accessToken}`), next(req))],
    });
    const connectionId = (await createClient(ConnectionService, transport).createConnection({ spec: { name: "shop", engine: Engine.SQLITE, host: "shop.db" } })).connection!.id;
    const ai = createClient(AssistantService, transport);
    const ask = { connectionId, prompt: "the ten latest orders with their total" };
    const t0 = performance.now();
    const first = await ai.generateSql(ask);
    const cold = performance.now() - t0;
    if (!first.answer?.validation?.ok) throw new Error(`the answer did not validate: ${JSON.stringify(first.answer?.validation)}`);
    // The same prompt, sent by the SDK alone.
    const sent = standIn.calls().at(-1)!.body as { messages: { role: string; content: string }[]; system?: string; max_tokens?: number };
    const openai = new OpenAI({ apiKey: STAND_IN_KEY, baseURL: standIn.baseUrl, maxRetries: 0 });
    const anthropic = new Anthropic({ apiKey: STAND_IN_KEY, baseURL: standIn.baseUrl, maxRetries: 0 });
    const direct = async () => {
      if (kind === "openai") await openai.chat.completions.create({ model: "test-model", messages: sent.messages as OpenAI.Chat.ChatCompletionMessageParam[], max_tokens: sent.max_tokens });
      else await anthropic.messages.create({ model: "test-model", max_tokens: sent.max_tokens ?? 1024, system: sent.system, messages: sent.messages as Anthropic.MessageParam[] });
    };
    const ours: number[] = [];
    const ref: number[] = [];
    for (let i = 0; i < 5; i++) {
      await ai.generateSql(ask);
      await direct();
    }
    for (let i = 0; i < rounds; i++) {
      let s = performance.now();
      await direct();
      ref.push(performance.now() - s);
      s = performance.now();
      await ai.generateSql(ask);
      ours.push(performance.now() - s);
    }
    log(`assistant overhead (${kind}): ours ${f1(median(ours))} ms, SDK ${f1(median(ref))} ms`);
    return { kind, cold, ours, ref, promptChars: JSON.stringify(sent).length };
  } finally {
    await server.stop();
    await standIn.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function assistantBench(log: Log): Promise<string> {
  const lines: string[] = ["### Context quality", "", qualityTables(), ""];
  const rounds = Number(process.env.BENCH_AI_ROUNDS ?? 40);
  const latency = Number(process.env.BENCH_AI_LATENCY_MS ?? 400);
  lines.push(
    "### Overhead per request",
    "",
    `GenerateSql through the server (child process; Connect JSON over HTTP/1.1; auth, per-user limits and token accounting in the app database; the cached 123-table e-commerce schema of a SQLite file; ranking, prompt, the SDK, the EXPLAIN check of the answer) against the same SDK called directly with the same prompt, both against one stand-in that answers after ${latency} ms (a fast model's complete answer). ${rounds} requests per side after 5 warm-up pairs, interleaved. **ratio**: median wall time ours / SDK alone (target ≤ 1.2). The first request also reads and describes the schema (cold).`,
    "",
    "| provider SDK | prompt (chars) | SDK alone p50 / p90 ms | GenerateSql p50 / p90 ms | overhead p50 ms | **ratio** | first request (cold schema) ms |",
    "|---|---:|---:|---:|---:|---:|---:|",
  );
  for (const kind of ["openai", "anthropic"] as const) {
    const r = await overhead(kind, rounds, latency, log);
    lines.push(
      `| ${kind} | ${r.promptChars.toLocaleString("en-US")} | ${f1(median(r.ref))} / ${f1(quantile(r.ref, 0.9))} | ${f1(median(r.ours))} / ${f1(quantile(r.ours, 0.9))} | ${f1(median(r.ours) - median(r.ref))} | **${f2(median(r.ours) / median(r.ref))}** | ${Math.round(r.cold)} |`,
    );
  }
  return lines.join("\n");
}
