/** Messages between the page and the query worker (query/worker.ts). */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ExecuteQueryRequestSchema } from "@gen/sqlstudio/database/v1/query_pb.js";

export interface ColumnInfo {
  name: string;
  type: string;
  nullable: boolean;
}

export type ToWorker =
  | { type: "run"; run: number; baseUrl: string; token: string; request: MessageInitShape<typeof ExecuteQueryRequestSchema> }
  | { type: "abort"; run: number }
  | { type: "window"; run: number; req: number; statement: number; from: number; count: number }
  | { type: "cell"; run: number; req: number; statement: number; row: number; column: number }
  | { type: "export"; run: number; req: number; statement: number; format: "csv" | "ndjson" }
  | { type: "dispose"; run: number };

export type FromWorker =
  | { type: "started"; run: number; queryId: string; statementCount: number }
  | { type: "header"; run: number; statement: number; columns: ColumnInfo[] }
  | { type: "rows"; run: number; statement: number; rowCount: number }
  | { type: "footer"; run: number; statement: number; rowCount: number; affectedRows: number; durationMs: number; truncated: boolean; command: string }
  | { type: "done"; run: number }
  | { type: "failed"; run: number; code: number; message: string; reason: string }
  | { type: "window"; run: number; req: number; from: number; cells: string[]; kinds: Uint8Array }
  | { type: "cell"; run: number; req: number; text: string; kind: number }
  | { type: "export"; run: number; req: number; blob: Blob };
