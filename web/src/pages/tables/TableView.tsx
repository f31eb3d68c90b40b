/**
 * One table's rows: typed filters, sort by a column header, keyset pages (the server's page
 * tokens, kept on a stack for Previous), inline edit / insert / delete by primary key with the
 * row's old values checked (Aborted shows both versions), and CSV / NDJSON export of the table.
 */
import { useEffect, useState } from "preact/hooks";
import { Code, ConnectError } from "@connectrpc/connect";
import { ExportFormat, FilterOperator, type GetRowsResponse } from "@gen/sqlstudio/database/v1/table_pb.js";
import type { DescribeTableResponse } from "@gen/sqlstudio/database/v1/schema_pb.js";
import type { Row } from "@gen/sqlstudio/database/v1/values_pb.js";
import { exportRows } from "@client/query.js";
import { problemOf, type Problem } from "../../api/errors.js";
import { api, transport } from "../../api/transport.js";
import { navigate } from "../../router.js";
import { Alert, Button, Loading, Page, ProblemAlert } from "../../ui/kit.js";
import { openTab } from "../workspace/tabs.js";
import { Filters, toFilters, type FilterDraft } from "./Filters.js";
import { InsertRow } from "./InsertRow.js";
import { RowConflict, type RowConflictState } from "./RowConflict.js";
import { numeric } from "../../query/format.js";
import { again, cellOf, comparable, InputError, isNull, NULL, parseInput, textOf, type ValueInit } from "./values.js";

const PAGE = 100;

export function TableView({ params }: { params: Record<string, string> }) {
  const { connectionId, schema, table } = params;
  const ref = { connectionId, schema, table };
  const [desc, setDesc] = useState<DescribeTableResponse>();
  const [page, setPage] = useState<GetRowsResponse>();
  const [tokens, setTokens] = useState<string[]>([""]);
  const [filters, setFilters] = useState<FilterDraft[]>([]);
  const [sort, setSort] = useState<{ column: string; descending: boolean }[]>([]);
  const [problem, setProblem] = useState<Problem | { message: string }>();
  const [loading, setLoading] = useState(true);
  const [editing, setEditing] = useState<{ row: number; column: number; text: string; null: boolean }>();
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [conflict, setConflict] = useState<RowConflictState & { retry: (now: Row) => Promise<void> }>();
  const [inserting, setInserting] = useState(false);
  const [notice, setNotice] = useState("");

  useEffect(() => {
    document.title = `${table} · SQL Studio`;
    api.schemas.describeTable(ref).then(setDesc, (e) => setProblem(problemOf(e)));
  }, [connectionId, schema, table]);

  const load = async (token = tokens[tokens.length - 1]) => {
    setLoading(true);
    setSelected(new Set());
    try {
      const r = await api.tables.getRows({ table: ref, filters: toFilters(filters, desc?.columns ?? []), sort, pageSize: PAGE, pageToken: token });
      setPage(r);
      setProblem(undefined);
    } catch (e) {
      setProblem(e instanceof InputError ? { message: e.message } : problemOf(e));
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    if (desc) void load();
  }, [desc, filters, sort, tokens]);

  const columns = page?.columns ?? [];
  const pk = page?.primaryKey ?? [];
  const editable = pk.length > 0;
  const keyOf = (row: Row) => Object.fromEntries(pk.map((k) => [k, again(row.values[columns.findIndex((c) => c.name === k)])]));
  const expectedOf = (row: Row) => Object.fromEntries(columns.map((c, i) => [c, i] as const).filter(([c]) => comparable(c.databaseType)).map(([c, i]) => [c.name, again(row.values[i])]));

  /** Runs an edit; on Aborted, reads the row again and shows both versions. */
  const guarded = async (row: Row, change: Record<string, ValueInit> | null, act: (expected: Record<string, unknown>) => Promise<unknown>) => {
    try {
      await act(expectedOf(row));
      setNotice(change ? "Saved." : "Deleted.");
      await load();
    } catch (e) {
      if (ConnectError.from(e).code !== Code.Aborted) throw e;
      const now = await current(row);
      setConflict({ columns, before: row, change, now, retry: async (fresh) => (await act(expectedOf(fresh)), setConflict(undefined), await load()) });
    }
  };
  const current = async (row: Row): Promise<Row | undefined> => {
    const r = await api.tables.getRows({ table: ref, filters: pk.map((k) => ({ column: k, operator: FilterOperator.EQ, values: [keyOf(row)[k]] })), pageSize: 1 });
    return r.rows[0];
  };

  const saveEdit = async () => {
    if (!editing || !page) return;
    const row = page.rows[editing.row];
    const col = columns[editing.column];
    let value: ValueInit;
    try {
      value = editing.null ? NULL : parseInput(editing.text, col.databaseType);
    } catch (e) {
      return setProblem({ message: `${col.name}: ${(e as Error).message}` });
    }
    setEditing(undefined);
    const set = { [col.name]: value };
    await guarded(row, set, (expected) => api.tables.updateRows({ table: ref, updates: [{ key: keyOf(row), set, expected: expected as never }] })).catch((e) => setProblem(problemOf(e)));
  };

  const deleteSelected = async () => {
    if (!page || !window.confirm(`Delete ${selected.size} row${selected.size === 1 ? "" : "s"}?`)) return;
    for (const i of selected) {
      const row = page.rows[i];
      await guarded(row, null, (expected) => api.tables.deleteRows({ table: ref, deletes: [{ key: keyOf(row), expected: expected as never }] })).catch((e) => setProblem(problemOf(e)));
    }
  };

  const download = async (format: ExportFormat) => {
    try {
      const chunks: Uint8Array[] = [];
      for await (const c of exportRows(transport, { table: ref, filters: toFilters(filters, desc?.columns ?? []), sort, format })) chunks.push(c);
      const a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob(chunks as BlobPart[], { type: format === ExportFormat.CSV ? "text/csv" : "application/x-ndjson" }));
      a.download = `${table}.${format === ExportFormat.CSV ? "csv" : "ndjson"}`;
      document.body.appendChild(a);
      a.click();
      a.remove();
    } catch (e) {
      setProblem(e instanceof InputError ? { message: e.message } : problemOf(e));
    }
  };

  const toggleSort = (name: string) => {
    const cur = sort.find((s) => s.column === name);
    setSort(!cur ? [{ column: name, descending: false }] : !cur.descending ? [{ column: name, descending: true }] : []);
    setTokens([""]);
  };

  return (
    <Page
      title={`${schema}.${table}`}
      wide
      actions={
        <>
          <Button onClick={() => (openTab({ sql: `SELECT * FROM ${table}\nLIMIT 1000;`, connectionId }), navigate("/"))}>Query</Button>
          {editable && <Button onClick={() => setInserting(true)}>Add row</Button>}
          {editable && (
            <Button kind="danger" disabled={selected.size === 0} onClick={() => void deleteSelected()}>
              Delete selected{selected.size ? ` (${selected.size})` : ""}
            </Button>
          )}
          <Button onClick={() => void download(ExportFormat.CSV)}>Export CSV</Button>
          <Button onClick={() => void download(ExportFormat.NDJSON)}>Export NDJSON</Button>
        </>
      }
    >
      {desc?.table && (
        <p class="muted small">
          {Number(desc.table.rowEstimate) >= 0 ? `About ${Number(desc.table.rowEstimate).toLocaleString()} rows. ` : ""}
          {editable ? `Rows are edited by their primary key (${pk.join(", ")}); double-click a cell or press Enter to edit it.` : "No primary key: rows can be read, not edited."}
        </p>
      )}
      {problem && <Alert>{problem.message}</Alert>}
      {notice && (
        <Alert kind="success">
          {notice}{" "}
          <Button kind="ghost" onClick={() => setNotice("")}>
            Dismiss
          </Button>
        </Alert>
      )}
      {conflict && <RowConflict state={conflict} onDiscard={() => (setConflict(undefined), void load())} onRetry={() => conflict.now && void conflict.retry(conflict.now).catch((e) => setProblem(problemOf(e)))} />}
      {inserting && desc && <InsertRow columns={desc.columns} onCancel={() => setInserting(false)} onInsert={async (values) => (await api.tables.insertRows({ table: ref, rows: [{ values }] }), setInserting(false), setNotice("Row added."), await load())} />}
      {desc && <Filters columns={desc.columns} applied={filters} onApply={(f) => (setFilters(f), setTokens([""]))} />}
      {!page && loading ? (
        <Loading />
      ) : page ? (
        <>
          <div class="table-wrap data-wrap">
            <table class="table data-table" aria-label={`Rows of ${table}`} aria-busy={loading}>
              <thead>
                <tr>
                  {editable && (
                    <th scope="col">
                      <span class="sr-only">Select</span>
                    </th>
                  )}
                  {columns.map((c) => {
                    const s = sort.find((x) => x.column === c.name);
                    return (
                      <th scope="col" aria-sort={s ? (s.descending ? "descending" : "ascending") : "none"}>
                        <button class="sort" onClick={() => toggleSort(c.name)} title={`${c.databaseType}; sort`}>
                          {c.name} {s ? (s.descending ? "▼" : "▲") : ""}
                          {pk.includes(c.name) && <span class="tag">key</span>}
                        </button>
                      </th>
                    );
                  })}
                </tr>
              </thead>
              <tbody>
                {page.rows.map((row, r) => (
                  <tr key={r} class={selected.has(r) ? "selected" : undefined}>
                    {editable && (
                      <td>
                        <input type="checkbox" aria-label={`Select row ${r + 1}`} checked={selected.has(r)} onChange={() => setSelected((s) => (s.has(r) ? new Set([...s].filter((x) => x !== r)) : new Set([...s, r])))} />
                      </td>
                    )}
                    {columns.map((c, ci) =>
                      editing?.row === r && editing.column === ci ? (
                        <td class="editing">
                          <input
                            autoFocus
                            aria-label={`New value for ${c.name}`}
                            value={editing.null ? "" : editing.text}
                            placeholder={editing.null ? "NULL" : c.databaseType}
                            onInput={(e) => setEditing({ ...editing, text: e.currentTarget.value, null: false })}
                            onKeyDown={(e) => {
                              if (e.key === "Enter") void saveEdit();
                              if (e.key === "Escape") setEditing(undefined);
                            }}
                          />
                          <Button kind="ghost" onClick={() => setEditing({ ...editing, null: true, text: "" })}>
                            NULL
                          </Button>
                          <Button kind="ghost" onClick={() => void saveEdit()}>
                            Save
                          </Button>
                        </td>
                      ) : (
                        <td
                          class={isNull(row.values[ci]) ? "null" : numeric(cellOf(row.values[ci]).kind) ? "num" : undefined}
                          tabIndex={editable ? 0 : undefined}
                          onDblClick={() => editable && setEditing({ row: r, column: ci, text: isNull(row.values[ci]) ? "" : textOf(row.values[ci]), null: isNull(row.values[ci]) })}
                          onKeyDown={(e) => editable && e.key === "Enter" && setEditing({ row: r, column: ci, text: isNull(row.values[ci]) ? "" : textOf(row.values[ci]), null: isNull(row.values[ci]) })}
                        >
                          {textOf(row.values[ci])}
                        </td>
                      ),
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div class="pager">
            <span class="muted small">
              Page {tokens.length} · {page.rows.length} row{page.rows.length === 1 ? "" : "s"}
            </span>
            <Button disabled={tokens.length === 1} onClick={() => setTokens([""])}>
              First
            </Button>
            <Button disabled={tokens.length === 1} onClick={() => setTokens(tokens.slice(0, -1))}>
              Previous
            </Button>
            <Button disabled={!page.nextPageToken} onClick={() => setTokens([...tokens, page.nextPageToken])}>
              Next
            </Button>
          </div>
        </>
      ) : (
        <ProblemAlert problem={problem as Problem} />
      )}
    </Page>
  );
}
