/**
 * One fuzz session against the real server as a child process (so a crash shows as its exit): a
 * signed-in user with a SQLite connection and a table (ids for the requests), the cases of
 * runner.ts, then /health, the child still running, and its resident memory after a settle.
 */
import { readFileSync } from "node:fs";
import { authEnv, login, registerAndLogin, type NewUser } from "../support/auth.js";
import { clientsFor, run, sqliteSpec } from "../support/engine.js";
import { ROOT, TSX_LOADER, spawnServer, type ChildServer } from "../support/server.js";
import { join } from "node:path";
import WebSocket from "ws";
import { allMethods, allServices, type Known } from "./cases.js";
import { runFuzz, type FuzzStats } from "./runner.js";

export interface FuzzReport {
  stats: FuzzStats;
  rssBeforeMb: number;
  rssAfterMb: number;
  rssPeakMb: number;
  /** V8 heap and external memory before and after (after a full GC), from the metrics port. */
  heapBefore: string;
  heapAfter: string;
  /** The child exited during the run (a crash). */
  crashed: string | undefined;
  healthAfter: number;
  /** The server's own error log lines (level ≥ 50) during the run: what threw. */
  errorLogs: string[];
}

export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m![1]) / 1024;
}

/** The child's V8 heap (used, total) and external memory in MB, from its metrics port. */
export async function heapMb(server: ChildServer): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${server.ports.metrics}/metrics`)).text();
  const v = (name: string) => Number(text.split("\n").find((l) => l.startsWith(`${name} `))?.split(" ")[1] ?? NaN) / 2 ** 20;
  return `heap used ${v("nodejs_heap_size_used_bytes").toFixed(0)} MB of ${v("nodejs_heap_size_total_bytes").toFixed(0)} MB, external ${v("nodejs_external_memory_bytes").toFixed(0)} MB`;
}

/** A full GC in the child through its inspector (HeapProfiler.collectGarbage). */
export async function collectGarbage(inspectPort: number): Promise<void> {
  const list = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const ws = new WebSocket(list[0]!.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    ws.once("error", reject);
    ws.once("open", () => ws.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" })));
    ws.on("message", (m) => {
      if ((JSON.parse(String(m)) as { id?: number }).id === 1) resolve();
    });
  });
  ws.close();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function fuzzSession(o: {
  seed: number;
  cases: number;
  seconds?: number;
  concurrency?: number;
  big?: number;
  log?: (line: string) => void;
}): Promise<FuzzReport> {
  // The inspector (loopback only) lets the test ask for a full garbage collection before it reads
  // the memory, so what is left is what the server still holds, not garbage not yet collected.
  const inspectPort = 20_000 + Math.floor(Math.random() * 20_000);
  const server: ChildServer = await spawnServer({
    env: authEnv(),
    args: [`--inspect=127.0.0.1:${inspectPort}`, "--import", TSX_LOADER, join(ROOT, "src/main.ts")],
  });
  try {
    const signedIn: { user: NewUser; token: string } = await (async () => {
      const u = await registerAndLogin(server, "fuzz");
      return { user: u.user, token: u.session.accessToken };
    })();
    const known: Known = {};
    const me = await registerAndLogin(server, "fuzzdata");
    known.userId = me.id;
    known.sessionId = me.session.sessionId;
    // Real data for ids (fuzzing mostly hits validation, but some cases reach the handlers).
    try {
      const clients = clientsFor(server.url, signedIn.token);
      const r = await clients.connections.createConnection({ spec: sqliteSpec("fuzz.db") });
      known.connectionId = r.connection!.id;
      await run(clients, known.connectionId, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)");
      await run(clients, known.connectionId, "INSERT INTO t (name) VALUES ('a'), ('b')");
      known.table = "t";
    } catch (e) {
      o.log?.(`no SQLite connection for the fuzz user (${String(e)}); ids stay made up`);
    }
    const methods = allMethods(await allServices());
    o.log?.(`fuzzing ${methods.length} RPCs, seed ${o.seed}`);
    const errorStart = server.lines.length;

    // Baseline after a short warm-up run (the JIT, pools and caches in place); its failures count too.
    const warmup = await runFuzz({
      seed: (o.seed ^ 0x5a5a5a5a) >>> 0,
      methods,
      known,
      target: { url: server.url, token: () => signedIn.token, deadlineMs: 10_000 },
      cases: methods.length * 5,
      concurrency: 4,
      big: 0,
    });
    await collectGarbage(inspectPort);
    await sleep(500);
    const rssBeforeMb = rssMb(server.child.pid!);
    const heapBefore = await heapMb(server).catch(() => "");
    o.log?.(`before: RSS ${rssBeforeMb.toFixed(0)} MB, ${heapBefore}`);
    let rssPeakMb = rssBeforeMb;
    const sampler = setInterval(() => {
      try {
        rssPeakMb = Math.max(rssPeakMb, rssMb(server.child.pid!));
      } catch {
        /* gone: reported as a crash */
      }
    }, 200);

    let crashed: string | undefined;
    void server.exited.then(({ code, signal }) => (crashed = `exited with ${code ?? signal}`));

    // Logout, RevokeSession, ChangePassword… may end the session the cases use: renew it.
    const renew = async () => {
      const r = await fetch(`${server.url}/sqlstudio.auth.v1.AuthService/GetCurrentUser`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${signedIn.token}` },
        body: "{}",
      }).catch(() => undefined);
      if (r && r.status === 200) return;
      await r?.arrayBuffer();
      if (crashed) return;
      signedIn.token = (await login(server, signedIn.user).catch(() => ({ accessToken: signedIn.token }))).accessToken;
    };

    let stats: FuzzStats;
    try {
      stats = await runFuzz({
        seed: o.seed,
        methods,
        known,
        target: { url: server.url, token: () => signedIn.token, deadlineMs: 10_000 },
        cases: o.cases,
        untilMs: o.seconds !== undefined ? Date.now() + o.seconds * 1000 : undefined,
        concurrency: o.concurrency ?? 6,
        big: o.big ?? 0.02,
        every: { cases: 200, fn: renew },
        log: o.log,
      });
    } finally {
      clearInterval(sampler);
    }
    stats.failures.unshift(...warmup.failures);
    stats.bad += warmup.bad;
    stats.hangs += warmup.hangs;

    // Settle, then an explicit GC is not ours to call in the child: give it time and a few calls.
    let healthAfter = 0;
    if (!crashed) {
      healthAfter = (await fetch(`${server.url}/health`).catch(() => ({ status: 0 }))).status;
      const settleMs = Number(process.env.FUZZ_SETTLE_MS ?? 3_000);
      await collectGarbage(inspectPort).catch((e) => o.log?.(`no GC: ${String(e)}`));
      for (let t = 0; t < settleMs; t += 1_000) {
        await sleep(1_000);
        if (process.env.FUZZ_SETTLE_MS) o.log?.(`RSS ${t + 1000} ms after: ${rssMb(server.child.pid!).toFixed(0)} MB, ${await heapMb(server).catch(() => "")}`);
      }
    }
    const rssAfterMb = crashed ? 0 : rssMb(server.child.pid!);
    const heapAfter = crashed ? "" : await heapMb(server).catch(() => "");
    o.log?.(`after: RSS ${rssAfterMb.toFixed(0)} MB, ${heapAfter}`);
    const errorLogs = server.lines
      .slice(errorStart)
      .filter((l) => {
        try {
          return (JSON.parse(l) as { level?: number }).level! >= 50;
        } catch {
          return false;
        }
      })
      .slice(0, 20)
      .map((l) => l.slice(0, 1500));
    return { stats, rssBeforeMb, rssAfterMb, rssPeakMb, heapBefore, heapAfter, crashed, healthAfter, errorLogs };
  } finally {
    await server.stop();
  }
}

export function fuzzTable(r: FuzzReport): string {
  const s = r.stats;
  const rows = [
    "| | |",
    "|---|---|",
    `| seed | ${s.seed} |`,
    `| RPCs fuzzed (every method of every service in gen/) | ${s.methods} |`,
    `| requests | ${s.cases} in ${s.seconds.toFixed(0)} s |`,
    ...Object.entries(s.sentByProtocol).map(([p, n]) => `| sent over ${p} | ${n} |`),
    ...Object.entries(s.byCode)
      .sort((a, b) => b[1] - a[1])
      .map(([c, n]) => `| answered ${c} | ${n} |`),
    `| Internal / Unknown / HTTP 500 | ${s.bad} |`,
    `| hangs (no answer in 10 s) | ${s.hangs} |`,
    `| crashes | ${r.crashed ? 1 : 0} |`,
    `| max latency | ${s.maxMs.toFixed(0)} ms (${s.maxCase ?? ""}) |`,
    `| RSS before / peak / after (after a full GC) | ${r.rssBeforeMb.toFixed(0)} / ${r.rssPeakMb.toFixed(0)} / ${r.rssAfterMb.toFixed(0)} MB |`,
    `| V8 before | ${r.heapBefore} |`,
    `| V8 after (after a full GC) | ${r.heapAfter} |`,
  ];
  return rows.join("\n");
}
