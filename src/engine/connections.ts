import type { Runtime } from "../common/runtime.js";
import type { RequestInfo } from "../common/caller.js";
import { invalidArgument, fail, R } from "../common/errors.js";
import { DatabaseError, type EngineName, type SslMode, type Target } from "./driver.js";
import { checkHost, confineSqlitePath, userSqliteDir, type HostPolicy } from "./policy.js";
import type { Pools } from "./pools.js";
import type { SecretBox } from "./secret-box.js";
import type { ConnectionRow, ConnectionStore } from "./store.js";

/** A profile as the caller writes it (validated here). */
export interface Spec {
  name: string;
  engine: EngineName | undefined;
  host: string;
  port: number;
  database: string;
  username: string;
  password: string;
  sslMode: SslMode;
  options: Record<string, string>;
  readOnly: boolean;
}

export interface EngineSettings extends HostPolicy {
  sqliteDir?: string;
  connectTimeoutMs: number;
  /** Profiles one user may store. */
  maxPerUser: number;
}

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const OPTION_KEY = /^[a-z][a-z0-9_]{0,63}$/;

export const connectionNotFound = () => fail(R.CONNECTION_NOT_FOUND, "connection not found");

function check(spec: Spec, prefix: string): asserts spec is Spec & { engine: EngineName } {
  const f = (name: string) => `${prefix}${name}`;
  const name = spec.name.trim();
  if (name.length < 1 || name.length > 200) throw invalidArgument(f("name"), "must be 1-200 characters");
  if (!spec.engine) throw invalidArgument(f("engine"), "is required");
  if (spec.host.length < 1 || spec.host.length > 1024 || /[\0\r\n]/.test(spec.host)) throw invalidArgument(f("host"), "is required (at most 1024 characters, one line)");
  if (spec.port < 0 || spec.port > 65535) throw invalidArgument(f("port"), "must be 0-65535");
  if (spec.database.length > 255) throw invalidArgument(f("database"), "must be at most 255 characters");
  if (spec.username.length > 255) throw invalidArgument(f("username"), "must be at most 255 characters");
  if (spec.password.length > 1024) throw invalidArgument(f("password"), "must be at most 1024 characters");
  const keys = Object.keys(spec.options);
  if (keys.length > 32) throw invalidArgument(f("options"), "at most 32 options");
  for (const k of keys) {
    if (!OPTION_KEY.test(k)) throw invalidArgument(f(`options.${k}`), "keys are lower-case letters, digits and _");
    if (spec.options[k].length > 256) throw invalidArgument(f(`options.${k}`), "values are at most 256 characters");
  }
}

/** A profile pointed elsewhere (engine, host, port or user changed): what the security log records. */
export interface ProfileMove {
  connectionId: string;
  from: string;
  to: string;
  /** "dropped": the stored password was discarded; "entered": the request gave one; "none": there was none. */
  password: "dropped" | "entered" | "none";
}

/** What a profile stores of a checked spec (the password aside: it is sealed). */
function stored(spec: Spec & { engine: EngineName }) {
  const { name, engine, host, port, database, username, sslMode, options, readOnly } = spec;
  return { name: name.trim(), engine, host, port, database, username, sslMode, options, readOnly };
}

const where = (r: { engine: string; username: string; host: string; port: number }) => `${r.engine}://${r.username}@${r.host}:${r.port}`;

export interface ConnectionsDeps {
  store: ConnectionStore;
  /** Seals stored passwords. */
  box: SecretBox;
  runtime: Runtime;
  settings: EngineSettings;
  pools: Pools;
  /** Told when a profile moves (a security event). */
  onMove?: (userId: string, move: ProfileMove, from: RequestInfo) => Promise<void>;
}

/** Connection profiles of users: the logic behind ConnectionService. Every query is scoped by user. */
export class Connections {
  private readonly store: ConnectionStore;
  private readonly box: SecretBox;
  private readonly runtime: Runtime;
  private readonly settings: EngineSettings;
  private readonly pools: Pools;
  private readonly onMove: NonNullable<ConnectionsDeps["onMove"]>;

  constructor(d: ConnectionsDeps) {
    ({ store: this.store, box: this.box, runtime: this.runtime, settings: this.settings, pools: this.pools } = d);
    this.onMove = d.onMove ?? (async () => undefined);
  }

  private seal(userId: string, id: string, password: string): string | null {
    return password === "" ? null : this.box.seal(password, `${userId}:${id}`);
  }

  async create(userId: string, spec: Spec, requestedId: string): Promise<ConnectionRow> {
    check(spec, "spec.");
    if (requestedId !== "" && !ID.test(requestedId)) throw invalidArgument("id", "must be a UUID");
    await this.target(userId, spec, "spec.");
    if ((await this.store.count(userId, this.settings.maxPerUser)) >= this.settings.maxPerUser) {
      throw fail(R.TOO_MANY_CONNECTIONS, `at most ${this.settings.maxPerUser} connection profiles per user`);
    }
    const id = requestedId || this.runtime.newId();
    const now = this.runtime.now();
    const row: ConnectionRow = {
      id,
      userId,
      ...stored(spec),
      passwordSealed: this.seal(userId, id, spec.password),
      createdAt: now,
      updatedAt: now,
    };
    if (!(await this.store.insert(row))) throw fail(R.CONNECTION_EXISTS, "a connection with this id exists");
    return row;
  }

  async get(userId: string, id: string): Promise<ConnectionRow> {
    if (!ID.test(id)) throw connectionNotFound();
    const row = await this.store.get(userId, id);
    if (!row) throw connectionNotFound();
    return row;
  }

  list(userId: string, limit: number, after?: { name: string; id: string }): Promise<ConnectionRow[]> {
    return this.store.list(userId, limit, after);
  }

  async update(userId: string, id: string, spec: Spec, clearPassword: boolean, from: RequestInfo = { ip: "", userAgent: "", requestId: "" }): Promise<ConnectionRow> {
    check(spec, "spec.");
    if (clearPassword && spec.password !== "") throw invalidArgument("clear_password", "cannot be set with a new spec.password");
    const old = await this.get(userId, id);
    await this.target(userId, spec, "spec.");
    // A stored password never follows a profile to another server or user: moved, it is dropped
    // unless this request enters it again.
    const moved = old.engine !== spec.engine || old.host !== spec.host || old.port !== spec.port || old.username !== spec.username;
    const keep = !moved && !clearPassword;
    const row: ConnectionRow = {
      ...old,
      ...stored(spec),
      passwordSealed: spec.password !== "" ? this.seal(userId, id, spec.password) : keep ? old.passwordSealed : null,
      updatedAt: Math.max(this.runtime.now(), old.updatedAt + 1),
    };
    if (!(await this.store.update(row))) throw connectionNotFound();
    await this.pools.close(userId, id);
    if (moved) {
      const password = spec.password !== "" ? "entered" : old.passwordSealed !== null ? "dropped" : "none";
      await this.onMove(userId, { connectionId: id, from: where(old), to: where(row), password }, from);
    }
    return row;
  }

  async delete(userId: string, id: string): Promise<void> {
    if (!ID.test(id) || !(await this.store.delete(userId, id))) throw connectionNotFound();
    await this.pools.close(userId, id);
  }

  /** The stored password, for the driver only. */
  password(row: ConnectionRow): string {
    if (row.passwordSealed === null) return "";
    try {
      return this.box.open(row.passwordSealed, `${row.userId}:${row.id}`);
    } catch {
      throw fail(R.PASSWORD_UNREADABLE, "the stored password cannot be decrypted (was ENGINE_SECRET_KEY changed?); set it again", { field: "password" });
    }
  }

  /**
   * Where and how to connect, after the network policy (hosts) or the directory rule (SQLite: the
   * user's own folder, `<ENGINE_SQLITE_DIR>/<user id>/`, made on first use).
   */
  async target(userId: string, spec: Omit<Spec, "name" | "readOnly"> & { engine: EngineName }, prefix = ""): Promise<Target> {
    const base = {
      engine: spec.engine,
      port: spec.port,
      database: spec.database,
      username: spec.username,
      password: spec.password,
      sslMode: spec.sslMode,
      options: spec.options,
      connectTimeoutMs: this.settings.connectTimeoutMs,
      serverName: spec.host,
    };
    if (spec.engine === "sqlite") {
      const file = confineSqlitePath(userSqliteDir(this.settings.sqliteDir, userId), spec.host);
      if ("refused" in file) throw fail(R.SQLITE_PATH_REFUSED, `${prefix}host: ${file.refused}`, { field: `${prefix}host` });
      return { ...base, host: file.path };
    }
    const host = await checkHost(spec.host, this.settings);
    if ("refused" in host) throw fail(R.HOST_REFUSED, `${prefix}host: ${host.refused}`, { field: `${prefix}host` });
    return { ...base, host: host.address };
  }

  /** A session on the profile's pool (the caller releases it with `done`). */
  session(userId: string, row: ConnectionRow) {
    return this.pools.session(userId, row.id, row.updatedAt, row.engine, () => this.target(userId, { ...row, password: this.password(row) }));
  }

  dialectOf(engine: EngineName) {
    return this.pools.driver(engine).dialect;
  }

  /** Connects once (not pooled) and reports the server. */
  async test(target: Target): Promise<{ latencyMs: number; version: string }> {
    const started = performance.now();
    const pool = this.pools.driver(target.engine).pool(target, { max: 1, idleMs: 1_000 });
    try {
      const version = await pool.version();
      return { latencyMs: performance.now() - started, version };
    } catch (err) {
      if (err instanceof DatabaseError) throw fail(R.CONNECTION_FAILED, `cannot connect: ${err.message}`);
      throw err;
    } finally {
      await pool.end();
    }
  }
}
