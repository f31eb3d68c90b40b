/** The connection's schemas, tables and views with row estimates; a table opens its table view. */
import { TableKind, type Table } from "@gen/sqlstudio/database/v1/schema_pb.js";
import { useState } from "preact/hooks";
import { Link } from "../../router.js";
import { Loading, ProblemAlert } from "../../ui/kit.js";
import type { useSchema } from "./schema.js";

const KIND: Record<number, string> = { [TableKind.VIEW]: "view", [TableKind.MATERIALIZED_VIEW]: "mat. view", [TableKind.FOREIGN_TABLE]: "foreign" };

const estimate = (n: bigint) => {
  const v = Number(n);
  if (v < 0) return "";
  if (v < 1000) return `${v}`;
  if (v < 1e6) return `${(v / 1000).toFixed(v < 1e4 ? 1 : 0)}k`;
  return `${(v / 1e6).toFixed(v < 1e7 ? 1 : 0)}M`;
};

export function SchemaTree({ connectionId, mysql, schema, onQuery }: { connectionId: string; mysql: boolean; schema: ReturnType<typeof useSchema>; onQuery: (sql: string) => void }) {
  const quote = mysql ? quoteMysql : quoteSql;
  const { info } = schema;
  const [open, setOpen] = useState<Set<string>>(new Set());
  const toggle = (k: string, load?: () => void) => {
    const next = new Set(open);
    if (next.has(k)) next.delete(k);
    else {
      next.add(k);
      load?.();
    }
    setOpen(next);
  };
  if (!connectionId) return <p class="muted small pad">Choose a connection to see its tables.</p>;
  if (info.loading) return <Loading />;
  if (info.problem) return <ProblemAlert problem={info.problem} />;
  const user = info.schemas.filter((s) => !s.system);
  const system = info.schemas.filter((s) => s.system);
  const isOpen = (name: string) => open.has(name) !== (name === info.defaultSchema);

  const tableItem = (s: string, t: Table) => {
    const key = `${s}.${t.name}`;
    const cols = info.columns.get(key);
    return (
      <li key={key}>
        <div class="tree-row">
          <button class="tree-toggle" aria-expanded={open.has(key)} aria-label={`Columns of ${t.name}`} onClick={() => toggle(key, () => void schema.describe(s, t.name))}>
            {open.has(key) ? "▾" : "▸"}
          </button>
          <Link href={`/tables/${connectionId}/${encodeURIComponent(s)}/${encodeURIComponent(t.name)}`} class="tree-name" title={t.comment || undefined}>
            {t.name}
          </Link>
          {KIND[t.kind] && <span class="tree-kind">{KIND[t.kind]}</span>}
          <span class="tree-count" title={Number(t.rowEstimate) >= 0 ? `about ${Number(t.rowEstimate).toLocaleString()} rows` : "no estimate"}>
            {estimate(t.rowEstimate)}
          </span>
          <button class="tree-action" title={`SELECT * FROM ${t.name}`} aria-label={`Query ${t.name}`} onClick={() => onQuery(`SELECT * FROM ${s === info.defaultSchema ? "" : `${quote(s)}.`}${quote(t.name)}\nLIMIT 1000;`)}>
            ▶
          </button>
        </div>
        {open.has(key) && (
          <ul class="tree-cols">
            {!cols ? (
              <li class="muted small">…</li>
            ) : (
              cols.map((c) => (
                <li key={c.name}>
                  <span class="mono">{c.name}</span> <span class="muted small">{c.databaseType}</span>
                </li>
              ))
            )}
          </ul>
        )}
      </li>
    );
  };

  const schemaItem = (name: string) => {
    const tables = info.tables.get(name);
    return (
      <li key={name}>
        <div class="tree-row">
          <button class="tree-toggle" aria-expanded={isOpen(name)} onClick={() => toggle(name, () => !tables && void schema.loadTables(name))}>
            {isOpen(name) ? "▾" : "▸"} <span class="tree-schema">{name}</span>
          </button>
        </div>
        {isOpen(name) &&
          (tables === undefined || tables === "loading" ? (
            <Loading />
          ) : !Array.isArray(tables) ? (
            <ProblemAlert problem={tables} />
          ) : tables.length === 0 ? (
            <p class="muted small pad">No tables.</p>
          ) : (
            <ul>{tables.map((t) => tableItem(name, t))}</ul>
          ))}
      </li>
    );
  };

  return (
    <nav class="tree" aria-label="Schemas and tables">
      <ul>{user.map((s) => schemaItem(s.name))}</ul>
      {system.length > 0 && (
        <details class="tree-system">
          <summary>System schemas ({system.length})</summary>
          <ul>{system.map((s) => schemaItem(s.name))}</ul>
        </details>
      )}
    </nav>
  );
}

/** An identifier quoted only when it needs it (standard SQL / MySQL). */
export const quoteSql = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`);
export const quoteMysql = (name: string) => (/^[a-z_][a-z0-9_]*$/i.test(name) ? name : `\`${name.replace(/`/g, "``")}\``);
