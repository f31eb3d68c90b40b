/**
 * The query worker: runs ExecuteQuery off the main thread, decodes the row batches with the fast
 * decoder (src/client/rows.ts, the same module Node clients use) and keeps every row here. The page
 * hears only counts, and asks for the rows it shows (`window`), one cell in full, or an export.
 */
/// <reference lib="webworker" />
import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { ErrorInfoSchema } from "@gen/sqlstudio/common/v1/error_pb.js";
import { executeQuery } from "@client/query.js";
import type { RowColumn } from "@client/rows.js";
import { brief, csvField, detail, ndjsonValue } from "./format.js";
import type { ColumnInfo, FromWorker, ToWorker } from "./protocol.js";

declare const self: DedicatedWorkerGlobalScope;

interface Chunk {
  start: number;
  rowCount: number;
  columns: RowColumn[];
}

interface Statement {
  columns: ColumnInfo[];
  chunks: Chunk[];
  rowCount: number;
}

interface Run {
  abort: AbortController;
  statements: Statement[];
}

const runs = new Map<number, Run>();
const post = (m: FromWorker, transfer: Transferable[] = []) => self.postMessage(m, transfer);

/** Rows so far are announced at most every 100 ms (and at once for the first batch): the page redraws no more often. */
const PROGRESS_MS = 100;

async function run(m: Extract<ToWorker, { type: "run" }>) {
  const abort = new AbortController();
  const r: Run = { abort, statements: [] };
  runs.set(m.run, r);
  const token: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${m.token}`);
    return next(req);
  };
  const transport = createConnectTransport({ baseUrl: m.baseUrl, useBinaryFormat: true, interceptors: [token] });
  let last = 0;
  let current: Statement | undefined;
  let index = -1;
  try {
    for await (const e of executeQuery(transport, m.request, { signal: abort.signal })) {
      switch (e.case) {
        case "started":
          post({ type: "started", run: m.run, queryId: e.queryId, statementCount: e.statementCount });
          break;
        case "header": {
          index = e.statementIndex;
          current = { columns: e.columns.map((c) => ({ name: c.name, type: c.databaseType, nullable: c.nullable })), chunks: [], rowCount: 0 };
          r.statements[index] = current;
          post({ type: "header", run: m.run, statement: index, columns: current.columns });
          last = 0;
          break;
        }
        case "rows": {
          const st = r.statements[e.statementIndex];
          st.chunks.push({ start: st.rowCount, rowCount: e.rowCount, columns: e.columns });
          st.rowCount += e.rowCount;
          const now = performance.now();
          if (now - last >= PROGRESS_MS) {
            last = now;
            post({ type: "rows", run: m.run, statement: e.statementIndex, rowCount: st.rowCount });
          }
          break;
        }
        case "footer": {
          const st = r.statements[e.statementIndex];
          if (st) post({ type: "rows", run: m.run, statement: e.statementIndex, rowCount: st.rowCount });
          post({ type: "footer", run: m.run, statement: e.statementIndex, rowCount: Number(e.rowCount), affectedRows: Number(e.affectedRows), durationMs: e.durationMs, truncated: e.truncated, command: e.command });
          break;
        }
      }
    }
    post({ type: "done", run: m.run });
  } catch (err) {
    const ce = ConnectError.from(err);
    if (current) post({ type: "rows", run: m.run, statement: index, rowCount: current.rowCount });
    post({ type: "failed", run: m.run, code: ce.code, message: ce.rawMessage, reason: ce.findDetails(ErrorInfoSchema)[0]?.reason ?? "" });
  }
}

/** The chunk holding row `row` (binary search over the chunks' starts). */
function chunkOf(st: Statement, row: number): Chunk | undefined {
  let lo = 0;
  let hi = st.chunks.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = st.chunks[mid];
    if (row < c.start) hi = mid - 1;
    else if (row >= c.start + c.rowCount) lo = mid + 1;
    else return c;
  }
  return undefined;
}

function sendWindow(m: Extract<ToWorker, { type: "window" }>) {
  const st = runs.get(m.run)?.statements[m.statement];
  const width = st?.columns.length ?? 0;
  const count = st ? Math.max(0, Math.min(m.count, st.rowCount - m.from)) : 0;
  const cells: string[] = new Array(count * width);
  const kinds = new Uint8Array(count * width);
  for (let i = 0; i < count; i++) {
    const row = m.from + i;
    const c = chunkOf(st!, row)!;
    const at = row - c.start;
    for (let j = 0; j < width; j++) {
      const col = c.columns[j];
      const k = col ? col.kinds[at] : 0;
      kinds[i * width + j] = k;
      cells[i * width + j] = col ? brief(k, col.values[at]) : "";
    }
  }
  post({ type: "window", run: m.run, req: m.req, from: m.from, cells, kinds }, [kinds.buffer]);
}

function cell(m: Extract<ToWorker, { type: "cell" }>) {
  const st = runs.get(m.run)?.statements[m.statement];
  const c = st && chunkOf(st, m.row);
  const col = c?.columns[m.column];
  const at = c ? m.row - c.start : 0;
  post({ type: "cell", run: m.run, req: m.req, kind: col?.kinds[at] ?? 0, text: col ? detail(col.kinds[at], col.values[at]) : "" });
}

function exportRows(m: Extract<ToWorker, { type: "export" }>) {
  const st = runs.get(m.run)?.statements[m.statement];
  const parts: string[] = [];
  if (st) {
    const names = st.columns.map((c) => c.name);
    const keys = names.map((n) => JSON.stringify(n));
    if (m.format === "csv") parts.push(names.map((n) => csvField(6, n)).join(",") + "\r\n");
    let lines: string[] = [];
    for (const c of st.chunks) {
      for (let r = 0; r < c.rowCount; r++) {
        if (m.format === "csv") lines.push(names.map((_, j) => (c.columns[j] ? csvField(c.columns[j].kinds[r], c.columns[j].values[r]) : "")).join(",") + "\r\n");
        else lines.push(`{${names.map((n, j) => `${keys[j]}:${c.columns[j] ? ndjsonValue(c.columns[j].kinds[r], c.columns[j].values[r]) : "null"}`).join(",")}}\n`);
      }
      if (lines.length >= 5000) {
        parts.push(lines.join(""));
        lines = [];
      }
    }
    parts.push(lines.join(""));
  }
  const blob = new Blob(parts, { type: m.format === "csv" ? "text/csv;charset=utf-8" : "application/x-ndjson" });
  post({ type: "export", run: m.run, req: m.req, blob });
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  switch (m.type) {
    case "run":
      void run(m);
      break;
    case "abort":
      runs.get(m.run)?.abort.abort();
      break;
    case "window":
      sendWindow(m);
      break;
    case "cell":
      cell(m);
      break;
    case "export":
      exportRows(m);
      break;
    case "dispose":
      runs.get(m.run)?.abort.abort();
      runs.delete(m.run);
      break;
  }
};
