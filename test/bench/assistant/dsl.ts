/**
 * A compact way to write realistic schemas for the context benchmark, one table per line:
 *
 *   orders: Orders placed in the web shop | id, customer_id>customers, status(pending, paid, shipped), placed_at, total_amount
 *
 * `name: comment | columns`. A column is `name[:type][*][>table][(comment)]`: `*` marks a
 * primary-key column (else the first column named `id` is the key), `>table` a foreign key to that
 * table's key. Types follow the name when not given: id and *_id bigint, *_at timestamptz, *_date
 * date, is_/has_ boolean, money words numeric(12,2), counts integer, the rest text.
 */
import type { TableDescription } from "../../../src/engine/introspect/types.js";

function typeOf(name: string): string {
  if (name === "id" || name.endsWith("_id")) return "bigint";
  if (name.endsWith("_at")) return "timestamptz";
  if (name.endsWith("_date") || name === "date" || name.endsWith("_on")) return "date";
  if (/^(is|has|can|allow)_/.test(name)) return "boolean";
  if (/(amount|price|total|cost|fee|balance|salary|rate|revenue|value|tax|discount|credit|spend|budget|pay)$/.test(name)) return "numeric(12,2)";
  if (/(qty|quantity|count|number|_no|minutes|hours|days|seconds|score|rank|level|position|age|year|month|week|weight_g|points|attempts|seats)$/.test(name)) return "integer";
  if (/(json|payload|metadata|settings|attributes)$/.test(name)) return "jsonb";
  return "text";
}

export function parseSchema(schema: string, text: string): TableDescription[] {
  const out: TableDescription[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-z0-9_]+):\s*(.*?)\s*\|\s*(.*)$/.exec(line);
    if (!m) throw new Error(`bad line: ${line}`);
    const [, name, comment, cols] = m;
    const columns: TableDescription["columns"] = [];
    const pk: string[] = [];
    const fks: TableDescription["foreignKeys"] = [];
    for (const spec of splitTop(cols)) {
      const c = /^([a-z0-9_]+)(?::([a-z0-9_(),\s]+?))?(\*)?(?:>([a-z0-9_]+))?(?:\((.*)\))?$/.exec(spec.trim());
      if (!c) throw new Error(`bad column "${spec}" in ${name}`);
      const [, col, type, star, ref, note] = c;
      if (star) pk.push(col);
      if (ref) fks.push({ name: `${name}_${col}_fkey`, columns: [col], referencedSchema: schema, referencedTable: ref, referencedColumns: ["id"], onUpdate: "NO ACTION", onDelete: "NO ACTION" });
      columns.push({ name: col, databaseType: type ?? typeOf(col), nullable: !(star || col === "id" || ref), defaultExpression: "", generated: false, ordinal: columns.length + 1, comment: note ?? "" });
    }
    if (pk.length === 0 && columns.some((c) => c.name === "id")) pk.push("id");
    out.push({
      table: { schema, name, kind: "table", rowEstimate: -1, comment },
      columns,
      primaryKey: pk,
      indexes: [],
      foreignKeys: fks,
    });
  }
  const names = new Set(out.map((t) => t.table.name));
  for (const t of out) for (const fk of t.foreignKeys) if (!names.has(fk.referencedTable)) throw new Error(`${t.table.name}: unknown table ${fk.referencedTable}`);
  return out;
}

/** Splits at commas outside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out;
}
