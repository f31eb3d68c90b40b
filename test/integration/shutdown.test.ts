/**
 * Graceful shutdown, proven against the real entry point (DESIGN.md §9): `src/main.ts` runs as a
 * child process under steady load from every kind of client; SIGTERM must not fail any request
 * that began before it, must end streams with Unavailable, must refuse new connections, must not
 * be held open by idle keep-alive connections or HTTP/2 sessions, and must exit 0 in time.
 */
import http from "node:http";
import http2 from "node:http2";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection, type ServerReflectionRequestSchema } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { authEnv } from "../support/auth.js";
import { startPostgres, type ServerInfo } from "../support/databases.js";
import { specFor, sqliteSpec } from "../support/engine.js";
import { limitUser } from "../support/limits.js";
import { spawnServer, startTestServer, type ChildServer, type TestServer } from "../support/server.js";

const now = () => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One unary call as a client saw it; times in ms of performance.now(). */
interface Call {
  client: string;
  start: number;
  end: number;
  ok: boolean;
  code?: Code;
  message?: string;
  cause?: string;
}

/** One Health.Watch stream as a client saw it. */
interface Watch {
  client: string;
  statuses: Status[];
  /** The code the stream ended with (undefined: ended without an error). */
  code?: Code | "none";
  message?: string;
  endedAt?: number;
}

function describeError(e: unknown): Pick<Call, "code" | "message" | "cause"> {
  const err = ConnectError.from(e);
  const cause = err.cause as { code?: string } | undefined;
  return { code: err.code, message: err.rawMessage, cause: cause?.code ?? (err.cause instanceof Error ? err.cause.message : undefined) };
}

/** Health.Check in a loop until stopped or the first failure. */
function checkLoop(name: string, client: Client<typeof Health>, calls: Call[], stop: { stopped: boolean }): Promise<void> {
  return (async () => {
    while (!stop.stopped) {
      const start = now();
      try {
        const res = await client.check({});
        calls.push({ client: name, start, end: now(), ok: res.status === Status.SERVING || res.status === Status.NOT_SERVING });
      } catch (e) {
        calls.push({ client: name, start, end: now(), ok: false, ...describeError(e) });
        return;
      }
    }
  })();
}

function watch(name: string, client: Client<typeof Health>, signal?: AbortSignal): { state: Watch; done: Promise<void>; serving: Promise<void> } {
  const state: Watch = { client: name, statuses: [] };
  let onServing!: () => void;
  const serving = new Promise<void>((r) => (onServing = r));
  const done = (async () => {
    try {
      for await (const res of client.watch({}, { signal })) {
        state.statuses.push(res.status);
        if (res.status === Status.SERVING) onServing();
      }
      state.code = "none";
    } catch (e) {
      const d = describeError(e);
      state.code = d.code;
      state.message = d.message;
    }
    state.endedAt = now();
  })();
  return { state, done, serving };
}

/** Resolves with the time of the first refused TCP connection to the port (polling every 2 ms). */
async function firstRefusal(port: number, deadline: number): Promise<{ at: number; acceptedBefore: number }> {
  let acceptedBefore = 0;
  while (now() < deadline) {
    const at = now();
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(false);
      });
      s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
    });
    if (refused) return { at, acceptedBefore };
    acceptedBefore++;
    await sleep(2);
  }
  throw new Error("new connections were still accepted at the deadline");
}

/** Idle connections a shutdown must not wait for: h1 keep-alive, an h2 session, a silent TCP socket. */
async function openIdleConnections(url: string, port: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const body = await new Promise<string>((resolve, reject) => {
    http
      .get(`${url}/health`, { agent }, (res) => {
        let s = "";
        res.on("data", (d) => (s += d));
        res.on("end", () => resolve(s));
      })
      .on("error", reject);
  });
  expect(JSON.parse(body)).toEqual({ status: "ok" });
  await sleep(5);
  const h1Sockets = Object.values(agent.freeSockets).flat();
  expect(h1Sockets).toHaveLength(1);
  const h1 = { closedAt: undefined as number | undefined };
  h1Sockets[0]!.once("close", () => (h1.closedAt = now()));

  const session = http2.connect(url);
  session.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    const req = session.request({ ":path": "/health" });
    req.on("error", reject);
    req.resume();
    req.on("end", () => resolve());
    req.end();
  });
  const h2 = { goawayAt: undefined as number | undefined, closedAt: undefined as number | undefined };
  session.once("goaway", () => (h2.goawayAt = now()));
  session.once("close", () => (h2.closedAt = now()));

  const silent = net.connect(port, "127.0.0.1");
  silent.on("error", () => {});
  await new Promise((r) => silent.once("connect", r));
  const raw = { closedAt: undefined as number | undefined };
  silent.once("close", () => (raw.closedAt = now()));

  return {
    h1,
    h2,
    raw,
    close() {
      agent.destroy();
      session.destroy();
      silent.destroy();
    },
  };
}

/** A ServerReflectionInfo (bidi) stream that sends one request and then keeps its send side open. */
function openReflectionStream(transport: Transport) {
  const client = createClient(ServerReflection, transport);
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  async function* requests(): AsyncIterable<MessageInitShape<typeof ServerReflectionRequestSchema>> {
    yield { messageRequest: { case: "listServices", value: "" } };
    await held;
  }
  const state = { responses: 0, code: undefined as Code | "none" | undefined, message: undefined as string | undefined, endedAt: undefined as number | undefined };
  let onFirst!: () => void;
  const first = new Promise<void>((r) => (onFirst = r));
  const done = (async () => {
    try {
      for await (const _ of client.serverReflectionInfo(requests())) {
        state.responses++;
        onFirst();
      }
      state.code = "none";
    } catch (e) {
      const d = describeError(e);
      state.code = d.code;
      state.message = d.message;
    }
    state.endedAt = now();
    onFirst();
  })();
  return { state, first, done, release };
}

describe("graceful shutdown of the real process (SIGTERM)", () => {
  let child: ChildServer | undefined;
  const cleanups: (() => void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) c();
    await child?.stop();
    child = undefined;
  });

  it("finishes every request begun before the signal, ends streams with Unavailable, refuses new connections and exits 0 quickly", async () => {
    const timeoutMs = 5_000;
    child = await spawnServer({ env: { SHUTDOWN_TIMEOUT_MS: String(timeoutMs) } });
    const { url, ports } = child;

    // Clients: each HTTP/1.1 client has its own keep-alive agent; the gRPC clients share two h2c sessions.
    const h1Agents = Array.from({ length: 6 }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
    cleanups.push(() => h1Agents.forEach((a) => a.destroy()));
    const connectH1 = (i: number) => createClient(Health, createConnectTransport({ baseUrl: url, httpVersion: "1.1", nodeOptions: { agent: h1Agents[i] } }));
    const grpcA = createGrpcTransport({ baseUrl: url });
    const grpcB = createGrpcTransport({ baseUrl: url });
    const connectH2 = createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: true });

    const idle = await openIdleConnections(url, ports.api);
    cleanups.push(() => idle.close());

    const watches = [
      watch("watch connect h1 #1", connectH1(4)),
      watch("watch connect h1 #2", connectH1(5)),
      watch("watch grpc h2c (shared session)", createClient(Health, grpcA)),
      watch("watch grpc h2c #2", createClient(Health, createGrpcTransport({ baseUrl: url }))),
    ];
    await Promise.all(watches.map((w) => w.serving));

    const calls: Call[] = [];
    const stop = { stopped: false };
    cleanups.push(() => (stop.stopped = true));
    const loops = [
      ...[0, 1, 2, 3].map((i) => checkLoop(`connect-json h1 #${i}`, connectH1(i), calls, stop)),
      ...[0, 1, 2].map((i) => checkLoop(`grpc h2c A #${i}`, createClient(Health, grpcA), calls, stop)),
      ...[0, 1].map((i) => checkLoop(`grpc h2c B #${i}`, createClient(Health, grpcB), calls, stop)),
      ...[0, 1].map((i) => checkLoop(`connect-binary h2c #${i}`, createClient(Health, connectH2), calls, stop)),
    ];
    const clients = 11;

    // Steady load first: every client has completed several calls (the machine may be busy).
    const warm = now() + 15_000;
    const fewest = () => {
      const n = new Map<string, number>();
      for (const c of calls) if (c.ok) n.set(c.client, (n.get(c.client) ?? 0) + 1);
      return n.size < clients ? 0 : Math.min(...n.values());
    };
    while (fewest() < 5 && now() < warm) await sleep(20);
    await sleep(200);
    expect(calls.filter((c) => !c.ok)).toEqual([]);

    const signalAt = now();
    child.child.kill("SIGTERM");
    const refusal = firstRefusal(ports.api, signalAt + timeoutMs);
    const exit = await child.exited;
    const exitMs = now() - signalAt;
    const refused = await refusal;
    stop.stopped = true;
    await Promise.all(loops);
    await Promise.all(watches.map((w) => w.done));

    const before = calls.filter((c) => c.start < signalAt);
    const inFlightAtSignal = before.filter((c) => c.end > signalAt);
    const after = calls.filter((c) => c.start >= signalAt);
    const summary = {
      exit,
      exitMs: Math.round(exitMs),
      calls: calls.length,
      inFlightAtSignal: inFlightAtSignal.length,
      after: after.length,
      afterOk: after.filter((c) => c.ok).length,
      refusedAfterMs: Math.round(refused.at - signalAt),
    };
    console.log("shutdown under load:", JSON.stringify(summary));
    const failed = calls.filter((c) => !c.ok).map((c) => ({ ...c, start: Math.round(c.start - signalAt), end: Math.round(c.end - signalAt) }));
    if (failed.length > 0) console.log("failed calls (ms from the signal):", JSON.stringify(failed));

    // The process exits 0, well within the budget.
    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitMs).toBeLessThan(timeoutMs / 2);
    expect(child.lines.some((l) => l.includes("shutdown complete"))).toBe(true);
    expect(child.lines.some((l) => l.includes("shutdown timeout"))).toBe(false);

    // The load was real: every client had calls done, and calls in flight at the signal.
    expect(new Set(before.map((c) => c.client)).size).toBe(clients);
    expect(before.length).toBeGreaterThanOrEqual(5 * clients);
    expect(inFlightAtSignal.length).toBeGreaterThan(0);
    // Nothing that began before the signal failed.
    expect(before.filter((c) => !c.ok)).toEqual([]);
    // What began after it either completed or was refused cleanly: Unavailable (ECONNREFUSED), or
    // an HTTP/2 stream refused by GOAWAY (REFUSED_STREAM: never processed, safe to retry; connect-node
    // reports it as Internal) — never a reset connection (Aborted), never Unknown.
    const clean = (c: Call) => c.ok || c.code === Code.Unavailable || /REFUSED_STREAM/.test(c.message ?? "");
    expect(after.filter((c) => !clean(c))).toEqual([]);

    // Every Watch heard NOT_SERVING, then ended with Unavailable.
    for (const w of watches) {
      expect(w.state, w.state.client).toMatchObject({ statuses: [Status.SERVING, Status.NOT_SERVING], code: Code.Unavailable });
    }

    // New connections were refused soon after the signal.
    expect(refused.at - signalAt).toBeLessThan(1_000);

    // The idle connections were closed by the server, not waited for.
    expect(idle.h1.closedAt).toBeDefined();
    expect(idle.h2.goawayAt ?? idle.h2.closedAt).toBeDefined();
    expect(idle.raw.closedAt).toBeDefined();
  });

  it("ends a stream that would outlive the timeout with Unavailable and still exits 0 within the timeout", async () => {
    const timeoutMs = 3_000;
    child = await spawnServer({ env: { SHUTDOWN_TIMEOUT_MS: String(timeoutMs) } });
    const { url, ports } = child;

    // A bidi stream that never ends by itself (its client keeps the send side open) over gRPC h2c
    // and over Connect on HTTP/2, plus a Watch (which ends at shutdown start, not at the timeout).
    const reflGrpc = openReflectionStream(createGrpcTransport({ baseUrl: url }));
    const reflConnect = openReflectionStream(createConnectTransport({ baseUrl: url, httpVersion: "2" }));
    cleanups.push(reflGrpc.release, reflConnect.release);
    const w = watch("watch grpc h2c", createClient(Health, createGrpcTransport({ baseUrl: url })));
    await Promise.all([reflGrpc.first, reflConnect.first, w.serving]);
    expect(reflGrpc.state.responses).toBe(1);
    expect(reflConnect.state.responses).toBe(1);
    const idle = await openIdleConnections(url, ports.api);
    cleanups.push(() => idle.close());

    const signalAt = now();
    child.child.kill("SIGTERM");
    // While the stream holds the process, new connections are refused.
    const refused = await firstRefusal(ports.api, signalAt + timeoutMs);
    expect(child.child.exitCode).toBeNull();
    const exit = await child.exited;
    const exitMs = now() - signalAt;
    await Promise.all([reflGrpc.done, reflConnect.done, w.done]);
    console.log(
      "shutdown with a stream past the timeout:",
      JSON.stringify({ exit, exitMs: Math.round(exitMs), refusedAfterMs: Math.round(refused.at - signalAt), watchEndedMs: Math.round(w.state.endedAt! - signalAt), streamEndedMs: Math.round(reflGrpc.state.endedAt! - signalAt) }),
    );

    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitMs).toBeLessThan(timeoutMs);
    // It really waited for the stream: the end came at the timeout, not at once.
    expect(exitMs).toBeGreaterThan(timeoutMs / 2);
    expect(child.lines.some((l) => l.includes("shutdown timeout"))).toBe(true);

    // The Watch ended at shutdown start; the bidi streams at the deadline, with Unavailable (not a
    // reset), while idle connections were closed at once and new ones refused.
    expect(w.state).toMatchObject({ statuses: [Status.SERVING, Status.NOT_SERVING], code: Code.Unavailable });
    expect(w.state.endedAt! - signalAt).toBeLessThan(timeoutMs / 3);
    for (const s of [reflGrpc.state, reflConnect.state]) {
      expect(s).toMatchObject({ responses: 1, code: Code.Unavailable, message: "server shutting down" });
      expect(s.endedAt! - signalAt).toBeGreaterThan(timeoutMs / 2);
    }
    expect(refused.at - signalAt).toBeLessThan(timeoutMs / 3);
    expect(idle.h1.closedAt! - signalAt).toBeLessThan(timeoutMs / 3);
    expect(idle.h2.closedAt! - signalAt).toBeLessThan(timeoutMs / 3);
    expect(idle.raw.closedAt! - signalAt).toBeLessThan(timeoutMs / 3);
  });
});

/** A raw HTTP/1.1 connection: write requests byte for byte, read responses (Content-Length bodies). */
class RawConnection {
  private buf = "";
  private waiters: (() => void)[] = [];
  closed = false;
  private constructor(readonly socket: net.Socket) {
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      this.buf += d;
      this.waiters.splice(0).forEach((w) => w());
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      this.waiters.splice(0).forEach((w) => w());
    });
  }

  static async open(port: number): Promise<RawConnection> {
    const socket = net.connect(port, "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    return new RawConnection(socket);
  }

  write(text: string): void {
    this.socket.write(text);
  }

  async response(): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    for (;;) {
      const end = this.buf.indexOf("\r\n\r\n");
      if (end >= 0) {
        const [statusLine, ...lines] = this.buf.slice(0, end).split("\r\n");
        const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
        const length = Number(headers["content-length"] ?? 0);
        if (this.buf.length >= end + 4 + length) {
          const body = this.buf.slice(end + 4, end + 4 + length);
          this.buf = this.buf.slice(end + 4 + length);
          return { status: Number(statusLine!.split(" ")[1]), headers, body };
        }
      }
      if (this.closed) throw new Error(`connection closed before a complete response: ${JSON.stringify(this.buf)}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  async closedByServer(): Promise<void> {
    while (!this.closed) await new Promise<void>((r) => this.waiters.push(r));
  }
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`;
const checkHead = (length: number) =>
  `POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

describe("readiness and in-flight work during shutdown (in-process)", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it("turns GET /ready 503 the moment shutdown starts, answers requests already sent, and finishes in-flight work", async () => {
    server = await startTestServer({ env: { SHUTDOWN_TIMEOUT_MS: "5000" } });
    const port = server.ports.api;
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);

    // In flight: a Check whose body has not fully arrived yet.
    const slow = await RawConnection.open(port);
    slow.write(checkHead(2) + "{");
    // Two idle keep-alive connections that have served a request.
    const probe = await RawConnection.open(port);
    const late = await RawConnection.open(port);
    for (const c of [probe, late]) {
      c.write(get("/health"));
      expect((await c.response()).status).toBe(200);
    }
    await sleep(50);

    // Requests written in the same instant shutdown starts: on the wire, not yet read by the server.
    probe.write(get("/ready"));
    late.write(checkHead(2) + "{}");
    const started = now();
    const stopping = server.shutdown("test");
    let stopped = false;
    void stopping.then(() => (stopped = true));

    const ready = await probe.response();
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toEqual({ status: "unavailable", problems: ["shutting down"] });
    expect(ready.headers.connection).toBe("close");
    const check = await late.response();
    expect(check.status).toBe(200);
    expect(JSON.parse(check.body)).toEqual({ status: "NOT_SERVING" });
    expect(check.headers.connection).toBe("close");
    await Promise.all([probe.closedByServer(), late.closedByServer()]);

    // New connections are refused while the in-flight request keeps the server up.
    const refused = await new Promise<string | undefined>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(undefined);
      });
      s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code));
    });
    expect(refused).toBe("ECONNREFUSED");
    await sleep(300);
    expect(stopped).toBe(false);

    // The in-flight request completes normally, and then shutdown completes.
    slow.write("}");
    const done = await slow.response();
    expect(done.status).toBe(200);
    expect(JSON.parse(done.body)).toEqual({ status: "NOT_SERVING" });
    expect(done.headers.connection).toBe("close");
    await stopping;
    expect(now() - started).toBeLessThan(2_500);
    expect(server.logs.some((l) => l.msg === "shutdown timeout: ending remaining streams with Unavailable")).toBe(false);
    expect(server.logs.some((l) => l.msg === "shutdown complete")).toBe(true);
  });
});

/**
 * Issue 14.1: `npm start` drains exactly as `node dist/src/main.js` does. A terminal's Ctrl-C
 * sends SIGINT to every process of the foreground group (npm, its shell, the server), and npm
 * forwards it once more; `kill <npm pid>` sends SIGTERM to npm alone, which forwards it to its
 * child. Either way the statements in flight (a pg_sleep in PostgreSQL, a long one on SQLite)
 * complete, the log says `shutdown complete`, npm exits 0 and no process of the group is left.
 */
describe("npm start drains like the built server (issue 14.1)", () => {
  // A single SQLite statement of a few seconds (the engine runs SQLite on the main thread).
  const ROWS = 15_000_000;
  const LONG = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT ${ROWS}) SELECT count(*) AS n FROM c`;
  let child: ChildServer | undefined;
  let pg: ServerInfo;
  beforeAll(async () => {
    pg = await (await startPostgres()).createDatabase("npm_start");
  }, 120_000);
  afterEach(async () => {
    await child?.stop();
    child = undefined;
  });

  const groupAlive = (pgid: number) => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it.each([
    ["SIGINT to the process group (Ctrl-C)", "group"],
    ["SIGTERM to npm (kill <npm pid>)", "npm"],
  ] as const)("%s: the statements in flight complete, shutdown complete, exit 0, nothing left running", async (_name, target) => {
    const dir = mkdtempSync(join(tmpdir(), "sqlstudio-npm-start-"));
    child = await spawnServer({
      dir,
      command: { file: "npm", args: ["start", "--silent"] },
      detached: true,
      // Generous: the drain waits for the statement, however slow the machine.
      env: authEnv({ SHUTDOWN_TIMEOUT_MS: "40000", JWT_SECRET_FILE: join(dir, "jwt.secret") }),
      startTimeoutMs: 60_000,
    });
    const npm = child.child;
    const u = await limitUser(child, "npmstart");
    const sqliteId = (await u.connections.createConnection({ spec: sqliteSpec("long.db") })).connection!.id;
    const pgId = (await u.connections.createConnection({ spec: specFor(pg) })).connection!.id;

    let signalledAt = Infinity;
    /** Runs a statement to its end; resolves `started` once the server sent the query id. */
    const inFlight = (connectionId: string, sql: string) => {
      let started!: () => void;
      const isStarted = new Promise<void>((r) => (started = r));
      const done = (async () => {
        let n: unknown;
        try {
          for await (const m of u.queries.executeQuery({ connectionId, sql })) {
            if (m.event.case === "started") started();
            if (m.event.case === "rows") n = m.event.value.rows[0]?.values[0]?.kind.value;
          }
          return { ok: true, n, endedAfterSignal: performance.now() > signalledAt };
        } catch (e) {
          started();
          return { ok: false, ...describeError(e) };
        }
      })();
      return { isStarted, done };
    };
    // A pg_sleep in PostgreSQL, and a statement of a few seconds on SQLite (the engine runs SQLite
    // on the main thread: the signal arrives while it blocks).
    const sleeping = inFlight(pgId, "select 'slept' as s from pg_sleep(3)");
    await sleeping.isStarted;
    const counting = inFlight(sqliteId, LONG);
    await counting.isStarted;
    await sleep(300);
    signalledAt = performance.now();
    if (target === "group") process.kill(-npm.pid!, "SIGINT");
    else npm.kill("SIGTERM");

    const exit = await Promise.race([child.exited, sleep(60_000).then(() => "stuck" as const)]);
    const log = child.lines.join("\n");
    expect(await counting.done, log.slice(-3000)).toEqual({ ok: true, n: BigInt(ROWS), endedAfterSignal: true });
    expect(await sleeping.done, log.slice(-3000)).toEqual({ ok: true, n: "slept", endedAfterSignal: true });
    expect(exit).toEqual({ code: 0, signal: null });
    expect(child.lines.some((l) => l.includes('"shutdown complete"')), log.slice(-3000)).toBe(true);
    // Ctrl-C reaches the server twice (from the terminal's group, and forwarded by npm): the second is logged and ignored.
    if (target === "group") expect(log).toMatch(/"signal":"SIGINT".*signal ignored until it completes/);
    // Neither the server nor anything of npm's outlives it (a server left running still answers /ready).
    let gone = false;
    for (let i = 0; i < 40 && !gone; i++) {
      gone = !groupAlive(npm.pid!);
      if (!gone) await sleep(50);
    }
    expect(gone, "a process of npm start's group is still running").toBe(true);
    await child.stop();
    child = undefined;
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);
});
