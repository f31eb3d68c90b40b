import { VALUE, VALUE_LIST, type Cell, type ColumnInfo, type PoolLimits, type Target } from "../../driver.js";
import { protocolViolation } from "../../limits.js";
import { NetPool } from "../net-pool.js";
import { PgConn, type PgConnOwner } from "./conn.js";
import type { PortalField } from "./portal.js";
import { TYPE_NAMES } from "./types.js";

const intArray = (list: number[]): Cell => ({
  $typeName: VALUE,
  kind: { case: "arrayValue", value: { $typeName: VALUE_LIST, values: list.map((n) => ({ $typeName: VALUE, kind: { case: "intValue", value: BigInt(n) } })) } },
});

/** Time the catalog may take to name a result's column types before the built-in names answer. */
const DESCRIBE_TIMEOUT_MS = 2_000;

/** The connections of one (user, profile) to a PostgreSQL server. */
export class PgPool extends NetPool<PgConn> implements PgConnOwner {
  private readonly types = new Map<string, ColumnInfo>();

  constructor(target: Target, poolLimits: PoolLimits) {
    super(target, poolLimits, "SELECT version()");
  }

  protected open(onClosed: () => void): Promise<PgConn> {
    return PgConn.open(this.target, this, onClosed);
  }

  /**
   * Column type names and NOT NULL flags from the catalog, asked on another connection (the
   * session is busy streaming) and cached; the built-in names answer when that is slow or odd.
   */
  async describe(fields: PortalField[]): Promise<ColumnInfo[]> {
    const key = (f: PortalField) => `${f.dataTypeID}:${f.dataTypeModifier}:${f.tableID}:${f.columnID}`;
    const missing = fields.filter((f) => !this.types.has(key(f)));
    if (missing.length > 0) {
      const rows = await this.lookup(missing).catch(() => undefined);
      if (rows) {
        missing.forEach((f, i) => {
          if (this.types.size > 5_000) this.types.clear();
          const [type, notNull] = rows[i];
          this.types.set(key(f), { name: "", databaseType: type, nullable: notNull !== "t" && notNull !== "true" });
        });
      }
    }
    return fields.map((f) => {
      const known = this.types.get(key(f));
      return { name: f.name, databaseType: known?.databaseType ?? TYPE_NAMES[f.dataTypeID] ?? `oid ${f.dataTypeID}`, nullable: known?.nullable ?? true };
    });
  }

  /** The catalog's answer, one [type, not null] per field; undefined when late or not of that shape. */
  private async lookup(fields: PortalField[]): Promise<[string, string][] | undefined> {
    let timer: NodeJS.Timeout | undefined;
    let session: PgConn | undefined;
    let late = false;
    const work = (async () => {
      const s = await this.conns.acquire();
      if (late) {
        s.release();
        return undefined;
      }
      session = s;
      let broken = true;
      try {
        const r = await s.all(
          `SELECT format_type(f.typ, nullif(f.mod, -1)), coalesce(a.attnotnull, false)::text
             FROM unnest($1::oid[], $2::int4[], $3::oid[], $4::int2[]) WITH ORDINALITY AS f(typ, mod, rel, att, ord)
             LEFT JOIN pg_attribute a ON a.attrelid = f.rel AND a.attnum = f.att AND f.rel <> 0
            ORDER BY f.ord`,
          [fields.map((f) => f.dataTypeID), fields.map((f) => f.dataTypeModifier), fields.map((f) => f.tableID), fields.map((f) => f.columnID)].map(intArray),
        );
        broken = false;
        const out = r.rows.map((row) => row.map((c) => String(c.kind?.value ?? "")) as [string, string]);
        if (out.length !== fields.length || out.some((row) => row.length < 2)) throw protocolViolation("a catalog answer of another shape than asked");
        return out;
      } finally {
        session = undefined;
        s.release(broken);
      }
    })();
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => {
        late = true;
        session?.kill(protocolViolation("the catalog did not answer in time"));
        resolve(undefined);
      }, DESCRIBE_TIMEOUT_MS);
      timer.unref();
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
      work.catch(() => undefined);
    }
  }
}
