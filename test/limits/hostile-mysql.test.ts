/**
 * A MySQL server that does not play by the rules cannot grow, freeze or keep a call of the real
 * server process (issue 18 item 1): column counts and packet sizes are capped, a stop ends the call
 * within a second even when KILL QUERY is never answered, a malformed packet fails the call instead
 * of leaving it waiting, error text is cut.
 */
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe as group, expect, it } from "vitest";
import { bigLength, columnDef, endlessPacket, eofPacket, errPacket, lenenc, startHostileMysql, textRow, type HostileMysql, type MysqlPeer } from "../support/hostile/mysql.js";
import { eventually, executeOutcome, hostileSpec, limitServer, limitUser, metric, peakRss, rssMb, within, type LimitUser } from "../support/limits.js";
import type { ChildServer } from "../support/server.js";

let server: ChildServer;
let my: HostileMysql;
let u: LimitUser;
let connectionId: string;
const peers = new Map<string, MysqlPeer>();

beforeAll(async () => {
  my = await startHostileMysql({
    query: async (peer, sql) => {
      if (/^KILL QUERY/i.test(sql)) return true; // never answered
      const table = /^select \* from (\w+)$/.exec(sql)?.[1];
      if (!table) return false;
      peers.set(table, peer);
      switch (table) {
        case "wide": {
          // A column count of 4e9, then column definitions without end.
          await peer.packet(lenenc(4_000_000_000));
          const defs = Array.from({ length: 200 }, () => columnDef("c"));
          while (!peer.closed) await peer.packets(defs);
          return true;
        }
        case "bigrow":
          await peer.packet(lenenc(1));
          await peer.packet(columnDef("payload"));
          await peer.packet(eofPacket());
          // One cell announced as 1 GiB, in packets of 16 MB - 1 without end.
          await endlessPacket(peer, bigLength(1024 * 1024 * 1024));
          return true;
        case "endless": {
          await peer.packet(lenenc(1));
          await peer.packet(columnDef("n"));
          await peer.packet(eofPacket());
          for (let i = 0; !peer.closed; i += 200) await peer.packets(Array.from({ length: 200 }, (_, k) => textRow([`row ${i + k}`])));
          return true;
        }
        case "silent":
          return true;
        case "malformed":
          // A column definition cut short: mysql2 fails the connection without telling the query.
          await peer.packet(lenenc(1));
          await peer.packet(Buffer.from([3, 0x64, 0x65]));
          return true;
        case "bigerror":
          await peer.packet(errPacket("x".repeat(16 * 1024 * 1024 - 100)));
          return true;
        case "longerror":
          await peer.packet(errPacket("y".repeat(60 * 1024)));
          return true;
      }
      return false;
    },
  });
  server = await limitServer();
  u = await limitUser(server, "hmy");
  connectionId = (await u.connections.createConnection({ spec: hostileSpec("mysql", my) })).connection!.id;
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await my?.close();
});

const inFlight = () => metric(server, "rpc_in_flight", { method: "ExecuteQuery" });

group("a MySQL server that breaks the protocol", () => {
  it("a 16 MB error packet is refused, and a 60 KB error message reaches the client cut to a few KB", async () => {
    const big = await executeOutcome(u, { connectionId, sql: "select * from bigerror" }, { limitMs: 5_000 });
    expect(big).toMatchObject({ ok: false, code: Code.Unavailable, reason: "DATABASE_PROTOCOL_VIOLATION" });
    expect(big.message!.length).toBeLessThan(4_096);
    const long = await executeOutcome(u, { connectionId, sql: "select * from longerror" }, { limitMs: 5_000 });
    expect(long).toMatchObject({ ok: false, code: Code.InvalidArgument, reason: "SQL_ERROR" });
    expect(long.message!.length).toBeLessThan(4_096);
  });

  it("a column count of 4e9 followed by column definitions without end ends the call at once; the server does not grow", async () => {
    const pid = server.child.pid!;
    const base = rssMb(pid);
    const { peakMb, value: out } = await peakRss(pid, () => executeOutcome(u, { connectionId, sql: "select * from wide" }, { limitMs: 5_000 }));
    expect(out).toMatchObject({ ok: false, code: Code.Unavailable, reason: "DATABASE_PROTOCOL_VIOLATION" });
    expect(out.ms).toBeLessThan(1_000);
    expect(peakMb - base).toBeLessThan(100);
    expect(await eventually(() => peers.get("wide")!.closed, 1_000)).toBe(true);
  });

  it("one row of endless 16 MB packets ends the statement with ResourceExhausted; the server does not grow past the cap", async () => {
    const pid = server.child.pid!;
    const base = rssMb(pid);
    const { peakMb, value: out } = await peakRss(pid, () => executeOutcome(u, { connectionId, sql: "select * from bigrow" }, { limitMs: 10_000 }));
    expect(out).toMatchObject({ ok: false, code: Code.ResourceExhausted, reason: "CELL_TOO_LARGE", field: "payload" });
    expect(peakMb - base).toBeLessThan(150);
    expect(await eventually(() => peers.get("bigrow")!.closed, 1_000)).toBe(true);
  });

  it("a malformed packet that makes mysql2 drop the connection fails the call instead of leaving it waiting", async () => {
    const out = await executeOutcome(u, { connectionId, sql: "select * from malformed" }, { limitMs: 5_000 });
    expect(out).toMatchObject({ ok: false, code: Code.Unavailable });
    expect(out.ms).toBeLessThan(1_000);
  });

});

group("a MySQL server that ignores a stop", () => {
  it("CancelQuery ends an endless stream within a second though KILL QUERY is never answered", async () => {
    peers.delete("endless");
    const run = executeOutcome(u, { connectionId, sql: "select * from endless", queryId: "my-endless", maxRows: 1e9 }, { limitMs: 10_000 });
    expect(await eventually(() => peers.has("endless"), 5_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    const t0 = performance.now();
    await u.queries.cancelQuery({ queryId: "my-endless" });
    const out = await run;
    expect(out).toMatchObject({ ok: false, code: Code.Canceled });
    expect(performance.now() - t0).toBeLessThan(1_000);
    // The KILL QUERY goes out on a connection of its own, which may still be logging in when the stream has ended.
    expect(await eventually(() => my.queries().some((q) => /^KILL QUERY/i.test(q)), 2_000)).toBe(true);
    expect(await eventually(() => peers.get("endless")!.closed, 1_000)).toBe(true);
    expect(await eventually(async () => (await inFlight()) === 0, 1_000)).toBe(true);
  });

  it("the statement timeout ends a silent server's statement within a second of the timeout", async () => {
    const out = await executeOutcome(u, { connectionId, sql: "select * from silent", timeoutMs: 1_000 }, { limitMs: 10_000 });
    expect(out).toMatchObject({ ok: false, code: Code.DeadlineExceeded });
    expect(out.ms).toBeLessThan(2_000);
    expect(await eventually(async () => (await inFlight()) === 0, 1_000)).toBe(true);
  });

  it("a client abort frees the call and its socket within a second", async () => {
    peers.delete("endless");
    const abort = new AbortController();
    const run = executeOutcome(u, { connectionId, sql: "select * from endless", maxRows: 1e9 }, { signal: abort.signal, limitMs: 10_000 });
    expect(await eventually(() => peers.has("endless"), 5_000)).toBe(true);
    abort.abort();
    await run;
    expect(await eventually(async () => (await inFlight()) === 0 && peers.get("endless")!.closed, 1_000)).toBe(true);
  });

  it("DeleteConnection of a profile with a stuck stream answers at once", async () => {
    const id = (await u.connections.createConnection({ spec: hostileSpec("mysql", my) })).connection!.id;
    peers.delete("silent");
    const run = executeOutcome(u, { connectionId: id, sql: "select * from silent" }, { limitMs: 10_000 });
    expect(await eventually(() => peers.has("silent"), 5_000)).toBe(true);
    const del = await within(u.connections.deleteConnection({ id }), 5_000);
    expect(del.stuck).toBeUndefined();
    expect(del.ms).toBeLessThan(1_000);
    expect((await run).ok).toBe(false);
    expect(await eventually(async () => (await inFlight()) === 0, 1_000)).toBe(true);
  });
});
