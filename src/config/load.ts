import { existsSync, readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { configSchema, defaultsFor, ENV_KEYS, environments, type Config, type Environment } from "./schema.js";

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

type Tree = Record<string, unknown>;

/**
 * Reads the configuration once: profile defaults < configs/config.yaml (top level) <
 * its `profiles.<environment>` section < environment variables. `${VAR}` in YAML strings is
 * replaced by the environment. Every problem is reported in one ConfigError.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, file = env.CONFIG_FILE ?? "configs/config.yaml"): Config {
  const problems: string[] = [];
  let yaml: Tree = {};
  if (existsSync(file)) {
    try {
      yaml = (expandVars(parseYaml(readFileSync(file, "utf8")) ?? {}, env, problems) as Tree) ?? {};
    } catch (e) {
      problems.push(`${file}: ${(e as Error).message}`);
    }
  } else if (env.CONFIG_FILE) {
    problems.push(`CONFIG_FILE: ${file} does not exist`);
  }
  const profiles = (yaml.profiles ?? {}) as Tree;
  delete yaml.profiles;

  const environment = (env.ENVIRONMENT ?? yaml.environment ?? "development") as Environment;
  if (!environments.includes(environment)) {
    throw new ConfigError([`ENVIRONMENT: must be one of ${environments.join(", ")} (got "${environment}")`]);
  }
  const merged = merge(merge(defaultsFor(environment), yaml), (profiles[environment] ?? {}) as Tree);
  for (const [name, path] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value !== undefined && value !== "") setPath(merged, path, value);
  }

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.join(".");
      problems.push(`${envNameFor(path) ?? path}: ${issue.message}`);
    }
    throw new ConfigError(problems);
  }
  problems.push(...productionRefusals(parsed.data));
  if (parsed.data.server.tlsCertFile && !parsed.data.server.tlsKeyFile) problems.push("TLS_KEY_FILE: required with TLS_CERT_FILE");
  if (!parsed.data.server.tlsCertFile && parsed.data.server.tlsKeyFile) problems.push("TLS_CERT_FILE: required with TLS_KEY_FILE");
  if (parsed.data.server.defaultDeadlineMs > parsed.data.server.maxDeadlineMs) {
    problems.push("DEFAULT_DEADLINE_MS: must not exceed MAX_DEADLINE_MS");
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed.data;
}

/** What production refuses to start with. */
function productionRefusals(c: Config): string[] {
  if (c.environment !== "production") return [];
  const out: string[] = [];
  const secret = c.auth.jwtSecret ?? "";
  if (secret === "") out.push("JWT_SECRET: required in production");
  else if (Buffer.byteLength(secret) < 32) out.push("JWT_SECRET: must be at least 32 bytes in production");
  if (c.database.url.startsWith("file:") && !c.database.allowFileInProduction) {
    out.push("DATABASE_URL: a file: database is refused in production unless ALLOW_FILE_DATABASE_IN_PRODUCTION=true");
  }
  if (c.server.corsOrigins.some((o) => o.includes("*"))) out.push("CORS_ORIGINS: wildcards are refused in production; list exact origins");
  if (c.database.url.startsWith("libsql://") && !c.database.authToken) out.push("TURSO_AUTH_TOKEN: required for a libsql:// database in production");
  return out;
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
