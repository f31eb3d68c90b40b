/**
 * Compact DDL of the tables a model is shown: types, nullability, primary and foreign keys and
 * comments; nothing else (no indexes, defaults or storage clauses). Comments and names are data:
 * control characters are flattened so a comment cannot start a new line of the prompt. Pure.
 */
import type { EngineName } from "../engine/driver.js";
import type { TableDescription } from "../engine/introspect/types.js";

/** Up to 3 rows of a table, already redacted (text, or null for NULL). */
export interface Sample {
  columns: string[];
  rows: (string | null)[][];
}

export interface DdlOptions {
  engine: EngineName;
  /** The schema shown without a prefix. */
  defaultSchema: string;
  /** Only these columns (plus keys); the rest are counted in a comment. Undefined: all. */
  keep?: ReadonlySet<string>;
  sample?: Sample;
}

const COMMENT_MAX = 160;
const SAMPLE_CELL_MAX = 40;

/** One line of text: control characters and line breaks become spaces, long text is cut. */
export function oneLine(text: string, max = COMMENT_MAX): string {
  const flat = text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, " ").replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** An identifier as the dialect writes it: bare when it is plain lower-case (or any case on MySQL/SQLite), quoted otherwise. */
export function ident(engine: EngineName, name: string): string {
  const plain = engine === "postgresql" ? /^[a-z_][a-z0-9_$]*$/ : /^[A-Za-z_][A-Za-z0-9_$]*$/;
  if (plain.test(name)) return name;
  const q = engine === "mysql" ? "`" : '"';
  return q + oneLine(name, 200).split(q).join(q + q) + q;
}

/** `schema.table` or `table` (the default schema), as shown to the model and in answers. */
export function displayName(schema: string, table: string, defaultSchema: string): string {
  return schema === "" || schema === defaultSchema ? table : `${schema}.${table}`;
}

function qualified(engine: EngineName, schema: string, table: string, defaultSchema: string): string {
  return schema === "" || schema === defaultSchema ? ident(engine, table) : `${ident(engine, schema)}.${ident(engine, table)}`;
}

/** The table as compact DDL; comments as `--` at the end of lines. */
export function renderTable(d: TableDescription, o: DdlOptions): string {
  const { engine } = o;
  const t = d.table;
  const lines: string[] = [];
  if (t.comment) lines.push(`-- ${oneLine(t.comment)}`);
  const kind = t.kind === "table" ? "TABLE" : t.kind === "view" ? "VIEW" : t.kind === "materialized_view" ? "MATERIALIZED VIEW" : "FOREIGN TABLE";
  lines.push(`CREATE ${kind} ${qualified(engine, t.schema, t.name, o.defaultSchema)} (`);
  const singlePk = d.primaryKey.length === 1 ? d.primaryKey[0] : undefined;
  const singleFk = new Map<string, string>();
  const multiFks = d.foreignKeys.filter((fk) => {
    if (fk.columns.length !== 1) return true;
    const target = qualified(engine, fk.referencedSchema || t.schema, fk.referencedTable, o.defaultSchema);
    singleFk.set(fk.columns[0], `REFERENCES ${target}(${ident(engine, fk.referencedColumns[0])})`);
    return false;
  });
  const keyColumns = new Set([...d.primaryKey, ...d.foreignKeys.flatMap((f) => f.columns)]);
  const shown = d.columns.filter((c) => !o.keep || o.keep.has(c.name) || keyColumns.has(c.name));
  const body: { text: string; comment: string }[] = shown.map((c) => {
    const parts = [ident(engine, c.name), oneLine(c.databaseType, 60) || "any"];
    if (c.name === singlePk) parts.push("PRIMARY KEY");
    else if (!c.nullable) parts.push("NOT NULL");
    const fk = singleFk.get(c.name);
    if (fk) parts.push(fk);
    return { text: parts.join(" "), comment: c.comment ? oneLine(c.comment) : "" };
  });
  if (d.primaryKey.length > 1) body.push({ text: `PRIMARY KEY (${d.primaryKey.map((c) => ident(engine, c)).join(", ")})`, comment: "" });
  for (const fk of multiFks) {
    const target = qualified(engine, fk.referencedSchema || t.schema, fk.referencedTable, o.defaultSchema);
    body.push({
      text: `FOREIGN KEY (${fk.columns.map((c) => ident(engine, c)).join(", ")}) REFERENCES ${target}(${fk.referencedColumns.map((c) => ident(engine, c)).join(", ")})`,
      comment: "",
    });
  }
  body.forEach((b, i) => lines.push(`  ${b.text}${i < body.length - 1 ? "," : ""}${b.comment ? ` -- ${b.comment}` : ""}`));
  const hidden = d.columns.length - shown.length;
  if (hidden > 0) lines.push(`  -- … ${hidden} more column${hidden === 1 ? "" : "s"} not shown`);
  lines.push(");");
  if (o.sample && o.sample.rows.length > 0) {
    lines.push(`-- sample rows (${o.sample.columns.map((c) => oneLine(c, 40)).join(" | ")}):`);
    for (const r of o.sample.rows) lines.push(`--   ${r.map((v) => (v === null ? "NULL" : oneLine(v, SAMPLE_CELL_MAX))).join(" | ")}`);
  }
  return lines.join("\n");
}

/** Tokens of a text as models count them, estimated (about 3.5 characters a token for DDL). */
export function tokensOf(text: string): number {
  return Math.ceil(text.length / 3.5);
}
