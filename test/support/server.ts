import { spawn, type ChildProcess } from "node:child_process";
import { LOAD_RATE_LIMITS } from "./rate-limits.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { loadConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";
import { createLogger, type Logger } from "../../src/observability/logger.js";
import { buildFeatures, type Features } from "../../src/features.js";
import { startServer, type RunningServer, type StartOptions } from "../../src/server/lifecycle.js";

export const ROOT = new URL("../../", import.meta.url).pathname;
/** tsx's loader by URL, so a child started in a temporary folder still finds it. */
export const TSX_LOADER = new URL("node_modules/tsx/dist/loader.mjs", `file://${ROOT}`).href;

/** Environment for a test server: ephemeral ports, a fresh database file, quiet JSON logs. */
export function testEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ENVIRONMENT: "development",
    HOST: "127.0.0.1",
    PORT: "0",
    WS_PORT: "0",
    METRICS_PORT: "0",
    DATABASE_URL: `file:${join(dir, "app.db")}`,
    LOG_LEVEL: "info",
    LOG_PRETTY: "false",
    CONFIG_FILE: join(dir, "none.yaml"),
    ENGINE_SECRET_KEY_FILE: join(dir, "engine.key"),
    ENGINE_SQLITE_DIR: join(dir, "sqlite"),
    // CI runs the contract tests with the unary fast path on and off (vitest.config.ts, project "contract-slow-path").
    ...(process.env.RPC_FAST_PATH !== undefined ? { RPC_FAST_PATH: process.env.RPC_FAST_PATH } : {}),
    // Tests drive one user and one address far harder than a person does (hundreds of schema calls
    // a second): out of the way of every test but those of the limiter, which set their own.
    ...LOAD_RATE_LIMITS,
    ...extra,
  };
}

export interface TestServer extends RunningServer<Features> {
  config: Config;
  /** http://127.0.0.1:<api port> */
  url: string;
  /** Every log line the server wrote, parsed. */
  logs: Record<string, unknown>[];
  dir: string;
  stop(): Promise<void>;
}

export type TestServerOptions = Omit<StartOptions, "logger" | "features"> & {
  env?: Record<string, string>;
  /** Runs after the server stopped (e.g. closing a stand-in it used). */
  afterStop?: () => Promise<void>;
};

/** Starts the real server in this process on ephemeral ports with its own database file. */
export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), "sqlstudio-test-"));
  const env = testEnv(dir, opts.env);
  // CONFIG_FILE pointing at a missing file is an error by design; tests use no YAML.
  delete (env as Record<string, string | undefined>).CONFIG_FILE;
  const config = loadConfig(env, join(dir, "none.yaml"));
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split("\n")) if (line.trim()) logs.push(JSON.parse(line));
      cb();
    },
  });
  const logger: Logger = createLogger({ level: config.log.level, pretty: false }, sink);
  const { env: _env, afterStop, ...start } = opts;
  const server = await startServer(config, { ...start, logger, features: buildFeatures });
  return {
    ...server,
    config,
    url: `http://127.0.0.1:${server.ports.api}`,
    logs,
    dir,
    async stop() {
      await server.shutdown("test");
      await afterStop?.();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Instances {
  /** The folder of their shared database file (`app.db`). */
  dir: string;
  servers: ChildServer[];
  /** Stops every instance, then deletes the folder. */
  stop(): Promise<void>;
}

/**
 * `count` instances (`src/main.ts` as children) on one database file in a new folder, as behind a load
 * balancer. Started one after the other: the first migrates the file, the others find it current.
 */
export async function spawnInstances(count: number, env: Record<string, string>, prefix = "sqlstudio-instances-"): Promise<Instances> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const servers: ChildServer[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < count; i++) servers.push(await spawnServer({ dir, env }));
  } catch (err) {
    await stop();
    throw err;
  }
  return { dir, servers, stop };
}

export interface ChildServer {
  child: ChildProcess;
  ports: { api: number; ws: number; metrics: number };
  url: string;
  dir: string;
  /** Every stdout line (JSON logs) so far. */
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/** Child servers still running: none outlives the test process. */
const children = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of children) kill(c, "SIGKILL");
});

/** Signals a child, or (started `detached`) its whole process group, which it leads. */
function kill(c: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (groupLeaders.has(c)) process.kill(-c.pid!, signal);
    else c.kill(signal);
  } catch {
    /* already gone */
  }
}
const groupLeaders = new WeakSet<ChildProcess>();

/** Starts `src/main.ts` as a child process (for signals, crashes, several instances on one database). */
export async function spawnServer(
  opts: {
    env?: Record<string, string>;
    dir?: string;
    /** node's arguments (default: src/main.ts through tsx) */
    args?: string[];
    startTimeoutMs?: number;
    /** Another command than node (e.g. `npm start`), run in the repository. */
    command?: { file: string; args: string[] };
    /** In a process group of its own (as a terminal runs a command): the group is killed if the test leaves it behind. */
    detached?: boolean;
    /** An IPC channel to the child (`child.send`, `child.on("message")`), for a preloaded module that reports from inside it. */
    ipc?: boolean;
  } = {},
): Promise<ChildServer> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "sqlstudio-child-"));
  const env = { ...process.env, ...testEnv(dir, opts.env) } as Record<string, string>;
  delete env.CONFIG_FILE;
  const stdio: ("ignore" | "pipe" | "ipc")[] = ["ignore", "pipe", "pipe", ...(opts.ipc ? (["ipc"] as const) : [])];
  const child = opts.command
    ? spawn(opts.command.file, opts.command.args, { cwd: ROOT, env, stdio, detached: opts.detached })
    : spawn(process.execPath, opts.args ?? ["--import", TSX_LOADER, join(ROOT, "src/main.ts")], { cwd: dir, env, stdio, detached: opts.detached });
  if (opts.detached) groupLeaders.add(child);
  // Killed with the test process too, whatever ends it (a timed-out hook, a crash).
  children.add(child);
  // (A group outlives its leader: it stays listed until the test process ends.)
  child.once("exit", () => {
    if (!opts.detached) children.delete(child);
  });
  const lines: string[] = [];
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const ports = await new Promise<ChildServer["ports"]>((resolve, reject) => {
    let buf = "";
    const startMs = opts.startTimeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      // Not left behind: an orphaned server would hold its ports and load the machine.
      kill(child, "SIGKILL");
      reject(new Error(`server did not start in ${startMs / 1000} s\n${stderr}`));
    }, startMs);
    child.stdout!.on("data", (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        try {
          const j = JSON.parse(line);
          if (j.api && j.ws && j.metrics) {
            clearTimeout(timer);
            const port = (u: string) => Number(new URL(u.replace(/^ws/, "http")).port);
            resolve({ api: port(j.api), ws: port(j.ws), metrics: port(j.metrics) });
          }
        } catch {
          /* not JSON */
        }
      }
    });
    exited.then(({ code }) => reject(new Error(`server exited with ${code} before it was ready\n${stderr}`)));
  });
  return {
    child,
    ports,
    url: `http://127.0.0.1:${ports.api}`,
    dir,
    lines,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      // A server that does not end (a test that failed half-way, a stuck shutdown) is killed: it
      // must not outlive the test and load the machine.
      const hard = setTimeout(() => kill(child, "SIGKILL"), 20_000);
      await exited;
      clearTimeout(hard);
      // What the child leaves behind in its group (a grandchild it did not end) goes too.
      if (opts.detached) kill(child, "SIGKILL");
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
