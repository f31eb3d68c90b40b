/**
 * A PostgreSQL server that does not play by the rules cannot grow, freeze or keep a call of the
 * real server process (issue 18 item 1): rows past what was asked end the call, a stop (CancelQuery,
 * timeout, client abort, DeleteConnection) ends it within a second by destroying the socket when the
 * database does not obey, huge messages and length prefixes are refused, error text is cut, and the
 * cancel request has its own connection and timeout and reads nothing.
 */
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe as group, expect, it } from "vitest";
import { dataRow, errorResponse, header, hugeMessage, msg, rowsForever, startHostilePg, type HostilePg, type PgPeer } from "../support/hostile/pg.js";
import { describe, eventually, executeOutcome, hostileSpec, limitServer, limitUser, metric, peakRss, rssMb, within, type LimitUser } from "../support/limits.js";
import type { ChildServer } from "../support/server.js";

let server: ChildServer;
let pgServer: HostilePg;
let u: LimitUser;
let connectionId: string;
/** Peers that were sent an endless answer, by SQL. */
const peers = new Map<string, PgPeer>();

const TABLES = ["flood", "endless", "silent", "bigerror", "longerror", "bignotice", "bigcell", "widecell"];

beforeAll(async () => {
  pgServer = await startHostilePg({
    results: Object.fromEntries(TABLES.map((t) => [`select * from ${t}`, { columns: ["x"], rows: [] }])),
    execute: async (peer, sql, maxRows) => {
      const table = /^select \* from (\w+)$/.exec(sql)?.[1];
      if (!table || !TABLES.includes(table)) return false;
      peers.set(table, peer);
      switch (table) {
        case "flood": // DataRows and never a PortalSuspended
          await rowsForever(peer);
          return true;
        case "endless": // exactly what is asked, then PortalSuspended, forever; cancels are ignored
          await new Promise((r) => setTimeout(r, 20));
          await peer.write(Buffer.concat([...Array.from({ length: Math.max(1, maxRows) }, (_, i) => dataRow([`row ${i}`])), msg("s")]));
          return true;
        case "silent":
          return true;
        case "bigerror":
          await hugeMessage(peer, "E", 50 * 1024 * 1024, Buffer.from("SERROR\0C XX000\0M"));
          return true;
        case "longerror":
          await peer.write(errorResponse("y".repeat(60 * 1024), "42000"));
          return true;
        case "bignotice":
          await hugeMessage(peer, "N", 50 * 1024 * 1024, Buffer.from("SNOTICE\0M"));
          return true;
        case "bigcell": {
          // One DataRow whose one column is 200 MB.
          const size = 200 * 1024 * 1024;
          const prefix = Buffer.alloc(6);
          prefix.writeInt16BE(1, 0);
          prefix.writeInt32BE(size, 2);
          await hugeMessage(peer, "D", size + 6, prefix);
          return true;
        }
        case "widecell": {
          // A row with a 2 GiB length prefix, its one column as long, then nothing.
          const col = Buffer.alloc(6);
          col.writeInt16BE(1, 0);
          col.writeInt32BE(0x7ffffff0 - 6, 2);
          await peer.write(Buffer.concat([header("D", 0x7ffffff0), col]));
          return true;
        }
      }
      return false;
    },
    // The cancel connection gets rows instead of a close.
    onCancel: (peer) => rowsForever(peer),
  });
  server = await limitServer();
  u = await limitUser(server, "hpg");
  connectionId = (await u.connections.createConnection({ spec: hostileSpec("postgresql", pgServer) })).connection!.id;
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await pgServer?.close();
});

const inFlight = () => metric(server, "rpc_in_flight", { method: "ExecuteQuery" });
const started = (table: string) => eventually(() => peers.has(table), 5_000);

group("a PostgreSQL server that breaks the protocol", () => {
  it("DataRows past what was asked, without PortalSuspended, end the call at once and the server does not grow", async () => {
    const pid = server.child.pid!;
    const base = rssMb(pid);
    const { peakMb, value: out } = await peakRss(pid, () => executeOutcome(u, { connectionId, sql: "select * from flood" }, { limitMs: 5_000 }));
    expect(out).toMatchObject({ ok: false, code: Code.Unavailable, reason: "DATABASE_PROTOCOL_VIOLATION" });
    expect(out.ms).toBeLessThan(1_000);
    expect(peakMb - base).toBeLessThan(100);
    expect(await eventually(() => peers.get("flood")!.closed, 1_000)).toBe(true);
    expect(await eventually(async () => (await inFlight()) === 0, 1_000)).toBe(true);
  });

  it("a 50 MB ErrorResponse or NoticeResponse is refused, and error text never reaches the client whole", async () => {
    for (const table of ["bigerror", "bignotice"]) {
      const out = await executeOutcome(u, { connectionId, sql: `select * from ${table}` }, { limitMs: 5_000 });
      expect(out).toMatchObject({ ok: false, code: Code.Unavailable, reason: "DATABASE_PROTOCOL_VIOLATION" });
      expect(out.message!.length).toBeLessThan(4_096);
      expect(out.ms).toBeLessThan(1_000);
    }
    // An error the wire allows (60 KB) is the database's to tell, cut to a few KB.
    const long = await executeOutcome(u, { connectionId, sql: "select * from longerror" }, { limitMs: 5_000 });
    expect(long).toMatchObject({ ok: false, code: Code.InvalidArgument, reason: "SQL_ERROR" });
    expect(long.message!.length).toBeLessThan(4_096);
  });

  it("a row with a 2 GiB length prefix ends the call at once", async () => {
    const out = await executeOutcome(u, { connectionId, sql: "select * from widecell" }, { limitMs: 5_000 });
    expect(out).toMatchObject({ ok: false, code: Code.ResourceExhausted, reason: "CELL_TOO_LARGE" });
    expect(out.ms).toBeLessThan(1_000);
  });

  it("a 200 MB cell ends the statement with ResourceExhausted naming the column, and the server does not buffer it", async () => {
    const pid = server.child.pid!;
    const base = rssMb(pid);
    const { peakMb, value: out } = await peakRss(pid, () => executeOutcome(u, { connectionId, sql: "select * from bigcell" }, { limitMs: 10_000 }));
    expect(out).toMatchObject({ ok: false, code: Code.ResourceExhausted, reason: "CELL_TOO_LARGE", field: "x" });
    expect(peakMb - base).toBeLessThan(100);
  });

  it("a 2 GiB length prefix during the handshake fails TestConnection at once, not after the connect timeout", async () => {
    const evil = await startHostilePg({ afterStartup: (peer) => peer.write(header("R", 0x7ffffff0)).then(() => true) });
    try {
      const r = await within(u.connections.testConnection({ target: { case: "spec", value: hostileSpec("postgresql", evil) } }), 5_000);
      expect(r.stuck).toBeUndefined();
      expect(describe(r.error)).toMatchObject({ code: Code.Unavailable, reason: "DATABASE_PROTOCOL_VIOLATION" });
      expect(r.ms).toBeLessThan(1_000);
    } finally {
      await evil.close();
    }
  });
});

group("a PostgreSQL server that ignores a stop", () => {
  it("CancelQuery ends the call within a second though the cancel connection streams rows, and the cancel reads nothing", async () => {
    peers.delete("endless");
    const run = executeOutcome(u, { connectionId, sql: "select * from endless", queryId: "pg-endless-cancel", maxRows: 1e9 }, { limitMs: 10_000 });
    expect(await started("endless")).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    const cancels = pgServer.received.filter((r) => r.kind === "cancel").length;
    const t0 = performance.now();
    await u.queries.cancelQuery({ queryId: "pg-endless-cancel" });
    const out = await run;
    const endedMs = performance.now() - t0;
    expect(out).toMatchObject({ ok: false, code: Code.Canceled });
    expect(endedMs).toBeLessThan(1_000);
    expect(out.rows).toBeGreaterThan(0);
    // The cancel went as a CancelRequest (not a query on a connection of its own) and its connection was closed.
    expect(pgServer.received.filter((r) => r.kind === "cancel").length).toBe(cancels + 1);
    expect(await eventually(() => peers.get("endless")!.closed, 1_000)).toBe(true);
    expect(await eventually(async () => (await inFlight()) === 0, 1_000)).toBe(true);
  });

  it("the statement timeout ends a silent or endless statement within a second of the timeout", async () => {
    for (const table of ["silent", "endless"]) {
      peers.delete(table);
      const out = await executeOutcome(u, { connectionId, sql: `select * from ${table}`, timeoutMs: 1_000, maxRows: 1e9 }, { limitMs: 10_000 });
      expect(out).toMatchObject({ ok: false, code: Code.DeadlineExceeded });
      expect(out.ms).toBeLessThan(2_000);
      expect(await eventually(() => peers.get(table)!.closed, 1_000)).toBe(true);
    }
  });

  it("a client abort frees the call and its socket within a second", async () => {
    peers.delete("endless");
    const abort = new AbortController();
    const run = executeOutcome(u, { connectionId, sql: "select * from endless", maxRows: 1e9 }, { signal: abort.signal, limitMs: 10_000 });
    expect(await started("endless")).toBe(true);
    expect(await inFlight()).toBe(1);
    abort.abort();
    await run;
    expect(await eventually(async () => (await inFlight()) === 0 && peers.get("endless")!.closed, 1_000)).toBe(true);
  });

  it("DeleteConnection of a profile with a hostile stream answers at once and ends the stream", async () => {
    const id = (await u.connections.createConnection({ spec: hostileSpec("postgresql", pgServer) })).connection!.id;
    peers.delete("silent");
    const run = executeOutcome(u, { connectionId: id, sql: "select * from silent" }, { limitMs: 10_000 });
    expect(await started("silent")).toBe(true);
    const del = await within(u.connections.deleteConnection({ id }), 5_000);
    expect(del.stuck).toBeUndefined();
    expect(del.ms).toBeLessThan(1_000);
    const out = await run;
    expect(out.ok).toBe(false);
    expect(await eventually(async () => (await inFlight()) === 0, 1_000)).toBe(true);
  });
});
