import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load.js";
import { ENV_ALIASES, ENV_KEYS } from "../../src/config/schema.js";
import { ROOT } from "../support/server.js";

const dir = mkdtempSync(join(tmpdir(), "sqlstudio-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const missing = join(dir, "missing.yaml");
let n = 0;
function yamlFile(text: string): string {
  const file = join(dir, `config-${n++}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** The problems of the ConfigError that loading throws (fails the test when it does not throw). */
function problemsOf(env: Record<string, string>, file = missing): string[] {
  try {
    loadConfig(env, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

const GOOD_SECRET = "0123456789abcdef0123456789abcdef-long-enough";
const production = {
  ENVIRONMENT: "production",
  JWT_SECRET: GOOD_SECRET,
  DATABASE_URL: "libsql://app-org.turso.io",
  TURSO_AUTH_TOKEN: "token",
  ENGINE_SECRET_KEY: Buffer.alloc(32, 7).toString("base64"),
  PUBLIC_URL: "https://studio.example.com",
  RESEND_API_KEY: "re_live_x",
};

describe("loadConfig defaults", () => {
  it("needs no configuration at all in development", () => {
    const c = loadConfig({}, missing);
    expect(c.environment).toBe("development");
    expect(c.server.port).toBe(8080);
    expect(c.server.wsPort).toBe(8081);
    expect(c.server.metricsPort).toBe(9090);
    expect(c.server.host).toBe("127.0.0.1");
    expect(c.database.url).toBe("file:./data/development.db");
    expect(c.database.autoMigrate).toBe(true);
    expect(c.server.shutdownTimeoutMs).toBe(10_000);
    expect(c.log.pretty).toBe(true);
  });

  it("uses production defaults for production (bind all interfaces, no CORS, JSON logs)", () => {
    const c = loadConfig(production, missing);
    expect(c.server.host).toBe("0.0.0.0");
    expect(c.server.corsOrigins).toEqual([]);
    expect(c.log.pretty).toBe(false);
    expect(c.log.level).toBe("info");
  });

  it("turns env strings into typed values: numbers, booleans, lists", () => {
    const c = loadConfig({ PORT: "9000", AUTO_MIGRATE: "off", LOG_PRETTY: "no", CORS_ORIGINS: " https://a.example , https://b.example ,," }, missing);
    expect(c.server.port).toBe(9000);
    expect(c.database.autoMigrate).toBe(false);
    expect(c.log.pretty).toBe(false);
    expect(c.server.corsOrigins).toEqual(["https://a.example", "https://b.example"]);
  });

  it("treats an empty environment variable as unset", () => {
    expect(loadConfig({ PORT: "" }, missing).server.port).toBe(8080);
  });
});

describe("YAML file", () => {
  it("reads nested keys and lets environment variables win", () => {
    const file = yamlFile("server:\n  port: 7000\n  wsPort: 7001\nlog:\n  level: warn\n");
    const c = loadConfig({ PORT: "7100" }, file);
    expect(c.server.port).toBe(7100);
    expect(c.server.wsPort).toBe(7001);
    expect(c.log.level).toBe("warn");
  });

  it("expands ${VAR} and ${VAR:-default}", () => {
    const file = yamlFile(
      [
        "database:",
        "  url: ${DB_URL_FOR_TEST}",
        "server:",
        '  publicUrl: "https://${PUBLIC_HOST:-studio.example.com}/app"',
        "  corsOrigins: ['${ORIGIN_A}', '${ORIGIN_B:-https://b.example}']",
        "",
      ].join("\n"),
    );
    const c = loadConfig({ DB_URL_FOR_TEST: "file:/tmp/x.db", ORIGIN_A: "https://a.example" }, file);
    expect(c.database.url).toBe("file:/tmp/x.db");
    expect(c.server.publicUrl).toBe("https://studio.example.com/app");
    expect(c.server.corsOrigins).toEqual(["https://a.example", "https://b.example"]);
    // set and non-empty: the variable, not the default
    expect(loadConfig({ DB_URL_FOR_TEST: "file:/tmp/x.db", ORIGIN_A: "x", PUBLIC_HOST: "h.example" }, file).server.publicUrl).toBe(
      "https://h.example/app",
    );
  });

  it("reports a ${VAR} that is not set", () => {
    const file = yamlFile("database:\n  url: ${NOT_SET_ANYWHERE}\n");
    expect(problemsOf({}, file).join("\n")).toContain("${NOT_SET_ANYWHERE} is not set");
  });

  it("applies the profiles.<environment> section over the top level, and only for that environment", () => {
    const file = yamlFile(
      [
        "server:",
        "  port: 7000",
        "  readMaxBytes: 1000",
        "profiles:",
        "  staging:",
        "    server:",
        "      port: 7500",
        "    log:",
        "      level: error",
        "",
      ].join("\n"),
    );
    const staging = loadConfig({ ENVIRONMENT: "staging" }, file);
    expect(staging.server.port).toBe(7500);
    expect(staging.server.readMaxBytes).toBe(1000); // top level still applies
    expect(staging.log.level).toBe("error");
    const dev = loadConfig({}, file);
    expect(dev.server.port).toBe(7000);
    expect(dev.log.level).toBe("info");
    // env still wins over the profile
    expect(loadConfig({ ENVIRONMENT: "staging", PORT: "7600" }, file).server.port).toBe(7600);
  });

  it("expands only the active profile: another environment's variables need not be set", () => {
    const file = yamlFile("profiles:\n  production:\n    database:\n      url: ${ONLY_IN_PRODUCTION}\n");
    expect(loadConfig({}, file).database.url).toBe("file:./data/development.db");
    expect(problemsOf({ ...production, DATABASE_URL: "" }, file)).toContain("config file: ${ONLY_IN_PRODUCTION} is not set");
  });

  it("refuses unknown keys (a typo is never silently ignored)", () => {
    const file = yamlFile("server:\n  prot: 7000\nlogging:\n  level: warn\nprofiles:\n  development:\n    database:\n      uri: x\n");
    expect(problemsOf({}, file)).toEqual([
      `${file}: unknown key "server.prot"`,
      `${file}: unknown key "logging"`,
      `${file}: unknown key "profiles.development.database.uri"`,
    ]);
  });

  it("refuses a file that is not a mapping", () => {
    expect(problemsOf({}, yamlFile("- a\n- b\n"))).toEqual([expect.stringMatching(/must be a mapping/)]);
  });

  it("reports invalid YAML", () => {
    const file = yamlFile("server: [unclosed\n");
    expect(problemsOf({}, file).some((p) => p.startsWith(file))).toBe(true);
  });

  it("refuses a CONFIG_FILE that does not exist", () => {
    expect(problemsOf({ CONFIG_FILE: missing })).toEqual([`CONFIG_FILE: ${missing} does not exist`]);
  });

  it("reads the file named by CONFIG_FILE", () => {
    const file = yamlFile("server:\n  port: 7222\n");
    expect(loadConfig({ CONFIG_FILE: file }).server.port).toBe(7222);
  });

  it("names a bad YAML value by its environment variable", () => {
    const file = yamlFile("server:\n  port: not-a-port\n");
    expect(problemsOf({}, file).some((p) => p.startsWith("PORT:"))).toBe(true);
  });

  it("loads the shipped example file", () => {
    const c = loadConfig({ JWT_SECRET: GOOD_SECRET }, join(ROOT, "configs/config.example.yaml"));
    expect(c.environment).toBe("development");
    const prod = loadConfig(
      {
        ENVIRONMENT: "production",
        JWT_SECRET: GOOD_SECRET,
        TURSO_DATABASE_URL: "libsql://db-org.turso.io",
        TURSO_AUTH_TOKEN: "t",
        ENGINE_SECRET_KEY: production.ENGINE_SECRET_KEY,
        RESEND_API_KEY: "re_live_x",
      },
      join(ROOT, "configs/config.example.yaml"),
    );
    expect(prod.database.url).toBe("libsql://db-org.turso.io");
    expect(prod.server.corsOrigins.length).toBeGreaterThan(0);
  });
});

describe("validation", () => {
  it("names a bad PORT by its environment variable", () => {
    const problems = problemsOf({ PORT: "eighty" });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^PORT: /);
  });

  it("refuses ports out of range", () => {
    expect(problemsOf({ METRICS_PORT: "70000" })[0]).toMatch(/^METRICS_PORT: /);
  });

  it("lists several problems in one ConfigError", () => {
    const problems = problemsOf({ PORT: "x", WS_PORT: "-1", LOG_LEVEL: "loud", PUBLIC_URL: "not a url" });
    expect(problems.map((p) => p.split(":")[0]).sort()).toEqual(["LOG_LEVEL", "PORT", "PUBLIC_URL", "WS_PORT"]);
    try {
      loadConfig({ PORT: "x", WS_PORT: "-1" }, missing);
    } catch (e) {
      expect((e as Error).message).toMatch(/invalid configuration:\n {2}- PORT: .*\n {2}- WS_PORT: /);
    }
  });

  it("refuses an unknown ENVIRONMENT and still reports the other problems", () => {
    const problems = problemsOf({ ENVIRONMENT: "prod", PORT: "x" });
    expect(problems.some((p) => p.startsWith("ENVIRONMENT: must be one of development, staging, production"))).toBe(true);
    expect(problems.some((p) => p.startsWith("PORT:"))).toBe(true);
  });

  it("needs both TLS files", () => {
    expect(problemsOf({ TLS_CERT_FILE: "/x/cert.pem" })).toEqual(["TLS_KEY_FILE: required with TLS_CERT_FILE"]);
    expect(problemsOf({ TLS_KEY_FILE: "/x/key.pem" })).toEqual(["TLS_CERT_FILE: required with TLS_KEY_FILE"]);
  });

  it("keeps the default deadline under the ceiling", () => {
    expect(problemsOf({ DEFAULT_DEADLINE_MS: "5000", MAX_DEADLINE_MS: "1000" })).toEqual(["DEFAULT_DEADLINE_MS: must not exceed MAX_DEADLINE_MS"]);
  });
});

describe("production refusals", () => {
  it("accepts a complete production configuration", () => {
    const c = loadConfig({ ...production, CORS_ORIGINS: "https://studio.example.com" }, missing);
    expect(c.environment).toBe("production");
    expect(c.server.corsOrigins).toEqual(["https://studio.example.com"]);
  });

  it("refuses a missing JWT_SECRET", () => {
    const { JWT_SECRET: _, ...env } = production;
    expect(problemsOf(env)).toEqual(["JWT_SECRET: required in production"]);
  });

  it("refuses a JWT_SECRET shorter than 32 bytes", () => {
    expect(problemsOf({ ...production, JWT_SECRET: "x".repeat(31) })).toEqual(["JWT_SECRET: must be at least 32 bytes in production"]);
    expect(loadConfig({ ...production, JWT_SECRET: "x".repeat(32) }, missing).auth.jwtSecret).toHaveLength(32);
  });

  it("refuses a file: database unless explicitly allowed", () => {
    const env = { ...production, DATABASE_URL: "file:/data/app.db" };
    expect(problemsOf(env)).toEqual([expect.stringMatching(/^DATABASE_URL: a file: database is refused in production/)]);
    expect(loadConfig({ ...env, ALLOW_FILE_DATABASE_IN_PRODUCTION: "true" }, missing).database.url).toBe("file:/data/app.db");
  });

  it("refuses wildcard CORS origins", () => {
    expect(problemsOf({ ...production, CORS_ORIGINS: "*" })).toEqual([expect.stringMatching(/^CORS_ORIGINS: wildcards are refused/)]);
    expect(problemsOf({ ...production, CORS_ORIGINS: "https://ok.example,https://*.example.com" })[0]).toMatch(/^CORS_ORIGINS:/);
  });

  it("refuses libsql:// without TURSO_AUTH_TOKEN", () => {
    const { TURSO_AUTH_TOKEN: _, ...env } = production;
    expect(problemsOf(env)).toEqual(["TURSO_AUTH_TOKEN: required for a libsql:// database in production"]);
  });

  it("lists every refusal at once", () => {
    const problems = problemsOf({ ENVIRONMENT: "production", CORS_ORIGINS: "*" });
    expect(problems.map((p) => p.split(":")[0]).sort()).toEqual(["CORS_ORIGINS", "DATABASE_URL", "ENGINE_SECRET_KEY", "JWT_SECRET", "PUBLIC_URL", "RESEND_API_KEY"]);
  });

  it("reports refusals together with invalid values", () => {
    const problems = problemsOf({ ENVIRONMENT: "production", PORT: "x", CORS_ORIGINS: "*" });
    expect(problems.map((p) => p.split(":")[0]).sort()).toEqual(["CORS_ORIGINS", "DATABASE_URL", "ENGINE_SECRET_KEY", "JWT_SECRET", "PORT", "PUBLIC_URL", "RESEND_API_KEY"]);
  });

  it("does not hold staging to the production refusals", () => {
    expect(loadConfig({ ENVIRONMENT: "staging" }, missing).environment).toBe("staging");
  });
});

describe("TURSO_URL, the original system's name for DATABASE_URL", () => {
  const { DATABASE_URL: _unused, ...withoutUrl } = production;

  it("is read when DATABASE_URL is unset, production refusals included", () => {
    const c = loadConfig({ ...withoutUrl, TURSO_URL: "libsql://seed-org.turso.io" }, missing);
    expect(c.database.url).toBe("libsql://seed-org.turso.io");
    const { TURSO_AUTH_TOKEN: _t, ...noToken } = withoutUrl;
    expect(problemsOf({ ...noToken, TURSO_URL: "libsql://seed-org.turso.io" })).toEqual([expect.stringMatching(/^TURSO_AUTH_TOKEN: required/)]);
  });

  it("agrees with DATABASE_URL when both are set, and is an error when they differ", () => {
    expect(loadConfig({ ...production, TURSO_URL: production.DATABASE_URL }, missing).database.url).toBe(production.DATABASE_URL);
    expect(problemsOf({ ...production, TURSO_URL: "libsql://other-org.turso.io" })).toEqual([expect.stringMatching(/^TURSO_URL: an alias of DATABASE_URL/)]);
  });

  it("wins over the YAML file's database.url, like any environment variable", () => {
    const file = yamlFile("database:\n  url: file:./from-yaml.db\n");
    expect(loadConfig({ TURSO_URL: "libsql://seed-org.turso.io" }, file).database.url).toBe("libsql://seed-org.turso.io");
  });
});

describe("JOB_INTERVAL_MS", () => {
  it("is unset by default (each job keeps its own interval) and a positive number when set", () => {
    expect(loadConfig({}, missing).jobs.intervalMs).toBeUndefined();
    expect(loadConfig({ JOB_INTERVAL_MS: "1500" }, missing).jobs.intervalMs).toBe(1500);
    expect(problemsOf({ JOB_INTERVAL_MS: "0" })).toEqual([expect.stringMatching(/^JOB_INTERVAL_MS:/)]);
  });
});

describe(".env.example", () => {
  const text = readFileSync(join(ROOT, ".env.example"), "utf8");
  const documented = new Set([...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));

  it("documents every environment variable the config reads, its aliases, and CONFIG_FILE", () => {
    const undocumented = [...Object.keys(ENV_KEYS), ...Object.keys(ENV_ALIASES), "CONFIG_FILE"].filter((k) => !documented.has(k));
    expect(undocumented).toEqual([]);
  });

  it("documents no variable the config does not read", () => {
    const unknown = [...documented].filter((k) => !(k in ENV_KEYS) && !(k in ENV_ALIASES) && k !== "CONFIG_FILE");
    expect(unknown).toEqual([]);
  });
});

describe("ENGINE_SQLITE_DIR holds none of the server's own files (issue 17.2)", () => {
  const base = { ENVIRONMENT: "development", DATABASE_URL: `file:${join(dir, "data", "app.db")}` };
  it.each([
    ["the app database's folder itself", join(dir, "data")],
    ["a folder above it", dir],
    ["the working folder", "."],
  ])("refuses %s", (_what, sqliteDir) => {
    const problems = problemsOf({ ...base, ENGINE_SQLITE_DIR: sqliteDir, ...(sqliteDir === "." ? { DATABASE_URL: "file:./data/development.db" } : {}) });
    expect(problems.some((p) => p.startsWith("ENGINE_SQLITE_DIR:"))).toBe(true);
  });

  it("refuses a folder holding the engine key file (any …_FILE setting)", () => {
    const problems = problemsOf({ ...base, ENGINE_SQLITE_DIR: join(dir, "sq"), ENGINE_SECRET_KEY_FILE: join(dir, "sq", "engine.key") });
    expect(problems.join("\n")).toMatch(/ENGINE_SQLITE_DIR: .*engine\.key/);
  });

  it("accepts a folder of its own, also inside the data folder (the development default)", () => {
    expect(loadConfig({ ...base, ENGINE_SQLITE_DIR: join(dir, "data", "sqlite") }, missing).engine.sqliteDir).toBe(join(dir, "data", "sqlite"));
    expect(loadConfig({ ENVIRONMENT: "development" }, missing).engine.sqliteDir).toBe("./data/sqlite");
  });
});
