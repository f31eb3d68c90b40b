import pg from "pg";
import { describe, expect, it } from "vitest";

/**
 * The PostgreSQL driver reaches into pg where it has no API (src/engine/drivers/pg/auth.ts,
 * conn.ts): the auth handlers it replaces to refuse sending a password, and the Connection whose
 * socket it watches and ends. An upgrade of pg that renames them fails here, not in production.
 */
describe("the pg internals the engine relies on", () => {
  it("a Client has the auth handlers guardPassword replaces, and binds them when it connects", () => {
    const client = new pg.Client({}) as unknown as Record<string, unknown>;
    for (const name of ["_handleAuthCleartextPassword", "_handleAuthMD5Password", "_handleAuthSASLContinue"]) {
      expect(typeof client[name], name).toBe("function");
    }
    // Bound at connect time (so an instance method set before connect() is the one that runs).
    const source = String((pg.Client.prototype as unknown as { _attachListeners: () => void })._attachListeners);
    expect(source).toContain("this._handleAuthCleartextPassword.bind(this)");
    expect(source).toContain("this._handleAuthMD5Password.bind(this)");
    expect(source).toContain("this._handleAuthSASLContinue.bind(this)");
  });

  it("a Client has a Connection with its socket before it connects, and a public transaction status", () => {
    const client = new pg.Client({});
    const connection = (client as unknown as { connection: { stream: unknown; once: unknown; emit: unknown } }).connection;
    expect(typeof connection.once).toBe("function");
    expect(typeof connection.emit).toBe("function");
    expect(connection.stream).toBeTruthy();
    expect(typeof (connection.stream as { destroy?: unknown }).destroy).toBe("function");
    expect(client.getTransactionStatus()).toBeNull();
  });
});
