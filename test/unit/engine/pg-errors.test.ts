import { describe, expect, it } from "vitest";
import { DatabaseError } from "../../../src/engine/driver.js";
import { dbError } from "../../../src/engine/drivers/pg/conn.js";

/** A PostgreSQL ErrorResponse as pg hands it over. */
const pgError = (code: string) => Object.assign(new Error(`error ${code}`), { code, severity: "FATAL" });

describe("PostgreSQL errors → what the client should do", () => {
  it.each([
    ["57P03", "connect"], // the database system is starting up / in recovery mode
    ["57P01", "connect"], // terminating connection due to administrator command
    ["57P02", "connect"], // crash shutdown
    ["08006", "connect"], // connection failure
    ["53300", "connect"], // too many connections
    ["57014", "canceled"],
    ["25006", "readonly"],
    ["23505", "constraint"],
    ["28P01", "auth"],
    ["3D000", "auth"],
    ["42P01", "sql"],
    ["53100", "sql"], // disk full: the statement's own failure, not an outage of the server
  ])("%s is %s", (code, kind) => {
    const e = dbError(pgError(code));
    expect(e).toBeInstanceOf(DatabaseError);
    expect((e as DatabaseError).kind).toBe(kind);
    expect((e as DatabaseError).code).toBe(code);
  });
});
