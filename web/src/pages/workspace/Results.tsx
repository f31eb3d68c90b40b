/**
 * The results of a run: progress while rows stream (rows so far, elapsed), one tab per statement
 * (rows, affected, duration, truncated), the grid, the selected cell in full, and CSV / NDJSON
 * downloads of a statement's rows.
 */
import { Code } from "@connectrpc/connect";
import { useEffect, useMemo, useState } from "preact/hooks";
import { Kind } from "@client/rows.js";
import { Grid, type Active, type GridSource } from "../../grid/Grid.js";
import type { QueryRun, StatementState } from "../../query/runner.js";
import { Alert, Button, Empty } from "../../ui/kit.js";

const ms = (x: number) => (x < 1000 ? `${Math.round(x)} ms` : `${(x / 1000).toFixed(x < 10_000 ? 2 : 1)} s`);
const n = (x: number) => x.toLocaleString();

function summary(s: StatementState): string {
  const f = s.footer;
  if (!f) return `${n(s.rowCount)} rows so far`;
  if (s.columns.length === 0) return `${f.command || "Done"}: ${n(f.affectedRows)} row${f.affectedRows === 1 ? "" : "s"} affected · ${ms(f.durationMs)}`;
  return `${n(f.rowCount)} row${f.rowCount === 1 ? "" : "s"}${f.truncated ? " (truncated at the row limit)" : ""}${f.affectedRows ? ` · ${n(f.affectedRows)} affected` : ""} · ${ms(f.durationMs)}`;
}

/** Ticks every 100 ms while the run is active: the elapsed time shown. */
function useElapsed(run: QueryRun): number {
  const [, tick] = useState(0);
  const active = run.active;
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => tick((x) => x + 1), 100);
    return () => clearInterval(t);
  }, [active]);
  return (run.endedAt || performance.now()) - run.startedAt;
}

export function Results({ run }: { run: QueryRun | undefined }) {
  const [tab, setTab] = useState(0);
  useEffect(() => setTab(0), [run]);
  if (!run) {
    return (
      <section class="results" aria-label="Results">
        <Empty title="Run a query to see its results here.">
          <p>
            <kbd>Ctrl</kbd>/<kbd>⌘</kbd> + <kbd>Enter</kbd> runs the selection, or the whole script.
          </p>
        </Empty>
      </section>
    );
  }
  return <RunResults run={run} tab={tab} setTab={setTab} />;
}

function RunResults({ run, tab, setTab }: { run: QueryRun; tab: number; setTab: (i: number) => void }) {
  const statements = run.statements.value.filter(Boolean);
  const status = run.status.value;
  const error = run.error.value;
  const elapsed = useElapsed(run);
  const errorTab = status === "failed" ? statements.length : -1;
  const current = Math.min(tab, Math.max(0, statements.length - (errorTab >= 0 ? 0 : 1)));
  const st = statements[current];
  const total = statements.reduce((a, s) => a + s.rowCount, 0);
  // Follow the newest statement while the run goes on.
  useEffect(() => {
    if (run.active && statements.length) setTab(statements.length - 1);
    if (status === "failed") setTab(statements.length);
  }, [statements.length, status]);

  return (
    <section class="results" aria-label="Results">
      <div class="results-bar" role="status" aria-live="polite">
        {run.active ? (
          <>
            <span class="spinner" aria-hidden="true" /> Running… {n(total)} rows · {ms(elapsed)}
            {run.statementCount.value > 1 && ` · statement ${statements.length} of ${run.statementCount.value}`}
          </>
        ) : status === "canceled" ? (
          <>Cancelled after {ms(elapsed)} · {n(total)} rows received</>
        ) : status === "failed" ? (
          <>Failed after {ms(elapsed)}</>
        ) : (
          <>
            Done in {ms(elapsed)} · {statements.length} statement{statements.length === 1 ? "" : "s"}
          </>
        )}
      </div>
      {(statements.length > 1 || errorTab >= 0) && (
        <div class="result-tabs" role="tablist" aria-label="Statements">
          {statements.map((s, i) => (
            <button role="tab" id={`result-tab-${i}`} aria-selected={current === i} aria-controls="result-panel" class="result-tab" onClick={() => setTab(i)}>
              {i + 1}. {s.footer?.command || (s.columns.length ? "Rows" : "Statement")} <span class="muted small">{s.columns.length ? n(s.footer?.rowCount ?? s.rowCount) : ""}</span>
            </button>
          ))}
          {errorTab >= 0 && (
            <button role="tab" id={`result-tab-${errorTab}`} aria-selected={current === errorTab} aria-controls="result-panel" class="result-tab result-tab-error" onClick={() => setTab(errorTab)}>
              Error
            </button>
          )}
        </div>
      )}
      <div class="result-panel" id="result-panel" role={statements.length > 1 || errorTab >= 0 ? "tabpanel" : undefined} aria-labelledby={statements.length > 1 || errorTab >= 0 ? `result-tab-${current}` : undefined}>
        {current === errorTab && error ? (
          <Alert>
            <strong>{error.code === Code.InvalidArgument ? "The database refused the statement" : "The query failed"}:</strong> {error.message}
            {statements.length > 0 && <div class="small">The statements before it ran; their results are in the other tabs.</div>}
          </Alert>
        ) : st ? (
          <StatementView run={run} st={st} />
        ) : run.active ? null : status === "canceled" ? (
          <Alert kind="info">The query was cancelled before it returned rows.</Alert>
        ) : null}
      </div>
    </section>
  );
}

function StatementView({ run, st }: { run: QueryRun; st: StatementState }) {
  const [active, setActive] = useState<Active | null>(null);
  const [cell, setCell] = useState<{ text: string; kind: number }>();
  const source = useMemo<GridSource>(
    () => ({
      key: `${run.id}:${st.index}`,
      rowCount: st.rowCount,
      columns: st.columns,
      rows: (from, count) => run.rows(st.index, from, count),
      cell: (row, column) => run.cell(st.index, row, column),
    }),
    [run, st.index, st.rowCount, st.columns],
  );
  useEffect(() => {
    setActive(null);
    setCell(undefined);
  }, [run, st.index]);
  useEffect(() => {
    if (active) void run.cell(st.index, active.row, active.column).then(setCell);
  }, [active?.row, active?.column]);

  const download = async (format: "csv" | "ndjson") => {
    const blob = await run.exportBlob(st.index, format);
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `result-${st.index + 1}.${format === "csv" ? "csv" : "ndjson"}`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  };

  if (st.columns.length === 0) return <p class="result-summary">{summary(st)}</p>;
  return (
    <div class="statement">
      <div class="statement-bar">
        <span class="result-summary">{summary(st)}</span>
        <span class="statement-actions">
          <Button kind="ghost" disabled={!st.footer} onClick={() => void download("csv")}>
            Download CSV
          </Button>
          <Button kind="ghost" disabled={!st.footer} onClick={() => void download("ndjson")}>
            Download NDJSON
          </Button>
        </span>
      </div>
      {st.rowCount === 0 && st.footer ? (
        <Empty title="No rows." />
      ) : (
        <div class="statement-body">
          <Grid source={source} label={`Result of statement ${st.index + 1}`} onActive={setActive} />
          {active && cell && (
            <aside class="cell-detail" aria-label="Selected cell">
              <div class="cell-detail-head">
                <strong>{st.columns[active.column]?.name}</strong> <span class="muted small">{st.columns[active.column]?.type} · row {n(active.row + 1)}</span>
              </div>
              <pre class={cell.kind === Kind.Null ? "null" : undefined}>{cell.text}</pre>
            </aside>
          )}
        </div>
      )}
    </div>
  );
}
