import type { Cell, EngineName } from "./types.js";

/** A statement's plan as ExplainQuery answers it. */
export interface Plan {
  plan: string;
  /** "json" (PostgreSQL, MySQL) or "text" (SQLite). */
  format: string;
}

/** How an engine spells identifiers, parameters and EXPLAIN. */
export interface Dialect {
  readonly engine: EngineName;
  /** Quotes one identifier; any character is safe inside, the quote itself is doubled. */
  quote(identifier: string): string;
  /** The placeholder of the i-th bound value (from 1). */
  param(i: number): string;
  /** `schema.table`, quoted; the schema is left out when empty. */
  table(schema: string, table: string): string;
  /** Whether the engine runs a statement to report its plan (EXPLAIN ANALYZE). */
  readonly explainAnalyze: boolean;
  /** The statement that asks for the plan of one statement (`analyze` only where `explainAnalyze`). */
  explain(statement: string, analyze: boolean): string;
  /** The plan from the rows the EXPLAIN statement returned. */
  plan(rows: Cell[][]): Plan;
  /** Plain EXPLAIN, to learn whether the database can plan a statement without running it. */
  explainOnly(statement: string): string;
  /** The first words of the statements EXPLAIN takes (undefined: any statement). */
  readonly explainable: ReadonlySet<string> | undefined;
}

const text = (c: Cell | undefined) => String(c?.kind?.value ?? "");

/** PostgreSQL and MySQL answer one JSON document (in one or more rows of one column). */
const jsonPlan = (rows: Cell[][]): Plan => ({ plan: rows.map((cells) => text(cells[0])).join("\n"), format: "json" });

function make(engine: EngineName, q: string, param: (i: number) => string, explain: Pick<Dialect, "explainAnalyze" | "explain" | "plan" | "explainOnly" | "explainable">): Dialect {
  const quote = (id: string) => {
    if (id.includes("\0")) throw new Error("identifier contains NUL");
    return q + id.split(q).join(q + q) + q;
  };
  return {
    engine,
    quote,
    param,
    table: (schema, table) => (schema ? `${quote(schema)}.${quote(table)}` : quote(table)),
    ...explain,
  };
}

export const postgresDialect = make("postgresql", '"', (i) => `$${i}`, {
  explainAnalyze: true,
  explain: (sql, analyze) => `EXPLAIN (FORMAT JSON${analyze ? ", ANALYZE, BUFFERS" : ""}) ${sql}`,
  plan: jsonPlan,
  explainOnly: (sql) => `EXPLAIN ${sql}`,
  explainable: new Set(["SELECT", "WITH", "VALUES", "TABLE", "INSERT", "UPDATE", "DELETE", "MERGE"]),
});
export const mysqlDialect = make("mysql", "`", () => "?", {
  explainAnalyze: true,
  explain: (sql, analyze) => (analyze ? `ANALYZE FORMAT=JSON ${sql}` : `EXPLAIN FORMAT=JSON ${sql}`),
  plan: jsonPlan,
  explainOnly: (sql) => `EXPLAIN ${sql}`,
  explainable: new Set(["SELECT", "WITH", "TABLE", "VALUES", "INSERT", "REPLACE", "UPDATE", "DELETE"]),
});
export const sqliteDialect = make("sqlite", '"', () => "?", {
  explainAnalyze: false,
  explain: (sql) => `EXPLAIN QUERY PLAN ${sql}`,
  // One row per plan node (id, parent, notused, detail): written as id|parent|detail lines.
  plan: (rows) => {
    const lines = rows.map((cells) => cells.map(text));
    return { plan: lines.map((l) => `${l[0]}|${l[1]}|${l[3]}`).join("\n"), format: "text" };
  },
  explainOnly: (sql) => `EXPLAIN QUERY PLAN ${sql}`,
  // SQLite prepares any statement under EXPLAIN QUERY PLAN.
  explainable: undefined,
});
