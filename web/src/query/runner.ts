/**
 * The page's side of a query run: the worker does the work (query/worker.ts); this keeps what the
 * page shows as signals (statements with their columns, rows so far and totals; the query id;
 * the outcome) and asks the worker for rows to show, a cell in full, or an export.
 */
import { signal } from "@preact/signals";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import type { ExecuteQueryRequestSchema } from "@gen/sqlstudio/database/v1/query_pb.js";
import { accessToken, refresh } from "../api/session.js";
import { api } from "../api/transport.js";
import type { ColumnInfo, FromWorker, ToWorker } from "./protocol.js";

export interface StatementState {
  index: number;
  columns: ColumnInfo[];
  rowCount: number;
  footer?: { rowCount: number; affectedRows: number; durationMs: number; truncated: boolean; command: string };
}

export type RunStatus = "starting" | "running" | "done" | "failed" | "canceled";

export interface RowWindow {
  from: number;
  cells: string[];
  kinds: Uint8Array;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

let worker: Worker | undefined;
let nextId = 1;
const listeners = new Map<number, (m: FromWorker) => void>();

function theWorker(): Worker {
  if (!worker) {
    worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module", name: "query" });
    worker.onmessage = (e: MessageEvent<FromWorker>) => listeners.get(e.data.run)?.(e.data);
  }
  return worker;
}

const send = (m: ToWorker) => theWorker().postMessage(m);

/** Starts the worker ahead of the first query (its module loads and compiles meanwhile). */
export function prepareWorker(): void {
  theWorker();
}

export class QueryRun {
  readonly id = nextId++;
  readonly status = signal<RunStatus>("starting");
  readonly statements = signal<StatementState[]>([]);
  readonly queryId = signal("");
  readonly statementCount = signal(0);
  readonly error = signal<{ code: Code; message: string; reason: string } | undefined>(undefined);
  readonly startedAt = performance.now();
  /** performance.now() when the first rows arrived, and when the run ended. */
  firstRowsAt = 0;
  endedAt = 0;
  private req = 0;
  private pending = new Map<number, (m: FromWorker) => void>();
  private canceling = false;

  constructor(readonly request: MessageInitShape<typeof ExecuteQueryRequestSchema>) {
    listeners.set(this.id, (m) => this.on(m));
  }

  async start(): Promise<void> {
    // The stream outlives a short token: start it with a fresh one.
    if (!accessToken()) await refresh();
    send({ type: "run", run: this.id, baseUrl: window.location.origin, token: accessToken() ?? "", request: this.request });
  }

  private update(i: number, f: (s: StatementState) => StatementState) {
    const list = this.statements.value.slice();
    list[i] = f(list[i]);
    this.statements.value = list;
  }

  private on(m: FromWorker) {
    switch (m.type) {
      case "started":
        this.queryId.value = m.queryId;
        this.statementCount.value = m.statementCount;
        this.status.value = "running";
        break;
      case "header": {
        const list = this.statements.value.slice();
        list[m.statement] = { index: m.statement, columns: m.columns, rowCount: 0 };
        this.statements.value = list;
        break;
      }
      case "rows":
        if (!this.firstRowsAt && m.rowCount > 0) this.firstRowsAt = performance.now();
        this.update(m.statement, (s) => ({ ...s, rowCount: m.rowCount }));
        break;
      case "footer":
        this.update(m.statement, (s) => ({ ...s, footer: { rowCount: m.rowCount, affectedRows: m.affectedRows, durationMs: m.durationMs, truncated: m.truncated, command: m.command } }));
        break;
      case "done":
        this.endedAt = performance.now();
        this.status.value = "done";
        break;
      case "failed":
        this.endedAt = performance.now();
        if (m.code === Code.Canceled || this.canceling) this.status.value = "canceled";
        else {
          this.error.value = { code: m.code, message: m.message, reason: m.reason };
          this.status.value = "failed";
        }
        break;
      default:
        this.pending.get(m.req)?.(m);
        this.pending.delete(m.req);
    }
  }

  private ask<T extends FromWorker>(m: DistributiveOmit<Extract<ToWorker, { req: number }>, "req" | "run">): Promise<T> {
    const req = ++this.req;
    return new Promise<T>((resolve) => {
      this.pending.set(req, resolve as (m: FromWorker) => void);
      send({ ...m, run: this.id, req } as ToWorker);
    });
  }

  rows(statement: number, from: number, count: number): Promise<RowWindow> {
    return this.ask<Extract<FromWorker, { type: "window" }>>({ type: "window", statement, from, count });
  }

  cell(statement: number, row: number, column: number): Promise<{ text: string; kind: number }> {
    return this.ask<Extract<FromWorker, { type: "cell" }>>({ type: "cell", statement, row, column });
  }

  async exportBlob(statement: number, format: "csv" | "ndjson"): Promise<Blob> {
    return (await this.ask<Extract<FromWorker, { type: "export" }>>({ type: "export", statement, format })).blob;
  }

  get active(): boolean {
    return this.status.value === "starting" || this.status.value === "running";
  }

  /** Stops the statement in the database (CancelQuery by the id the server sent first), then the stream. */
  async cancel(): Promise<void> {
    if (!this.active) return;
    this.canceling = true;
    const id = this.queryId.value;
    if (id) await api.queries.cancelQuery({ queryId: id }).catch(() => undefined);
    send({ type: "abort", run: this.id });
  }

  dispose(): void {
    if (this.active) void this.cancel();
    send({ type: "dispose", run: this.id });
    listeners.delete(this.id);
  }
}
