import { invalidArgument, fail, R } from "../common/errors.js";
import { decodePageToken, pageOf, pageSize, type PageScope } from "../common/paging.js";
import type { Connections } from "./connections.js";
import type { EngineName, Session } from "./driver.js";
import type { Introspectors, TableDescription, TableInfo } from "./introspect/types.js";
import { withSession } from "./session.js";

const NAME_MAX = 1024;

/** The field naming the table: `table` of DescribeTable, `table.table` of TableService requests. */
const tableNotFound = (field: "table" | "table.table") => fail(R.TABLE_NOT_FOUND, "table not found", { field });

export function checkName(value: string, field: string, required: boolean) {
  if (required && value === "") throw invalidArgument(field, "is required");
  if (value.length > NAME_MAX || value.includes("\0")) throw invalidArgument(field, `must be at most ${NAME_MAX} characters without NUL`);
}

/** Schema browsing (SchemaService): catalog queries per engine, names always bound. */
export class Catalog {
  constructor(
    private readonly connections: Connections,
    /** The catalog queries of each engine. */
    private readonly introspectors: Introspectors,
  ) {}

  async schemas(userId: string, connectionId: string) {
    const row = await this.connections.get(userId, connectionId);
    return withSession(this.connections, userId, row, (s) => this.introspectors[row.engine].schemas(s));
  }

  async tables(userId: string, connectionId: string, schema: string, requestedSize: number, token: string): Promise<{ tables: TableInfo[]; next: string }> {
    checkName(schema, "schema", false);
    const size = pageSize(requestedSize, 1000, 5000);
    const scope: PageScope = ["tables", connectionId, schema];
    const after = decodePageToken(token, scope);
    const row = await this.connections.get(userId, connectionId);
    const all = await withSession(this.connections, userId, row, (s) => this.introspectors[row.engine].tables(s, schema));
    // Pages follow code-unit order (not the database's collation), so a token always means the same place.
    all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const rest = after === undefined ? all : all.filter((t) => t.name > after);
    const { page, next } = pageOf(rest, size, scope, (last) => last.name);
    return { tables: page, next };
  }

  async describe(userId: string, connectionId: string, schema: string, table: string): Promise<TableDescription> {
    checkName(schema, "schema", false);
    checkName(table, "table", true);
    const row = await this.connections.get(userId, connectionId);
    const d = await withSession(this.connections, userId, row, (s) => this.introspectors[row.engine].describe(s, schema, table));
    if (!d) throw tableNotFound("table");
    return d;
  }

  /** The description on an already held session (TableService). */
  async describeOn(s: Session, engine: EngineName, schema: string, table: string): Promise<TableDescription> {
    checkName(schema, "table.schema", false);
    checkName(table, "table.table", true);
    const d = await this.introspectors[engine].describe(s, schema, table);
    if (!d) throw tableNotFound("table.table");
    return d;
  }
}
