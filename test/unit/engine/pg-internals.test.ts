import { EventEmitter, once } from "node:events";
import { createServer, connect, type AddressInfo } from "node:net";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { tapRows, type TappableConnection } from "../../../src/engine/drivers/pg/tap.js";

/**
 * The PostgreSQL driver reaches into pg where it has no API (src/engine/drivers/pg/auth.ts,
 * conn.ts, tap.ts): the auth handlers it replaces to refuse sending a password, the Connection whose
 * socket it watches and ends, and the Connection's `attachListeners`, through which its DataRows
 * are taken before pg's parser sees them. An upgrade of pg that renames them fails here, not in production.
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

  it("a Connection parses its socket (plain, or TLS after the handshake) through attachListeners, which needs only 'data' and 'end'", () => {
    const proto = (pg as unknown as { Connection: { prototype: Record<string, unknown> } }).Connection.prototype;
    expect(typeof proto.attachListeners).toBe("function");
    expect(String(proto.connect)).toContain("this.attachListeners(this.stream)");
    expect(String(proto.upgradeToSSL)).toContain("self.attachListeners(self.stream)");
  });

  it("a tapped Connection gives its DataRows to the tap and every other message to pg, in order", async () => {
    const client = new pg.Client({});
    const connection = (client as unknown as { connection: TappableConnection & EventEmitter }).connection;
    const seen: string[] = [];
    tapRows(connection, (buf, start, end) => seen.push(`row ${buf.subarray(start, end).toString("hex")}`));
    for (const name of ["rowDescription", "dataRow", "commandComplete", "readyForQuery"]) connection.on(name, () => seen.push(name));
    const socket = new EventEmitter();
    connection.attachListeners(socket);
    const framed = (type: string, body: Buffer) => {
      const head = Buffer.from([type.charCodeAt(0), 0, 0, 0, 0]);
      head.writeUInt32BE(body.length + 4, 1);
      return Buffer.concat([head, body]);
    };
    // One int4 column "id": name, table oid, column number, type oid, size, modifier, format.
    const field = Buffer.concat([Buffer.from("id\0"), Buffer.alloc(18)]);
    field.writeInt32BE(23, 3 + 6);
    field.writeInt16BE(4, 3 + 10);
    field.writeInt32BE(-1, 3 + 12);
    const row = Buffer.from([0, 1, 0, 0, 0, 1, 0x37]);
    const bytes = Buffer.concat([framed("T", Buffer.concat([Buffer.from([0, 1]), field])), framed("D", row), framed("C", Buffer.from("SELECT 1\0")), framed("Z", Buffer.from("I"))]);
    // Split mid-row: the tap assembles it.
    socket.emit("data", bytes.subarray(0, 30));
    socket.emit("data", bytes.subarray(30));
    socket.emit("end");
    expect(seen).toEqual(["rowDescription", `row ${row.toString("hex")}`, "commandComplete", "readyForQuery"]);
  });

  it("a socket's chunks are new buffers, not reused (the tap hands out views of them)", async () => {
    const server = createServer((s) => {
      let n = 0;
      const send = () => {
        if (n++ === 20) return s.end();
        s.write(Buffer.alloc(1000, n), () => setTimeout(send, 2));
      };
      send();
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const socket = connect((server.address() as AddressInfo).port, "127.0.0.1");
    const chunks: { chunk: Buffer; copy: Buffer }[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push({ chunk, copy: Buffer.from(chunk) }));
    await once(socket, "end");
    server.close();
    expect(chunks.length).toBeGreaterThan(1);
    for (const { chunk, copy } of chunks) expect(chunk.equals(copy)).toBe(true);
    expect(new Set(chunks.map((c) => c.chunk.buffer)).size).toBe(chunks.length);
  });
});
