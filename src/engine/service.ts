import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  ConnectionService,
  Engine,
  SslMode,
  type ConnectionSchema,
  type ConnectionSpec,
} from "../../gen/sqlstudio/database/v1/connection_pb.js";
import { QueryService } from "../../gen/sqlstudio/database/v1/query_pb.js";
import { SchemaService, TableKind } from "../../gen/sqlstudio/database/v1/schema_pb.js";
import { ExportFormat, FilterOperator, TableService, type Filter, type Sort, type TableRef } from "../../gen/sqlstudio/database/v1/table_pb.js";
import type { Value } from "../../gen/sqlstudio/database/v1/values_pb.js";
import { decodePageToken, pageOf, pageSize, type PageScope } from "../common/paging.js";
import { requestInfoKey, userIdOf } from "../common/caller.js";
import { invalidArgument } from "../common/errors.js";
import type { HistoryEntry } from "../../gen/sqlstudio/sync/v1/sync_pb.js";
import { decodePayload } from "../sync/payload.js";
import type { Sync } from "../sync/sync.js";
import type { Catalog } from "./catalog.js";
import type { Connections, Spec } from "./connections.js";
import type { Cell, EngineName, SslMode as SslName } from "./driver.js";
import type { Pools } from "./pools.js";
import type { Queries } from "./queries.js";
import type { FilterSpec, Operator, SortSpec } from "./rows.js";
import type { ConnectionRow } from "./store.js";
import type { Tables, TableRefSpec } from "./tables.js";


const ENGINES: Record<number, EngineName | undefined> = { [Engine.POSTGRESQL]: "postgresql", [Engine.MYSQL]: "mysql", [Engine.SQLITE]: "sqlite" };
const ENGINE_OUT: Record<EngineName, Engine> = { postgresql: Engine.POSTGRESQL, mysql: Engine.MYSQL, sqlite: Engine.SQLITE };
const SSL: Record<number, SslName> = {
  [SslMode.UNSPECIFIED]: "prefer",
  [SslMode.DISABLE]: "disable",
  [SslMode.PREFER]: "prefer",
  [SslMode.REQUIRE]: "require",
  [SslMode.VERIFY_CA]: "verify-ca",
  [SslMode.VERIFY_FULL]: "verify-full",
};
const SSL_OUT: Record<SslName, SslMode> = { disable: SslMode.DISABLE, prefer: SslMode.PREFER, require: SslMode.REQUIRE, "verify-ca": SslMode.VERIFY_CA, "verify-full": SslMode.VERIFY_FULL };
const KIND_OUT = { table: TableKind.TABLE, view: TableKind.VIEW, materialized_view: TableKind.MATERIALIZED_VIEW, foreign_table: TableKind.FOREIGN_TABLE } as const;
const OPERATORS: Record<number, Operator | undefined> = {
  [FilterOperator.EQ]: "eq",
  [FilterOperator.NE]: "ne",
  [FilterOperator.LT]: "lt",
  [FilterOperator.LE]: "le",
  [FilterOperator.GT]: "gt",
  [FilterOperator.GE]: "ge",
  [FilterOperator.LIKE]: "like",
  [FilterOperator.IN]: "in",
  [FilterOperator.IS_NULL]: "is_null",
  [FilterOperator.IS_NOT_NULL]: "is_not_null",
  [FilterOperator.BETWEEN]: "between",
};

function spec(s: ConnectionSpec | undefined): Spec {
  if (!s) throw invalidArgument("spec", "is required");
  if (SSL[s.sslMode] === undefined) throw invalidArgument("spec.ssl_mode", "is not a known mode");
  return {
    name: s.name,
    engine: ENGINES[s.engine],
    host: s.host,
    port: s.port,
    database: s.database,
    username: s.username,
    password: s.password,
    sslMode: SSL[s.sslMode],
    options: { ...s.options },
    readOnly: s.readOnly,
  };
}

/** A profile as answered: never the password, only whether one is stored. */
function connectionOut(r: ConnectionRow): MessageInitShape<typeof ConnectionSchema> {
  return {
    id: r.id,
    name: r.name,
    engine: ENGINE_OUT[r.engine],
    host: r.host,
    port: r.port,
    database: r.database,
    username: r.username,
    hasPassword: r.passwordSealed !== null,
    sslMode: SSL_OUT[r.sslMode],
    options: r.options,
    readOnly: r.readOnly,
    createdAt: timestampFromMs(r.createdAt),
    updatedAt: timestampFromMs(r.updatedAt),
  };
}

/** sqlstudio.database.v1.ConnectionService */
export function connectionService(connections: Connections, pools: Pools): ServiceImpl<typeof ConnectionService> {
  return {
    async createConnection(req, ctx) {
      return { connection: connectionOut(await connections.create(userIdOf(ctx), spec(req.spec), req.id)) };
    },
    async getConnection(req, ctx) {
      return { connection: connectionOut(await connections.get(userIdOf(ctx), req.id)) };
    },
    async listConnections(req, ctx) {
      const limit = pageSize(req.pageSize);
      const scope: PageScope = ["connections"];
      const after = decodePageToken(req.pageToken, scope, (key) => {
        const [name, id] = JSON.parse(key) as unknown[];
        return typeof name === "string" && typeof id === "string" ? { name, id } : undefined;
      });
      const rows = await connections.list(userIdOf(ctx), limit + 1, after);
      const { page, next } = pageOf(rows, limit, scope, (last) => JSON.stringify([last.name, last.id]));
      return { connections: page.map(connectionOut), nextPageToken: next };
    },
    async updateConnection(req, ctx) {
      return { connection: connectionOut(await connections.update(userIdOf(ctx), req.id, spec(req.spec), req.clearPassword, ctx.values.get(requestInfoKey))) };
    },
    async deleteConnection(req, ctx) {
      await connections.delete(userIdOf(ctx), req.id);
      return {};
    },
    async testConnection(req, ctx) {
      const userId = userIdOf(ctx);
      let target;
      if (req.target.case === "id") {
        const row = await connections.get(userId, req.target.value);
        target = await connections.target(userId, { ...row, password: connections.password(row) });
      } else if (req.target.case === "spec") {
        const s = spec(req.target.value);
        if (!s.engine) throw invalidArgument("spec.engine", "is required");
        target = await connections.target(userId, { ...s, engine: s.engine }, "spec.");
      } else throw invalidArgument("target", "name a stored connection (id) or an unsaved one (spec)");
      const out = await connections.test(target);
      return { latency: durationFromMs(Math.max(1, Math.round(out.latencyMs))), serverVersion: out.version };
    },
    async getConnectionHealth(req, ctx) {
      const userId = userIdOf(ctx);
      const row = await connections.get(userId, req.id);
      const h = pools.health(userId, row.id);
      return {
        poolOpen: h.open,
        total: h.total,
        idle: h.idle,
        waiting: h.waiting,
        max: h.max,
        healthy: h.healthy,
        lastCheckedAt: h.checkedAt > 0 ? timestampFromMs(h.checkedAt) : undefined,
        lastError: h.error,
      };
    },
  };
}

function historyOut(id: string, h: HistoryEntry) {
  return {
    id,
    sql: h.sql,
    connectionId: h.connectionId,
    executedAt: h.executedAt,
    duration: durationFromMs(Number(h.durationMs)),
    rowCount: h.rowCount,
    success: h.success,
    errorMessage: h.errorMessage,
  };
}

/** sqlstudio.database.v1.QueryService */
export function queryService(queries: Queries, sync: Sync): ServiceImpl<typeof QueryService> {
  return {
    async *executeQuery(req, ctx) {
      yield* queries.execute(
        userIdOf(ctx),
        {
          connectionId: req.connectionId,
          sql: req.sql,
          maxRows: Number(req.maxRows),
          timeoutMs: Number(req.timeoutMs),
          readOnly: req.readOnly,
          queryId: req.queryId,
          binary: !(ctx.requestHeader.get("content-type") ?? "").includes("json"),
        },
        ctx.signal,
      );
    },
    async cancelQuery(req, ctx) {
      await queries.cancel(userIdOf(ctx), req.queryId);
      return { canceled: true };
    },
    async explainQuery(req, ctx) {
      return queries.explain(userIdOf(ctx), req.connectionId, req.sql, req.analyze);
    },
    async listQueryHistory(req, ctx) {
      if (req.connectionId.length > 128) throw invalidArgument("connection_id", "is not a connection id");
      const page = await sync.history(userIdOf(ctx), req.connectionId, req.pageSize, req.pageToken);
      return {
        entries: page.records.flatMap((r) => {
          const p = decodePayload("history", r.payload);
          return p.case === "history" ? [historyOut(r.id, p.value)] : [];
        }),
        nextPageToken: page.next,
      };
    },
  };
}

/** sqlstudio.database.v1.SchemaService */
export function schemaService(catalog: Catalog): ServiceImpl<typeof SchemaService> {
  const tableOut = (t: { schema: string; name: string; kind: keyof typeof KIND_OUT; rowEstimate: number; comment: string }) => ({
    schema: t.schema,
    name: t.name,
    kind: KIND_OUT[t.kind],
    rowEstimate: BigInt(t.rowEstimate),
    comment: t.comment,
  });
  return {
    async listSchemas(req, ctx) {
      return catalog.schemas(userIdOf(ctx), req.connectionId);
    },
    async listTables(req, ctx) {
      const out = await catalog.tables(userIdOf(ctx), req.connectionId, req.schema, req.pageSize, req.pageToken);
      return { tables: out.tables.map(tableOut), nextPageToken: out.next };
    },
    async describeTable(req, ctx) {
      const d = await catalog.describe(userIdOf(ctx), req.connectionId, req.schema, req.table);
      return { table: tableOut(d.table), columns: d.columns, primaryKey: d.primaryKey, indexes: d.indexes, foreignKeys: d.foreignKeys };
    },
  };
}

function ref(t: TableRef | undefined): TableRefSpec {
  if (!t) throw invalidArgument("table", "is required");
  return { connectionId: t.connectionId, schema: t.schema, table: t.table };
}
const cells = (m: { [k: string]: Value }): Record<string, Cell> => ({ ...m });
const filtersOf = (fs: Filter[]): FilterSpec[] => fs.map((f) => ({ column: f.column, operator: OPERATORS[f.operator], values: f.values }));
const sortOf = (ss: Sort[]): SortSpec[] => ss.map((s) => ({ column: s.column, descending: s.descending }));

/** sqlstudio.database.v1.TableService */
export function tableService(tables: Tables): ServiceImpl<typeof TableService> {
  return {
    async getRows(req, ctx) {
      const out = await tables.getRows(userIdOf(ctx), ref(req.table), { filters: filtersOf(req.filters), sort: sortOf(req.sort), pageSize: req.pageSize, token: req.pageToken });
      return { columns: out.columns, rows: out.rows.map((values) => ({ values })), nextPageToken: out.next, primaryKey: out.primaryKey };
    },
    async insertRows(req, ctx) {
      const out = await tables.insert(userIdOf(ctx), ref(req.table), req.rows.map((r) => cells(r.values)));
      return { columns: out.columns, rows: out.rows.map((values) => ({ values })) };
    },
    async updateRows(req, ctx) {
      const n = await tables.update(userIdOf(ctx), ref(req.table), req.updates.map((u) => ({ key: cells(u.key), set: cells(u.set), expected: cells(u.expected) })));
      return { updated: BigInt(n) };
    },
    async deleteRows(req, ctx) {
      const n = await tables.delete(userIdOf(ctx), ref(req.table), req.deletes.map((d) => ({ key: cells(d.key), expected: cells(d.expected) })));
      return { deleted: BigInt(n) };
    },
    async *exportRows(req, ctx) {
      const format = req.format === ExportFormat.CSV ? "csv" : req.format === ExportFormat.NDJSON ? "ndjson" : undefined;
      for await (const chunk of tables.export(
        userIdOf(ctx),
        ref(req.table),
        { filters: filtersOf(req.filters), sort: sortOf(req.sort), format, maxRows: Number(req.maxRows), csvNull: req.csvNull },
        ctx.signal,
      )) {
        yield { chunk };
      }
    },
  };
}
