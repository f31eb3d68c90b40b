import type { EngineName } from "./types.js";

/** How an engine spells identifiers and parameters. */
export interface Dialect {
  readonly engine: EngineName;
  /** Quotes one identifier; any character is safe inside, the quote itself is doubled. */
  quote(identifier: string): string;
  /** The placeholder of the i-th bound value (from 1). */
  param(i: number): string;
  /** `schema.table`, quoted; the schema is left out when empty. */
  table(schema: string, table: string): string;
}

function make(engine: EngineName, q: string, param: (i: number) => string): Dialect {
  const quote = (id: string) => {
    if (id.includes("\0")) throw new Error("identifier contains NUL");
    return q + id.split(q).join(q + q) + q;
  };
  return {
    engine,
    quote,
    param,
    table: (schema, table) => (schema ? `${quote(schema)}.${quote(table)}` : quote(table)),
  };
}

export const postgresDialect = make("postgresql", '"', (i) => `$${i}`);
export const mysqlDialect = make("mysql", "`", () => "?");
export const sqliteDialect = make("sqlite", '"', () => "?");
