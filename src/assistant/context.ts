/**
 * The schema context of one request: ranked tables rendered as compact DDL until the token budget
 * is spent. A table too big for what is left is shown with its keys and the columns the request
 * names; one still too big is left out (and the context says it was truncated). Pure.
 */
import type { EngineName } from "../engine/driver.js";
import type { TableDescription } from "../engine/introspect/types.js";
import { displayName, renderTable, tokensOf, type Sample } from "./ddl.js";
import { rankTables, type RankRequest, type RankTable } from "./rank.js";
import { identifierStems, synonymsOf, textStems } from "./words.js";

/** A schema prepared for ranking (built once per cached snapshot). */
export interface PreparedSchema {
  engine: EngineName;
  /** The schema shown without a prefix. */
  defaultSchema: string;
  tables: TableDescription[];
  byKey: Map<string, TableDescription>;
  rank: RankTable[];
  /** Lower-cased table name → keys (several schemas may share a name). */
  byName: Map<string, string[]>;
}

export const keyOf = (schema: string, name: string) => `${schema}.${name}`;

export function prepareSchema(engine: EngineName, defaultSchema: string, tables: TableDescription[]): PreparedSchema {
  const byKey = new Map(tables.map((d) => [keyOf(d.table.schema, d.table.name), d]));
  const byName = new Map<string, string[]>();
  for (const d of tables) {
    const n = d.table.name.toLowerCase();
    byName.set(n, [...(byName.get(n) ?? []), keyOf(d.table.schema, d.table.name)]);
  }
  const rank: RankTable[] = tables.map((d) => ({
    key: keyOf(d.table.schema, d.table.name),
    name: d.table.name,
    comment: d.table.comment,
    columns: d.columns.map((c) => ({ name: c.name, comment: c.comment })),
    references: d.foreignKeys.map((f) => keyOf(f.referencedSchema || d.table.schema, f.referencedTable)),
  }));
  return { engine, defaultSchema, tables, byKey, rank, byName };
}

export interface BuiltContext {
  /** The DDL, tables separated by blank lines. */
  text: string;
  /** Keys of the tables shown, in order. */
  keys: string[];
  /** Display names of the tables shown. */
  names: string[];
  /** Estimated tokens of each table shown. */
  costs: number[];
  tokens: number;
  /** Relevant tables were left out for the budget. */
  truncated: boolean;
}

/** Tables below this share of the best score are not worth their tokens. */
export const MIN_SHARE = 0.12;

/** The keys of the tables a request needs, best first. */
export function rankedKeys(schema: PreparedSchema, req: RankRequest): string[] {
  const ranked = rankTables(schema.rank, req);
  const top = ranked[0]?.score ?? 0;
  return ranked.filter((r) => r.score >= MIN_SHARE * Math.min(top, ranked[0]?.direct ?? top) || r.direct >= 1000).map((r) => r.key);
}

/** Renders `keys` in order into at most `budget` tokens. */
export function buildContext(schema: PreparedSchema, keys: string[], opts: { budget: number; text: string; samples?: Map<string, Sample> }): BuiltContext {
  const wanted = new Set(textStems(opts.text).flatMap((s) => [s, ...synonymsOf(s)]));
  const parts: string[] = [];
  const shown: string[] = [];
  const costs: number[] = [];
  let used = 0;
  let truncated = false;
  for (const key of keys) {
    const d = schema.byKey.get(key);
    if (!d) continue;
    const base = { engine: schema.engine, defaultSchema: schema.defaultSchema, sample: opts.samples?.get(key) };
    let text = renderTable(d, base);
    let cost = tokensOf(text) + 1;
    if (used + cost > opts.budget) {
      const keep = new Set(d.columns.filter((c) => identifierStems(c.name).some((s) => wanted.has(s))).map((c) => c.name));
      text = renderTable(d, { ...base, keep, sample: undefined });
      cost = tokensOf(text) + 1;
      truncated = true;
      if (used + cost > opts.budget) continue;
    }
    parts.push(text);
    shown.push(key);
    costs.push(cost);
    used += cost;
  }
  return {
    text: parts.join("\n\n"),
    keys: shown,
    names: shown.map((k) => displayName(schema.byKey.get(k)!.table.schema, schema.byKey.get(k)!.table.name, schema.defaultSchema)),
    costs,
    tokens: used,
    truncated,
  };
}
