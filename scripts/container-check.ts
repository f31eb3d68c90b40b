/**
 * The image, built and run here (issue 15 §1): makes the Dockerfile's base image locally (no image
 * registry is reachable: debootstrap + the host's Node + `podman import`), builds the Dockerfile
 * unchanged with `podman build --pull=never --format docker`, and checks the container:
 *
 *   user        runs as a non-root user that cannot write /app (only /app/data)
 *   serve       with production settings: /health, /ready, a Connect JSON call, a gRPC call
 *               (buf curl), a WebSocket subscription, on the container's published ports
 *   missing     without its production settings: exits non-zero within 5 s, naming each one
 *   sigterm     `podman stop` (SIGTERM) during an ExecuteQuery stream: the stream completes,
 *               the log says "shutdown complete", exit code 0
 *   figures     the size the image adds over its base, start-to-ready time
 *
 *   npx tsx scripts/container-check.ts build          base image (cached) + the image
 *   npx tsx scripts/container-check.ts [check]        build, then every check; prints the figures
 *   npx tsx scripts/container-check.ts check --record also writes them to docs/benchmarks.md
 *
 * Needs root, podman, runc, debootstrap (Debian: apt-get install podman runc debootstrap uidmap;
 * .ci/run installs them). The root file system debootstrap makes is kept in CONTAINER_CACHE_DIR
 * (default /var/tmp/sqlstudio-container), and the base image in podman's storage, between runs.
 * test/deploy/container.test.ts runs the same checks in `npm test`.
 */
import { execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthService } from "../gen/sqlstudio/auth/v1/auth_pb.js";
import { ConnectionService, Engine } from "../gen/sqlstudio/database/v1/connection_pb.js";
import { QueryService } from "../gen/sqlstudio/database/v1/query_pb.js";
import { ConfigError, loadConfig } from "../src/config/load.js";
import { startResendStandIn, tokenFromEmail, type ResendStandIn } from "../test/support/resend.js";
import { newQuery, push, StreamClient } from "../test/support/realtime.js";

const run = promisify(execFile);
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const CACHE = process.env.CONTAINER_CACHE_DIR || "/var/tmp/sqlstudio-container";
const BUF = join(ROOT, "node_modules/.bin/buf");
const PUBLIC_URL = "https://studio.example.test";
/** The image of this checkout (one tag per working tree, so two checkouts never share one). */
export const IMAGE = `localhost/sqlstudio-server:check-${createHash("sha256").update(ROOT).digest("hex").slice(0, 10)}`;

export type Log = (line: string) => void;

class CheckFailed extends Error {}
function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new CheckFailed(message);
}

// ── podman ──────────────────────────────────────────────────────────────────

/** podman's settings for this machine: runc, and ulimits the sandbox allows (its defaults are refused). */
function containersConf(): string {
  mkdirSync(CACHE, { recursive: true });
  const file = join(CACHE, "containers.conf");
  writeFileSync(file, '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n\n[engine]\nruntime = "runc"\n');
  return file;
}

const podmanEnv = () => ({ ...process.env, CONTAINERS_CONF: containersConf() });

async function podman(args: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<string> {
  const { stdout } = await run("podman", args, { env: podmanEnv(), timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** Runs a command, its output to `logFile`; rejects with the output's tail when it fails. */
function runLogged(cmd: string, args: string[], logFile: string, opts: { input?: NodeJS.ReadableStream; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const child = spawn(cmd, args, { env: opts.env ?? podmanEnv(), cwd: opts.cwd, stdio: [opts.input ? "pipe" : "ignore", "pipe", "pipe"] });
    if (opts.input) opts.input.pipe(child.stdin!);
    child.stdout!.on("data", (d: Buffer) => out.push(d));
    child.stderr!.on("data", (d: Buffer) => out.push(d));
    child.once("error", reject);
    child.once("close", (code) => {
      const text = Buffer.concat(out).toString("utf8");
      writeFileSync(logFile, text);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.slice(0, 3).join(" ")} … failed (${code}); log: ${logFile}\n${text.split("\n").slice(-25).join("\n")}`));
    });
  });
}

const which = async (cmd: string) => run("sh", ["-c", `command -v ${cmd}`]).then(() => true, () => false);

/** Why the image cannot be built and run here, or undefined when it can. */
export async function containerToolsUnavailable(): Promise<string | undefined> {
  const missing = [];
  for (const cmd of ["podman", "runc", "debootstrap"]) if (!(await which(cmd))) missing.push(cmd);
  if (missing.length) return `${missing.join(", ")} not installed (Debian: apt-get install podman runc debootstrap uidmap; .ci/run installs them)`;
  if (process.getuid?.() !== 0) return "not root: debootstrap and the podman setup used here need root (CI runs as root)";
  if (!existsSync(BUF)) return `${BUF} missing (npm ci)`;
  return undefined;
}

// ── the base image ──────────────────────────────────────────────────────────

/** The Dockerfile's base image, e.g. docker.io/library/node:20-bookworm-slim. */
export function baseImage(): { ref: string; major: number; suite: string } {
  const m = /^ARG NODE_IMAGE=(\S+)/m.exec(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
  if (!m) throw new Error("Dockerfile: no ARG NODE_IMAGE=…");
  const [name, tag] = m[1].split(":");
  const major = Number(/^(\d+)/.exec(tag)?.[1]);
  const suite = /-(bookworm|bullseye|trixie)/.exec(tag)?.[1] ?? "bookworm";
  return { ref: `docker.io/library/${name}:${tag}`, major, suite };
}

/** The Debian mirror this machine's apt uses (deb822 or one-line sources), or undefined for debootstrap's default. */
function aptMirror(suite: string): string | undefined {
  for (const file of ["/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"]) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, "utf8");
    for (const block of text.split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(block)?.[1];
      const suites = /^Suites:\s*(.+)$/m.exec(block)?.[1]?.split(/\s+/) ?? [];
      if (uri && suites.includes(suite)) return uri;
    }
    const line = new RegExp(`^deb\\s+(?:\\[[^\\]]*\\]\\s+)?(\\S+)\\s+${suite}\\s`, "m").exec(text);
    if (line) return line[1];
  }
  return undefined;
}

/** A lock between runs on one machine (two checkouts building the base at once). */
async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const dir = join(CACHE, `${name}.lock`);
  mkdirSync(CACHE, { recursive: true });
  for (let waited = 0; ; waited += 500) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, "pid"), String(process.pid));
      break;
    } catch {
      const pid = Number(existsSync(join(dir, "pid")) ? readFileSync(join(dir, "pid"), "utf8") : 0);
      let alive = false;
      try {
        if (pid) process.kill(pid, 0), (alive = true);
      } catch {
        alive = false;
      }
      if (!alive && waited > 2_000) rmSync(dir, { recursive: true, force: true });
      if (waited > 60 * 60_000) throw new Error(`lock ${dir} held for an hour`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Makes the base image when podman does not have it: `debootstrap --variant=minbase` (its root file
 * system cached), the host's node and npm in /usr/local as the official image has them, the CA
 * bundle with NODE_EXTRA_CA_CERTS, a `node` user of uid 1000; then `podman import`. An image
 * already stored under that name (made earlier, or a real one) is used as it is.
 */
export async function ensureBaseImage(log: Log): Promise<{ ref: string; made: boolean; ms: number }> {
  const base = baseImage();
  const t0 = performance.now();
  if (Number(process.versions.node.split(".")[0]) !== base.major) {
    throw new Error(`the Dockerfile's base is Node ${base.major}; this host runs ${process.version}, which the base image would carry`);
  }
  return withLock("base", async () => {
    if (await podman(["image", "exists", base.ref]).then(() => true, () => false)) return { ref: base.ref, made: false, ms: performance.now() - t0 };
    const rootfs = join(CACHE, `${base.suite}-minbase`);
    if (!existsSync(join(rootfs, ".complete"))) {
      const partial = `${rootfs}.partial`;
      rmSync(partial, { recursive: true, force: true });
      const mirror = aptMirror(base.suite);
      log(`debootstrap --variant=minbase ${base.suite} (a few minutes; cached in ${rootfs})`);
      await runLogged("debootstrap", ["--variant=minbase", base.suite, partial, ...(mirror ? [mirror] : [])], join(CACHE, "debootstrap.log"), { env: process.env });
      writeFileSync(join(partial, ".complete"), new Date().toISOString());
      rmSync(rootfs, { recursive: true, force: true });
      renameSync(partial, rootfs);
    }
    const stage = join(CACHE, "stage");
    rmSync(stage, { recursive: true, force: true });
    await run("cp", ["-a", rootfs, stage]);
    rmSync(join(stage, ".complete"), { force: true });
    const sh = async (script: string) => run("sh", ["-euc", script], { env: { ...process.env, S: stage }, maxBuffer: 16 * 1024 * 1024 });
    const npmDir = join((await run("npm", ["root", "-g"])).stdout.trim(), "npm");
    check(existsSync(join(npmDir, "bin/npm-cli.js")), `npm not found at ${npmDir}`);
    check(existsSync("/etc/ssl/certs/ca-certificates.crt"), "the host has no /etc/ssl/certs/ca-certificates.crt");
    await sh(`rm -rf "$S"/var/cache/apt/archives/*.deb "$S"/var/lib/apt/lists/*
install -D -m 0755 "${process.execPath}" "$S/usr/local/bin/node"
mkdir -p "$S/usr/local/lib/node_modules" && cp -a "${npmDir}" "$S/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$S/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$S/usr/local/bin/npx"
mkdir -p "$S/etc/ssl/certs" && cp /etc/ssl/certs/ca-certificates.crt "$S/etc/ssl/certs/ca-certificates.crt"
chroot "$S" groupadd --gid 1000 node
chroot "$S" useradd --uid 1000 --gid node --shell /bin/bash --create-home node`);
    log(`podman import → ${base.ref}`);
    const tar = spawn("tar", ["-C", stage, "-c", "."], { stdio: ["ignore", "pipe", "inherit"] });
    await runLogged(
      "podman",
      [
        "import",
        "--change",
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--change",
        "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt",
        "--change",
        `ENV NODE_VERSION=${process.versions.node}`,
        "--change",
        `LABEL org.sqlstudio.base=debootstrap-${base.suite}-node-${process.versions.node}`,
        "--change",
        'CMD ["node"]',
        "-",
        base.ref,
      ],
      join(CACHE, "import.log"),
      { input: tar.stdout! },
    );
    rmSync(stage, { recursive: true, force: true });
    return { ref: base.ref, made: true, ms: performance.now() - t0 };
  });
}

/** Builds the Dockerfile as it is: `podman build --pull=never --format docker`. */
export async function buildImage(log: Log): Promise<{ ms: number }> {
  const t0 = performance.now();
  log(`podman build --pull=never --format docker -t ${IMAGE} .`);
  await withLock(`build-${IMAGE.split(":")[1]}`, () => runLogged("podman", ["build", "--pull=never", "--format", "docker", "-t", IMAGE, ROOT], join(CACHE, `build-${IMAGE.split(":")[1]}.log`)));
  return { ms: performance.now() - t0 };
}

export async function imageSizes(): Promise<{ baseMB: number; imageMB: number; addedMB: number }> {
  const size = async (ref: string) => Number((await podman(["image", "inspect", "--format", "{{.Size}}", ref])).trim()) / 1e6;
  const baseMB = await size(baseImage().ref);
  const imageMB = await size(IMAGE);
  return { baseMB, imageMB, addedMB: imageMB - baseMB };
}

// ── checks ──────────────────────────────────────────────────────────────────

const containerName = (what: string) => `sqlstudio-check-${what}-${randomBytes(3).toString("hex")}`;

export async function removeContainer(name: string): Promise<void> {
  await podman(["rm", "--force", "--time", "0", name]).catch(() => undefined);
}

/** Runs as a non-root user; /app is not writable by it, except /app/data (a file: database). */
export async function checkUser(): Promise<{ uid: number; user: string }> {
  const out = await podman([
    "run",
    "--rm",
    "--network",
    "none",
    "--no-healthcheck",
    IMAGE,
    "sh",
    "-c",
    'id -u; id -un; find /app -path /app/data -prune -o -writable -print | head -n 5; echo ---; touch /app/probe 2>/dev/null && echo app-writable; touch /app/data/probe && echo data-writable',
  ]);
  const [uid, user, ...rest] = out.trim().split("\n");
  const sep = rest.indexOf("---");
  const writable = rest.slice(0, sep);
  const after = rest.slice(sep + 1);
  check(Number(uid) !== 0, `the image runs as root (uid ${uid})`);
  check(writable.length === 0, `the image's user can write ${writable.join(", ")}`);
  check(!after.includes("app-writable"), "the image's user can create files in /app");
  check(after.includes("data-writable"), "the image's user cannot write /app/data (a file: database would fail)");
  return { uid: Number(uid), user };
}

/** The variables production names when nothing is set (from src/config, the same code the image runs). */
export function requiredInProduction(): string[] {
  try {
    loadConfig({ ENVIRONMENT: "production" }, "/nonexistent/config.yaml");
  } catch (e) {
    if (e instanceof ConfigError) return [...new Set(e.problems.map((p) => p.split(":")[0]))];
    throw e;
  }
  throw new Error("production started with nothing set");
}

/** Started without its production settings: a non-zero exit within 5 s, every missing variable named. */
export async function checkMissingSettings(): Promise<{ exitCode: number; ms: number; named: string[] }> {
  const name = containerName("missing");
  try {
    await podman(["create", "--name", name, "--network", "none", "--no-healthcheck", "-e", "ENVIRONMENT=production", IMAGE]);
    const t0 = performance.now();
    await podman(["start", "--attach", name]).catch(() => undefined);
    const ms = performance.now() - t0;
    const exitCode = Number((await podman(["inspect", "--format", "{{.State.ExitCode}}", name])).trim());
    const { stdout, stderr } = await run("podman", ["logs", name], { env: podmanEnv() });
    const log = stdout + stderr;
    const expected = [...new Set(["JWT_SECRET", "ENGINE_SECRET_KEY", "DATABASE_URL", ...requiredInProduction()])];
    const unnamed = expected.filter((v) => !log.includes(v));
    check(exitCode !== 0, `exited 0 without its settings; log:\n${log}`);
    check(ms < 5_000, `took ${Math.round(ms)} ms to exit (limit 5 s)`);
    check(unnamed.length === 0, `the log does not name ${unnamed.join(", ")}:\n${log}`);
    return { exitCode, ms, named: expected };
  } finally {
    await removeContainer(name);
  }
}

export interface Running {
  name: string;
  api: string;
  ws: string;
  metrics: string;
  /** podman start → first /ready 200. */
  readyMs: number;
  /** The container's start (podman's StartedAt) → the server's "ready" log line: Node's own part. */
  appReadyMs: number;
  resend: ResendStandIn;
  logs(): Promise<string>;
  remove(): Promise<void>;
}

/** Production settings (a file: database allowed explicitly), the ports published on loopback. */
export async function startProduction(): Promise<Running> {
  const name = containerName("prod");
  // The container reaches the host through podman's bridge (host.containers.internal).
  const resend = await startResendStandIn("re_container_check", { host: "0.0.0.0" });
  const resendPort = new URL(resend.url).port;
  const env = {
    ENVIRONMENT: "production",
    JWT_SECRET: randomBytes(48).toString("base64"),
    ENGINE_SECRET_KEY: randomBytes(32).toString("base64"),
    DATABASE_URL: "file:/app/data/app.db",
    ALLOW_FILE_DATABASE_IN_PRODUCTION: "true",
    PUBLIC_URL,
    CORS_ORIGINS: PUBLIC_URL,
    RESEND_API_KEY: resend.apiKey,
    RESEND_BASE_URL: `http://host.containers.internal:${resendPort}`,
    ENGINE_SQLITE_DIR: "/app/data/sqlite",
    SHUTDOWN_TIMEOUT_MS: "9000",
    // Published to this host's loopback only: the port inside must listen beyond the container's own.
    METRICS_HOST: "0.0.0.0",
  };
  const publish = ["8080", "8081", "9090"].flatMap((p) => ["--publish", `127.0.0.1::${p}`]);
  await podman(["create", "--name", name, "--no-healthcheck", ...publish, ...Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]), IMAGE]);
  const t0 = performance.now();
  await podman(["start", name]);
  const port = async (p: string) => (await podman(["port", name, `${p}/tcp`])).trim().split("\n")[0].split(":").pop()!;
  const [api, ws, metrics] = [await port("8080"), await port("8081"), await port("9090")];
  const logs = async () => {
    const { stdout, stderr } = await run("podman", ["logs", name], { env: podmanEnv(), maxBuffer: 64 * 1024 * 1024 });
    return stdout + stderr;
  };
  let readyMs = -1;
  for (;;) {
    const status = await fetch(`http://127.0.0.1:${api}/ready`).then((r) => r.status, () => 0);
    if (status === 200) {
      readyMs = performance.now() - t0;
      break;
    }
    if (performance.now() - t0 > 60_000) {
      const text = await logs();
      await removeContainer(name);
      await resend.close();
      throw new CheckFailed(`not ready within 60 s; log:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const startedAt = Date.parse((await podman(["inspect", "--format", "{{.State.StartedAt}}", name])).trim().replace(/ \+0000 UTC$/, "Z").replace(" ", "T"));
  const readyLine = (await logs()).split("\n").find((l) => l.includes("SQL Studio Server ready"));
  const appReadyMs = readyLine ? Date.parse((JSON.parse(readyLine) as { time: string }).time) - startedAt : -1;
  return {
    name,
    api: `http://127.0.0.1:${api}`,
    ws: `ws://127.0.0.1:${ws}/v1/stream`,
    metrics: `http://127.0.0.1:${metrics}/metrics`,
    readyMs,
    appReadyMs,
    resend,
    logs,
    async remove() {
      await removeContainer(name);
      await resend.close();
    },
  };
}

export interface Session {
  username: string;
  accessToken: string;
}

/** Register → verify (the link from the email) → login, with Connect JSON over the container's port. */
async function signUp(r: Running): Promise<Session> {
  const auth = createClient(AuthService, createConnectTransport({ baseUrl: r.api, httpVersion: "1.1" }));
  const tag = `box${randomBytes(4).toString("hex")}`;
  const password = `Quartz-${randomBytes(6).toString("hex")}-Lantern!`;
  await auth.register({ email: `${tag}@example.test`, username: tag, password, displayName: tag });
  const email = await r.resend.waitForEmail(`${tag}@example.test`, { subject: /verify/i, timeoutMs: 15_000 });
  await auth.verifyEmail({ token: tokenFromEmail(email, PUBLIC_URL, "verify-email") });
  const login = await auth.login({ identifier: tag, password, deviceName: "container-check" });
  return { username: tag, accessToken: login.accessToken };
}

/** /health, /ready, a Connect JSON call, a gRPC call (buf curl), a WebSocket subscription; metrics on its own port. */
export async function checkServing(r: Running): Promise<{ session: Session; calls: string[] }> {
  const calls: string[] = [];
  for (const path of ["/health", "/ready"]) {
    const res = await fetch(`${r.api}${path}`);
    check(res.status === 200, `GET ${path} answered ${res.status}`);
    calls.push(`GET ${path} ${res.status} ${(await res.text()).trim()}`);
  }
  const health = await fetch(`${r.api}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  const healthBody = await health.text();
  check(health.status === 200 && JSON.parse(healthBody).status === "SERVING", `Connect JSON Health/Check: ${health.status} ${healthBody}`);
  calls.push(`Connect JSON Health/Check ${healthBody}`);

  const session = await signUp(r);
  calls.push("Connect JSON Register → VerifyEmail (link from the email) → Login");
  const grpc = await run(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "-H", `authorization: Bearer ${session.accessToken}`, `${r.api}/sqlstudio.auth.v1.AuthService/GetCurrentUser`], {
    timeout: 30_000,
  });
  check(JSON.parse(grpc.stdout).user?.username === session.username, `gRPC GetCurrentUser (buf curl): ${grpc.stdout} ${grpc.stderr}`);
  const grpcHealth = await run(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", `${r.api}/grpc.health.v1.Health/Check`], { timeout: 30_000 });
  check(JSON.parse(grpcHealth.stdout).status === "SERVING", `gRPC Health/Check (buf curl): ${grpcHealth.stdout}`);
  calls.push("gRPC (buf curl, h2c, reflection) Health/Check and AuthService/GetCurrentUser");

  for (const url of [r.ws, `${r.api.replace(/^http/, "ws")}/v1/stream`]) {
    const socket = await StreamClient.connect(url, session.accessToken);
    try {
      const reply = await push({ url: r.api }, session.accessToken, "container-check", [newQuery("from the container check")]);
      const got = await socket.next("syncChanged", 5_000);
      check(String((got.event.event.value as { headSeq: bigint }).headSeq) === String(reply.headSeq), "the WebSocket event is not the push's");
    } finally {
      socket.close();
    }
    calls.push(`WebSocket ${new URL(url).port === new URL(r.ws).port ? "WS_PORT" : "API port"} /v1/stream: ready, then the push's sync_changed`);
  }
  const metrics = await fetch(r.metrics);
  check(metrics.status === 200 && (await metrics.text()).includes("process_cpu"), `GET /metrics on METRICS_PORT: ${metrics.status}`);
  check((await fetch(`${r.api}/metrics`)).status !== 200, "/metrics answers on the public port");
  calls.push("GET /metrics on METRICS_PORT (not on the API port)");
  return { session, calls };
}

/**
 * `podman stop` (SIGTERM; SIGKILL only after 30 s) while an ExecuteQuery stream is under way and
 * read slowly: every row arrives, the footer too, the log says "shutdown complete", exit code 0.
 */
export async function checkSigterm(r: Running, session: Session, opts: { rows?: number } = {}): Promise<{ rows: number; streamMs: number; exitCode: number; shutdownMs: number }> {
  const rows = opts.rows ?? 40_000;
  const transport = createConnectTransport({
    baseUrl: r.api,
    httpVersion: "2",
    interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${session.accessToken}`), next(req))],
  });
  const connections = createClient(ConnectionService, transport);
  const queries = createClient(QueryService, transport);
  const made = await connections.createConnection({ spec: { name: "container check", engine: Engine.SQLITE, host: "check.db" } });
  const sql = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${rows}) SELECT x, printf('%060d', x) AS pad FROM c`;
  let received = 0;
  let footerRows = -1n;
  let batches = 0;
  let stopped: Promise<unknown> | undefined;
  const t0 = performance.now();
  for await (const m of queries.executeQuery({ connectionId: made.connection!.id, sql, maxRows: BigInt(rows + 1) })) {
    if (m.event.case === "rows") {
      received += m.event.value.rows.length;
      batches++;
      // SIGTERM once the stream is well under way; then keep reading slowly, as a client would.
      if (batches === 3) stopped = podman(["stop", "--time", "30", r.name], { timeoutMs: 60_000 });
      await new Promise((res) => setTimeout(res, 25));
    } else if (m.event.case === "footer") footerRows = m.event.value.rowCount;
  }
  const streamMs = performance.now() - t0;
  check(stopped, "the stream ended before SIGTERM was sent");
  await stopped;
  const exitCode = Number((await podman(["inspect", "--format", "{{.State.ExitCode}}", r.name])).trim());
  const log = await r.logs();
  const done = log
    .split("\n")
    .filter((l) => l.includes("shutdown complete"))
    .map((l) => JSON.parse(l) as { ms: number })[0];
  check(received === rows && footerRows === BigInt(rows), `the stream was cut: ${received} rows, footer ${footerRows}, of ${rows}`);
  check(log.includes('"reason":"SIGTERM"'), "the log does not show the SIGTERM");
  check(done, `the log does not say "shutdown complete":\n${log.split("\n").slice(-10).join("\n")}`);
  check(exitCode === 0, `exit code ${exitCode}`);
  return { rows: received, streamMs, exitCode, shutdownMs: done.ms };
}

// ── figures ─────────────────────────────────────────────────────────────────

export interface Figures {
  baseMB: number;
  imageMB: number;
  addedMB: number;
  readyMs: number;
  appReadyMs: number;
  buildMs: number;
  baseMs: number;
  baseMade: boolean;
  missingExitMs: number;
  sigterm: { rows: number; streamMs: number; shutdownMs: number };
  totalMs: number;
  /** `podman --version` */
  podman: string;
}

export function figuresMarkdown(f: Figures): string {
  const load = (() => {
    try {
      return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 2).join(" / ");
    } catch {
      return "?";
    }
  })();
  return [
    `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${cpus().length} × ${cpus()[0]?.model.split(" ")[0] ?? "?"} CPU, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${f.podman} with runc; load average at the end ${load} (1 / 5 min): a shared machine.`,
    "",
    "| figure | value |",
    "|---|---:|",
    `| base image (debootstrap bookworm minbase + Node ${process.versions.node}, stand-in for node:20-bookworm-slim) | ${f.baseMB.toFixed(1)} MB |`,
    `| our image | ${f.imageMB.toFixed(1)} MB |`,
    `| **added over the base** (production node_modules, dist/, migrations, openapi.json) | **${f.addedMB.toFixed(1)} MB** |`,
    `| **start to ready** (\`podman start\` → first \`/ready\` 200, production settings, file: database migrated at start) | **${(f.readyMs / 1000).toFixed(2)} s** |`,
    `| of which the server's own start (container started → the server's "ready" log line) | ${(f.appReadyMs / 1000).toFixed(2)} s |`,
    `| exit without production settings (\`podman start --attach\` → exit 78) | ${(f.missingExitMs / 1000).toFixed(2)} s |`,
    `| SIGTERM during an ExecuteQuery stream of ${f.sigterm.rows} rows (read slowly): stream complete, shutdown took | ${(f.sigterm.shutdownMs / 1000).toFixed(2)} s |`,
    `| image build (\`podman build\`, ${f.baseMade ? "base image made in this run" : "base image cached"}) | ${(f.buildMs / 1000).toFixed(0)} s |`,
    f.baseMade ? `| base image (debootstrap + import) | ${(f.baseMs / 1000).toFixed(0)} s |` : null,
    `| the whole container check | ${(f.totalMs / 1000).toFixed(0)} s |`,
  ]
    .filter((l) => l !== null)
    .join("\n");
}

/** Rewrites the marked container section of docs/benchmarks.md (the rest of the page stays). */
export function recordFigures(f: Figures): void {
  const file = join(ROOT, "docs/benchmarks.md");
  const text = readFileSync(file, "utf8");
  const start = "<!-- bench:container -->";
  const end = "<!-- /bench:container -->";
  const body = `${start}\n${figuresMarkdown(f)}\n${end}`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < 0) throw new Error(`docs/benchmarks.md has no ${start} … ${end} section`);
  writeFileSync(file, text.slice(0, i) + body + text.slice(j + end.length));
}

// ── command line ────────────────────────────────────────────────────────────

async function main(argv: string[]): Promise<number> {
  const [command = "check", ...flags] = argv;
  const log: Log = (line) => process.stdout.write(`container-check: ${line}\n`);
  const why = await containerToolsUnavailable();
  if (why) {
    process.stderr.write(`container-check: cannot run here: ${why}\n`);
    return 2;
  }
  const t0 = performance.now();
  const base = await ensureBaseImage(log);
  log(base.made ? `base image made in ${(base.ms / 1000).toFixed(0)} s` : `base image ${base.ref} present`);
  const built = await buildImage(log);
  log(`image ${IMAGE} built in ${(built.ms / 1000).toFixed(0)} s`);
  if (command === "build") return 0;
  if (command !== "check") {
    process.stderr.write(`usage: container-check.ts [build|check] [--record]\n`);
    return 2;
  }
  const sizes = await imageSizes();
  const user = await checkUser();
  log(`user: uid ${user.uid} (${user.user}); /app read-only to it, /app/data writable`);
  const missing = await checkMissingSettings();
  log(`without production settings: exit ${missing.exitCode} in ${Math.round(missing.ms)} ms, naming ${missing.named.join(", ")}`);
  const running = await startProduction();
  try {
    log(`production settings: ready in ${Math.round(running.readyMs)} ms (the server's own start: ${running.appReadyMs} ms)`);
    const served = await checkServing(running);
    for (const c of served.calls) log(`  ${c}`);
    const term = await checkSigterm(running, served.session);
    log(`podman stop during a ${term.rows}-row stream: stream complete in ${Math.round(term.streamMs)} ms, shutdown ${term.shutdownMs} ms, exit ${term.exitCode}`);
    const podmanVersion = (await podman(["--version"])).trim();
    const figures: Figures = { podman: podmanVersion, ...sizes, readyMs: running.readyMs, appReadyMs: running.appReadyMs, buildMs: built.ms, baseMs: base.ms, baseMade: base.made, missingExitMs: missing.ms, sigterm: term, totalMs: performance.now() - t0 };
    process.stdout.write(`\n${figuresMarkdown(figures)}\n`);
    if (flags.includes("--record")) {
      recordFigures(figures);
      log("figures written to docs/benchmarks.md");
    }
  } finally {
    await running.remove();
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`container-check: FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

