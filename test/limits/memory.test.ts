/**
 * The engine part of issue 18's memory test: during a hostile PostgreSQL stream, a hostile MySQL
 * stream and a 200 MB cell, in turn, the real server process's RSS stays within 300 MB of its
 * baseline and another user's GetCurrentUser keeps answering in under 100 ms (median; the largest is
 * printed). (The 2,000-streams and 200-sockets parts live with the transport limits.)
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createClient } from "@connectrpc/connect";
import { AuthService } from "../../gen/sqlstudio/auth/v1/auth_pb.js";
import { startPostgres } from "../support/databases.js";
import { specFor, transportFor } from "../support/engine.js";
import { columnDef, endlessPacket, bigLength, eofPacket, lenenc, startHostileMysql, textRow, type HostileMysql } from "../support/hostile/mysql.js";
import { dataRow, msg, rowsForever, startHostilePg, type HostilePg } from "../support/hostile/pg.js";
import { executeOutcome, hostileSpec, limitServer, limitUser, rssMb, type LimitUser } from "../support/limits.js";
import type { ChildServer } from "../support/server.js";

let server: ChildServer;
let pgServer: HostilePg;
let my: HostileMysql;
let attacker: LimitUser;
let bystander: ReturnType<typeof createClient<typeof AuthService>>;
const ids: Record<string, string> = {};

beforeAll(async () => {
  pgServer = await startHostilePg({
    results: { "select * from flood": { columns: ["x"], rows: [] }, "select * from endless": { columns: ["x"], rows: [] } },
    execute: async (peer, sql, maxRows) => {
      if (sql === "select * from flood") {
        await rowsForever(peer);
        return true;
      }
      if (sql === "select * from endless") {
        await peer.write(Buffer.concat([...Array.from({ length: Math.max(1, maxRows) }, () => dataRow(["y".repeat(200)])), msg("s")]));
        return true;
      }
      return false;
    },
    onCancel: (peer) => rowsForever(peer),
  });
  my = await startHostileMysql({
    query: async (peer, sql) => {
      if (/^KILL QUERY/i.test(sql)) return true;
      if (sql === "select * from wide") {
        await peer.packet(lenenc(4_000_000_000));
        const defs = Array.from({ length: 200 }, () => columnDef("c"));
        while (!peer.closed) await peer.packets(defs);
        return true;
      }
      if (sql === "select * from bigrow" || sql === "select * from endless") {
        await peer.packet(lenenc(1));
        await peer.packet(columnDef("n"));
        await peer.packet(eofPacket());
        if (sql === "select * from bigrow") await endlessPacket(peer, bigLength(1024 * 1024 * 1024));
        else for (let i = 0; !peer.closed; i += 200) await peer.packets(Array.from({ length: 200 }, () => textRow(["z".repeat(200)])));
        return true;
      }
      return false;
    },
  });
  const pg = await (await startPostgres()).createDatabase("memory_limits");
  server = await limitServer();
  attacker = await limitUser(server, "mem-attacker");
  const other = await limitUser(server, "mem-bystander");
  bystander = createClient(AuthService, transportFor(server.url, other.token));
  ids.pg = (await attacker.connections.createConnection({ spec: hostileSpec("postgresql", pgServer) })).connection!.id;
  ids.my = (await attacker.connections.createConnection({ spec: hostileSpec("mysql", my) })).connection!.id;
  ids.real = (await attacker.connections.createConnection({ spec: specFor(pg) })).connection!.id;
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await pgServer?.close();
  await my?.close();
});

/** Runs `attack` repeatedly for `ms` while sampling RSS and timing the bystander's GetCurrentUser. */
async function phase(name: string, ms: number, attacks: (() => Promise<unknown>)[]): Promise<{ peakMb: number; latencies: number[] }> {
  const pid = server.child.pid!;
  let peak = rssMb(pid);
  const end = performance.now() + ms;
  const latencies: number[] = [];
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 50);
  const probe = (async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await bystander.getCurrentUser({});
      latencies.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const loops = attacks.map(async (attack) => {
    while (performance.now() < end) await attack();
  });
  await Promise.all([probe, ...loops]);
  clearInterval(sampler);
  latencies.sort((a, b) => a - b);
  console.log(`${name}: peak RSS ${Math.round(peak)} MB; GetCurrentUser median ${latencies[latencies.length >> 1].toFixed(1)} ms, max ${latencies[latencies.length - 1].toFixed(1)} ms (${latencies.length} calls)`);
  return { peakMb: Math.max(peak, rssMb(pid)), latencies };
}

const stream = (connectionId: string, sql: string, limitMs = 3_000) => () => executeOutcome(attacker, { connectionId, sql, maxRows: 1e9, timeoutMs: limitMs }, { limitMs: limitMs + 2_000 });

it("hostile PostgreSQL and MySQL streams and a 200 MB cell leave RSS within 300 MB of the baseline, and another user is answered at once", async () => {
  // Warm: code paths compiled, pools open.
  await executeOutcome(attacker, { connectionId: ids.real, sql: "SELECT 1" });
  await bystander.getCurrentUser({});
  const base = rssMb(server.child.pid!);
  const phases = [
    await phase("hostile PostgreSQL stream", 4_000, [stream(ids.pg, "select * from flood"), stream(ids.pg, "select * from endless")]),
    await phase("hostile MySQL stream", 4_000, [stream(ids.my, "select * from wide"), stream(ids.my, "select * from bigrow"), stream(ids.my, "select * from endless")]),
    await phase("200 MB cell", 4_000, [stream(ids.real, "SELECT repeat('x', 200000000) AS payload", 10_000)]),
  ];
  console.log(`memory: baseline ${Math.round(base)} MB`);
  for (const p of phases) {
    expect(p.peakMb - base).toBeLessThan(300);
    expect(p.latencies.length).toBeGreaterThan(5);
    expect(p.latencies[p.latencies.length >> 1]).toBeLessThan(100);
  }
}, 120_000);
