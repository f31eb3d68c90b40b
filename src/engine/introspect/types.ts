import { VALUE, type Cell, type EngineName, type Session } from "../driver.js";

export type Kind = "table" | "view" | "materialized_view" | "foreign_table";

export interface SchemaInfo {
  name: string;
  system: boolean;
}
export interface TableInfo {
  schema: string;
  name: string;
  kind: Kind;
  /** -1 when the database has no estimate. */
  rowEstimate: number;
  comment: string;
}
export interface TableColumnInfo {
  name: string;
  databaseType: string;
  nullable: boolean;
  defaultExpression: string;
  generated: boolean;
  ordinal: number;
  comment: string;
}
export interface IndexInfo {
  name: string;
  columns: string[];
  unique: boolean;
  primary: boolean;
  method: string;
}
export interface ForeignKeyInfo {
  name: string;
  columns: string[];
  referencedSchema: string;
  referencedTable: string;
  referencedColumns: string[];
  onUpdate: string;
  onDelete: string;
}
export interface TableDescription {
  table: TableInfo;
  columns: TableColumnInfo[];
  primaryKey: string[];
  indexes: IndexInfo[];
  foreignKeys: ForeignKeyInfo[];
}

/** Catalog queries of one engine; every name is a bound value, never spliced into SQL. */
export interface Introspector {
  schemas(s: Session): Promise<{ schemas: SchemaInfo[]; defaultSchema: string }>;
  /** Schema "" means the default schema. */
  tables(s: Session, schema: string): Promise<TableInfo[]>;
  /** Undefined when there is no such relation. */
  describe(s: Session, schema: string, table: string): Promise<TableDescription | undefined>;
}

/** The introspector of each engine (engines.ts has the built-in ones). */
export type Introspectors = Record<EngineName, Introspector>;

/** A cell's value as a string ("" for NULL). */
export function str(c: Cell | undefined): string {
  const v = c?.kind?.value;
  if (v === undefined || v === null || c?.kind?.case === "nullValue") return "";
  return typeof v === "string" ? v : v instanceof Uint8Array ? Buffer.from(v).toString("utf8") : String(v);
}
export function num(c: Cell | undefined): number {
  const s = str(c);
  return s === "" ? -1 : Number(s);
}
export function bool(c: Cell | undefined): boolean {
  const k = c?.kind;
  if (!k) return false;
  if (k.case === "boolValue") return k.value;
  const s = str(c).toLowerCase();
  return s === "1" || s === "t" || s === "true" || s === "yes";
}
export const text = (v: string): Cell => ({ $typeName: VALUE, kind: { case: "textValue", value: v } });

/** Groups ordered rows by a key into lists, keeping first-seen order. */
/**
 * Foreign keys from catalog rows of (name, column, referenced schema, referenced table, referenced
 * column, on update, on delete), one row per column in order; `action` spells the rule.
 */
export function foreignKeysOf(rows: Cell[][], action: (rule: string) => string = (r) => r): ForeignKeyInfo[] {
  return [...groupBy(rows, (r) => str(r[0])).values()].map((fk) => ({
    name: str(fk[0][0]),
    columns: fk.map((r) => str(r[1])),
    referencedSchema: str(fk[0][2]),
    referencedTable: str(fk[0][3]),
    referencedColumns: fk.map((r) => str(r[4])),
    onUpdate: action(str(fk[0][5])),
    onDelete: action(str(fk[0][6])),
  }));
}

export function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}
