/**
 * Typed helpers for the two streaming reads of the database API, for any Connect transport
 * (`@connectrpc/connect-node` or `@connectrpc/connect-web`, Connect binary, gRPC or gRPC-Web):
 *
 *   for await (const e of executeQuery(transport, { connectionId, sql })) {
 *     if (e.case === "rows") e.columns[0].values ...   // typed values, see rows.ts
 *   }
 *
 * ExecuteQuery's row batches are decoded by the fast decoder (rows.ts) instead of protobuf-es:
 * the call goes through a copy of QueryService whose response carries each RowBatch as bytes
 * (the same wire format; only the client's view of it differs). That needs a binary transport:
 * over Connect JSON the batches are JSON objects, which this view cannot read (the call fails).
 */
import { clone, createFileRegistry, type DescMessage, type DescService, type MessageInitShape } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  file_google_protobuf_duration,
  file_google_protobuf_timestamp,
  type Duration,
} from "@bufbuild/protobuf/wkt";
import { createClient, type CallOptions, type Transport } from "@connectrpc/connect";
import {
  file_sqlstudio_database_v1_query,
  type ExecuteQueryRequestSchema,
  type QueryService,
} from "../../gen/sqlstudio/database/v1/query_pb.js";
import { TableService, type ExportRowsRequestSchema } from "../../gen/sqlstudio/database/v1/table_pb.js";
import { file_sqlstudio_database_v1_values, type Column } from "../../gen/sqlstudio/database/v1/values_pb.js";
import { decodeRowBatch, type RowColumn } from "./rows.js";

/** QueryService with `ExecuteQueryResponse.rows` read as bytes (a RowBatch message's encoding). */
function rawQueryService(): DescService {
  const proto = clone(FileDescriptorProtoSchema, file_sqlstudio_database_v1_query.proto);
  const response = proto.messageType.find((m) => m.name === "ExecuteQueryResponse")!;
  const rows = response.field.find((f) => f.name === "rows")!;
  rows.type = FieldDescriptorProto_Type.BYTES;
  rows.typeName = "";
  const deps = [file_google_protobuf_duration, file_google_protobuf_timestamp, file_sqlstudio_database_v1_values];
  const registry = createFileRegistry(proto, (name) => deps.find((f) => f.proto.name === name));
  return registry.getService("sqlstudio.database.v1.QueryService")!;
}

let rawService: DescService | undefined;

/** One event of an ExecuteQuery stream, with row batches as columns. */
export type QueryEvent =
  | { case: "started"; queryId: string; statementCount: number }
  | { case: "header"; queryId: string; statementIndex: number; columns: Column[] }
  | { case: "rows"; statementIndex: number; rowCount: number; columns: RowColumn[] }
  | {
      case: "footer";
      statementIndex: number;
      rowCount: bigint;
      affectedRows: bigint;
      /** Milliseconds. */
      durationMs: number;
      truncated: boolean;
      command: string;
    };

type RawEvent =
  | { case: "started"; value: { queryId: string; statementCount: number } }
  | { case: "header"; value: { queryId: string; statementIndex: number; columns: Column[] } }
  | { case: "rows"; value: Uint8Array }
  | { case: "footer"; value: { statementIndex: number; rowCount: bigint; affectedRows: bigint; duration?: Duration; truncated: boolean; command: string } }
  | { case: undefined; value?: undefined };

const ms = (d: Duration | undefined) => (d ? Number(d.seconds) * 1000 + d.nanos / 1e6 : 0);

/**
 * Runs ExecuteQuery and yields its events; row batches arrive decoded into columns (a column per
 * header column, even in a batch whose rows are shorter). Aborting `options.signal` ends the call
 * (the server stops the statement).
 */
export async function* executeQuery(
  transport: Transport,
  request: MessageInitShape<typeof ExecuteQueryRequestSchema>,
  options?: CallOptions,
): AsyncGenerator<QueryEvent> {
  rawService ??= rawQueryService();
  const client = createClient(rawService as typeof QueryService, transport) as unknown as {
    executeQuery(req: unknown, opts?: CallOptions): AsyncIterable<{ event: RawEvent }>;
  };
  // Statements run one after another: a batch belongs to the last header's statement.
  let width = 0;
  for await (const m of client.executeQuery(request, options)) {
    const e = m.event;
    switch (e.case) {
      case "started":
        yield { case: "started", queryId: e.value.queryId, statementCount: e.value.statementCount };
        break;
      case "header":
        width = e.value.columns.length;
        yield { case: "header", queryId: e.value.queryId, statementIndex: e.value.statementIndex, columns: e.value.columns };
        break;
      case "rows": {
        const b = decodeRowBatch(e.value, width);
        yield { case: "rows", statementIndex: b.statementIndex, rowCount: b.rowCount, columns: b.columns };
        break;
      }
      case "footer": {
        const f = e.value;
        yield { case: "footer", statementIndex: f.statementIndex, rowCount: f.rowCount, affectedRows: f.affectedRows, durationMs: ms(f.duration), truncated: f.truncated, command: f.command };
        break;
      }
    }
  }
}

/** Runs ExportRows and yields the file's bytes in order (CSV or NDJSON, as requested). */
export async function* exportRows(
  transport: Transport,
  request: MessageInitShape<typeof ExportRowsRequestSchema>,
  options?: CallOptions,
): AsyncGenerator<Uint8Array> {
  for await (const m of createClient(TableService, transport).exportRows(request, options)) yield m.chunk;
}

/** The message descriptor the fast path reads ExecuteQuery responses with (for tests). */
export function rawExecuteQueryResponse(): DescMessage {
  rawService ??= rawQueryService();
  return rawService.methods.find((m) => m.name === "ExecuteQuery")!.output;
}
