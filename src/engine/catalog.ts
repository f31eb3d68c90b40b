import { invalidArgument, fail, R } from "../common/errors.js";
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

  async tables(userId: string, connectionId: string, schema: string, pageSize: number, token: string): Promise<{ tables: TableInfo[]; next: string }> {
    checkName(schema, "schema", false);
    if (pageSize < 0) throw invalidArgument("page_size", "must not be negative");
    const size = pageSize === 0 ? 1000 : Math.min(pageSize, 5000);
    let after: string | undefined;
    if (token !== "") {
      try {
        after = JSON.parse(Buffer.from(token, "base64url").toString("utf8")).a;
        if (typeof after !== "string") throw new Error();
      } catch {
        throw invalidArgument("page_token", "is not a token this server issued", R.INVALID_PAGE_TOKEN);
      }
    }
    const row = await this.connections.get(userId, connectionId);
    const all = await withSession(this.connections, userId, row, (s) => this.introspectors[row.engine].tables(s, schema));
    // Pages follow code-unit order (not the database's collation), so a token always means the same place.
    all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const rest = after === undefined ? all : all.filter((t) => t.name > after!);
    const page = rest.slice(0, size);
    const next = rest.length > size ? Buffer.from(JSON.stringify({ a: page[page.length - 1].name })).toString("base64url") : "";
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
