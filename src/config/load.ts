import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { configSchema, defaultsFor, ENV_ALIASES, ENV_KEYS, environments, type Config, type Environment } from "./schema.js";

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

type Tree = Record<string, unknown>;

/**
 * Reads the configuration once: profile defaults < configs/config.yaml (top level) <
 * its `profiles.<environment>` section < environment variables. `${VAR}` and `${VAR:-default}`
 * in YAML strings are replaced from the environment (in the top level and the active profile
 * only: another environment's section may name variables this one does not set). Every
 * problem is reported in one ConfigError.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, file = env.CONFIG_FILE ?? "configs/config.yaml"): Config {
  const problems: string[] = [];
  let raw: Tree = {};
  if (existsSync(file)) {
    try {
      const doc: unknown = parseYaml(readFileSync(file, "utf8")) ?? {};
      if (isTree(doc)) raw = doc;
      else problems.push(`${file}: must be a mapping of keys to values`);
    } catch (e) {
      problems.push(`${file}: ${(e as Error).message}`);
    }
  } else if (env.CONFIG_FILE) {
    problems.push(`CONFIG_FILE: ${file} does not exist`);
  }
  const { profiles = {}, ...top } = raw;
  const yaml = expandVars(top, env, problems) as Tree;

  let environment = (env.ENVIRONMENT || yaml.environment || "development") as Environment;
  if (!environments.includes(environment)) {
    problems.push(`ENVIRONMENT: must be one of ${environments.join(", ")} (got "${String(environment)}")`);
    environment = "development"; // keep checking everything else
  }
  let profile: Tree = {};
  if (!isTree(profiles)) problems.push(`${file}: profiles must be a mapping of environment names to sections`);
  else if (profiles[environment] !== undefined && profiles[environment] !== null) {
    if (isTree(profiles[environment])) profile = expandVars(profiles[environment], env, problems) as Tree;
    else problems.push(`${file}: profiles.${environment} must be a mapping`);
  }
  for (const key of unknownKeys(yaml, configSchema)) problems.push(`${file}: unknown key "${key}"`);
  for (const key of unknownKeys(profile, configSchema)) problems.push(`${file}: unknown key "profiles.${environment}.${key}"`);

  const merged = merge(merge(defaultsFor(environment), yaml), profile);
  for (const [alias, name] of Object.entries(ENV_ALIASES)) {
    const a = env[alias];
    const v = env[name];
    if (a && v && a !== v) problems.push(`${alias}: an alias of ${name}, which is set to another value; set only one`);
  }
  for (const [name, path] of Object.entries(ENV_KEYS)) {
    const alias = Object.keys(ENV_ALIASES).find((k) => ENV_ALIASES[k] === name && env[k]);
    const value = env[name] || (alias ? env[alias] : undefined);
    if (value !== undefined && value !== "") setPath(merged, path, value);
  }
  merged.environment = environment;

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.join(".");
      problems.push(`${envNameFor(path) ?? path}: ${issue.message}`);
    }
    // What production refuses is reported in the same error, from the values that did parse.
    problems.push(...crossChecks((path) => fieldValue(merged, path)), ...productionRefusals((path) => fieldValue(merged, path)));
    throw new ConfigError(problems);
  }
  const c = parsed.data;
  problems.push(...crossChecks((path) => getPath(c as unknown as Tree, path)), ...productionRefusals((path) => getPath(c as unknown as Tree, path)));
  c.email.provider ??= c.email.resendApiKey ? "resend" : "console";
  if (c.server.tlsCertFile && !c.server.tlsKeyFile) problems.push("TLS_KEY_FILE: required with TLS_CERT_FILE");
  if (!c.server.tlsCertFile && c.server.tlsKeyFile) problems.push("TLS_CERT_FILE: required with TLS_KEY_FILE");
  if (c.server.defaultDeadlineMs > c.server.maxDeadlineMs) {
    problems.push("DEFAULT_DEADLINE_MS: must not exceed MAX_DEADLINE_MS");
  }
  problems.push(...sqliteDirProblems(c));
  if (problems.length > 0) throw new ConfigError(problems);
  return c;
}

/** The database `npm start` uses: production never runs on it by accident. */
export const DEVELOPMENT_DATABASE = "file:./data/development.db";

function isDevelopmentDatabase(url: string): boolean {
  if (!url.startsWith("file:")) return false;
  const path = url.slice("file:".length).split("?")[0];
  return resolve(path) === resolve(DEVELOPMENT_DATABASE.slice("file:".length));
}

/** A problem with ENGINE_SECRET_KEY's value (any environment), if it has one. */
function engineKeyProblem(key: unknown): string | undefined {
  if (typeof key !== "string" || key === "") return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(key.trim())) return "ENGINE_SECRET_KEY: must be 32 bytes of base64 (it is not base64)";
  const n = Buffer.from(key, "base64").length;
  return n === 32 ? undefined : `ENGINE_SECRET_KEY: must be 32 bytes of base64 (got ${n} bytes)`;
}

/** What production refuses to start with; `get` reads a config path (undefined when unset or invalid). */
function productionRefusals(get: (path: string) => unknown): string[] {
  if (get("environment") !== "production") return [];
  const out: string[] = [];
  const secret = get("auth.jwtSecret");
  const url = get("database.url");
  if (typeof secret !== "string" || secret === "") out.push("JWT_SECRET: required in production");
  else if (Buffer.byteLength(secret) < 32) out.push("JWT_SECRET: must be at least 32 bytes in production");
  const key = get("engine.secretKey");
  if (typeof key !== "string" || key === "") out.push("ENGINE_SECRET_KEY: required in production: 32 random bytes, base64");
  if (typeof url === "string" && isDevelopmentDatabase(url)) {
    out.push(`DATABASE_URL: required in production: the default (${DEVELOPMENT_DATABASE}) is the development database`);
  } else if (typeof url === "string" && url.startsWith("file:") && get("database.allowFileInProduction") !== true) {
    out.push("DATABASE_URL: a file: database is refused in production unless ALLOW_FILE_DATABASE_IN_PRODUCTION=true");
  }
  const publicUrl = get("server.publicUrl");
  if (typeof publicUrl !== "string" || publicUrl === "") out.push("PUBLIC_URL: required in production: the https URL users reach the server at (email links)");
  else if (!publicUrl.startsWith("https://")) out.push(`PUBLIC_URL: must be https in production (got ${publicUrl})`);
  if (!get("email.resendApiKey") && get("email.provider") !== "console") {
    out.push("RESEND_API_KEY: required in production to send email (or EMAIL_PROVIDER=console to only log that an email was due, never its link)");
  }
  const origins = get("server.corsOrigins");
  if (Array.isArray(origins) && origins.some((o) => String(o).includes("*"))) {
    out.push("CORS_ORIGINS: wildcards are refused in production; list exact origins");
  }
  if (typeof url === "string" && url.startsWith("libsql://") && !get("database.authToken")) {
    out.push("TURSO_AUTH_TOKEN: required for a libsql:// database in production");
  }
  return out;
}

/** Problems of values that parsed but do not go together (every environment). */
function crossChecks(get: (path: string) => unknown): string[] {
  const out: string[] = [];
  const key = engineKeyProblem(get("engine.secretKey"));
  if (key) out.push(key);
  if (get("email.provider") === "resend" && !get("email.resendApiKey")) out.push("RESEND_API_KEY: required with EMAIL_PROVIDER=resend");
  return out;
}

/**
 * Users' SQLite folders live under ENGINE_SQLITE_DIR: none of the server's own files (the app
 * database and its folder, every `…File` setting such as the engine key or a TLS key) may be in it.
 */
function sqliteDirProblems(c: Config): string[] {
  if (!c.engine.sqliteDir) return [];
  const real = (p: string) => {
    const full = resolve(p);
    try {
      return realpathSync(full);
    } catch {
      return full;
    }
  };
  const dir = real(c.engine.sqliteDir);
  const own: string[] = [];
  const url = c.database.url;
  if (url.startsWith("file:")) {
    const file = url.slice(5).replace(/[?#].*$/, "");
    if (file !== "" && file !== ":memory:") own.push(real(file), real(dirname(resolve(file))));
  }
  const files = (tree: unknown): string[] =>
    tree && typeof tree === "object" ? Object.entries(tree).flatMap(([k, v]) => (typeof v === "string" && /File$/.test(k) ? [v] : files(v))) : [];
  own.push(...files(c).map(real));
  const inside = own.find((p) => p === dir || !relative(dir, p).startsWith("..") && !isAbsolute(relative(dir, p)));
  return inside ? [`ENGINE_SQLITE_DIR: must not hold the server's own files (${inside} is inside ${dir}); use a folder of its own, e.g. ./data/sqlite`] : [];
}

/** A value of the unvalidated tree, parsed by its own field schema; undefined when it does not parse. */
function fieldValue(tree: Tree, path: string): unknown {
  let schema: z.ZodType | undefined = configSchema;
  for (const key of path.split(".")) schema = schema instanceof z.ZodObject ? (schema.shape as Record<string, z.ZodType>)[key] : undefined;
  const r = schema?.safeParse(getPath(tree, path));
  return r?.success ? r.data : undefined;
}

/** Keys of a YAML tree the schema does not know (dotted paths): a typo must not be silently ignored. */
function unknownKeys(tree: Tree, schema: z.ZodType, prefix = ""): string[] {
  if (!(schema instanceof z.ZodObject)) return [];
  const shape = schema.shape as Record<string, z.ZodType>;
  return Object.entries(tree).flatMap(([k, v]) => {
    if (!(k in shape)) return [`${prefix}${k}`];
    return isTree(v) ? unknownKeys(v, shape[k], `${prefix}${k}.`) : [];
  });
}

function getPath(tree: Tree, path: string): unknown {
  let node: unknown = tree;
  for (const k of path.split(".")) node = isTree(node) ? node[k] : undefined;
  return node;
}

function envNameFor(path: string): string | undefined {
  return Object.entries(ENV_KEYS).find(([, p]) => p === path)?.[0];
}

function expandVars(value: unknown, env: NodeJS.ProcessEnv, problems: string[]): unknown {
  if (typeof value === "string") {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, name: string, fallback?: string) => {
      const v = env[name];
      if (v !== undefined && v !== "") return v;
      if (fallback !== undefined) return fallback;
      problems.push(`config file: \${${name}} is not set`);
      return "";
    });
  }
  if (Array.isArray(value)) return value.map((v) => expandVars(v, env, problems));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandVars(v, env, problems)]));
  }
  return value;
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isTree(b) && isTree(v) ? merge(b, v) : v;
  }
  return out;
}

function isTree(v: unknown): v is Tree {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function setPath(tree: Tree, path: string, value: unknown): void {
  const keys = path.split(".");
  let node = tree;
  for (const k of keys.slice(0, -1)) {
    if (!isTree(node[k])) node[k] = {};
    node = node[k] as Tree;
  }
  node[keys[keys.length - 1]] = value;
}
