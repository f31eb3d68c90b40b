/**
 * Issue 14.3: production must refuse what would make it unsafe or silently broken, every problem
 * in one error; and `.env.example` must show the real default of every variable per environment.
 * Issue 14.7 (part): the development JWT secret persists in a file like data/engine.key.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load.js";
import { defaultsFor, ENV_KEYS, environments, type Environment } from "../../src/config/schema.js";
import { ROOT } from "../support/server.js";

const missing = "/nonexistent/config.yaml";
const KEY = Buffer.alloc(32, 7).toString("base64");
/** A complete production configuration (each test takes one thing away). */
const production: Record<string, string> = {
  ENVIRONMENT: "production",
  JWT_SECRET: "0123456789abcdef0123456789abcdef-long-enough",
  DATABASE_URL: "libsql://app-org.turso.io",
  TURSO_AUTH_TOKEN: "token",
  ENGINE_SECRET_KEY: KEY,
  PUBLIC_URL: "https://studio.example.com",
  RESEND_API_KEY: "re_live_x",
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env, missing);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}
const without = (key: string) => Object.fromEntries(Object.entries(production).filter(([k]) => k !== key));

describe("production refuses to start", () => {
  it("accepts the complete configuration", () => {
    const c = loadConfig(production, missing);
    expect(c.server.publicUrl).toBe("https://studio.example.com");
    expect(c.email.provider).toBe("resend");
  });

  it("without PUBLIC_URL, or with one that is not https", () => {
    expect(problemsOf(without("PUBLIC_URL"))).toEqual(["PUBLIC_URL: required in production: the https URL users reach the server at (email links)"]);
    expect(problemsOf({ ...production, PUBLIC_URL: "http://studio.example.com" })).toEqual(["PUBLIC_URL: must be https in production (got http://studio.example.com)"]);
  });

  it("without an email provider, unless EMAIL_PROVIDER=console acknowledges it", () => {
    expect(problemsOf(without("RESEND_API_KEY"))).toEqual([
      "RESEND_API_KEY: required in production to send email (or EMAIL_PROVIDER=console to only log that an email was due, never its link)",
    ]);
    const c = loadConfig({ ...without("RESEND_API_KEY"), EMAIL_PROVIDER: "console" }, missing);
    expect(c.email.provider).toBe("console");
  });

  it("EMAIL_PROVIDER=resend needs RESEND_API_KEY, in every environment", () => {
    expect(problemsOf({ EMAIL_PROVIDER: "resend" })).toEqual(["RESEND_API_KEY: required with EMAIL_PROVIDER=resend"]);
    expect(problemsOf({ EMAIL_PROVIDER: "pigeon" })[0]).toMatch(/^EMAIL_PROVIDER: /);
  });

  it("with the default development database, even with file databases allowed", () => {
    const dev = "DATABASE_URL: required in production: the default (file:./data/development.db) is the development database";
    expect(problemsOf(without("DATABASE_URL"))).toEqual([dev]);
    expect(problemsOf({ ...without("DATABASE_URL"), ALLOW_FILE_DATABASE_IN_PRODUCTION: "true" })).toEqual([dev]);
    expect(problemsOf({ ...production, DATABASE_URL: "file:data/development.db", ALLOW_FILE_DATABASE_IN_PRODUCTION: "true" })).toEqual([dev]);
    // Another file, explicitly allowed, is the operator's choice.
    expect(loadConfig({ ...production, DATABASE_URL: "file:/srv/sqlstudio/app.db", ALLOW_FILE_DATABASE_IN_PRODUCTION: "true" }, missing).database.url).toBe(
      "file:/srv/sqlstudio/app.db",
    );
  });

  it("lists every problem of an empty production environment in one error", () => {
    expect(problemsOf({ ENVIRONMENT: "production" })).toEqual([
      "JWT_SECRET: required in production",
      "ENGINE_SECRET_KEY: required in production: 32 random bytes, base64",
      "DATABASE_URL: required in production: the default (file:./data/development.db) is the development database",
      "PUBLIC_URL: required in production: the https URL users reach the server at (email links)",
      "RESEND_API_KEY: required in production to send email (or EMAIL_PROVIDER=console to only log that an email was due, never its link)",
    ]);
  });
});

describe("ENGINE_SECRET_KEY", () => {
  it("a value that is not 32 bytes of base64 is reported as such, not as missing, in every environment", () => {
    for (const env of environments) {
      const base = env === "production" ? production : { ENVIRONMENT: env };
      expect(problemsOf({ ...base, ENGINE_SECRET_KEY: "abc" }), env).toEqual(["ENGINE_SECRET_KEY: must be 32 bytes of base64 (got 2 bytes)"]);
      expect(problemsOf({ ...base, ENGINE_SECRET_KEY: "not base64 at all!!" }), env).toEqual(["ENGINE_SECRET_KEY: must be 32 bytes of base64 (it is not base64)"]);
    }
    expect(loadConfig({ ENGINE_SECRET_KEY: KEY }, missing).engine.secretKey).toBe(KEY);
  });
});

describe("development defaults", () => {
  it("PUBLIC_URL is left to follow the listening address; the JWT secret is kept in data/jwt.secret", () => {
    const c = loadConfig({}, missing);
    expect(c.server.publicUrl).toBeUndefined();
    expect(c.auth.jwtSecretFile).toBe("./data/jwt.secret");
    expect(loadConfig({ ENVIRONMENT: "production", ...production }, missing).auth.jwtSecretFile).toBeUndefined();
  });
});

describe(".env.example shows the real default of every variable per environment", () => {
  const text = readFileSync(join(ROOT, ".env.example"), "utf8");
  /** The comment paragraph and the `# VAR=value` line of each variable. */
  const entries = new Map<string, { value: string; comment: string }>();
  for (const block of text.split(/\n\s*\n/)) {
    const lines = block.split("\n");
    const comment = lines.filter((l) => !/^#?\s*[A-Z][A-Z0-9_]*=/.test(l)).join("\n");
    for (const l of lines) {
      const m = /^#?\s*([A-Z][A-Z0-9_]*)=(.*)$/.exec(l);
      if (m) entries.set(m[1], { value: m[2].replace(/^"(.*)"$/, "$1"), comment });
    }
  }
  const get = (tree: unknown, path: string) => path.split(".").reduce<unknown>((n, k) => (n as Record<string, unknown> | undefined)?.[k], tree);
  const shown = (v: unknown) => (v === undefined ? "" : Array.isArray(v) ? v.join(",") : String(v));
  /**
   * Documented in words: ENVIRONMENT picks the defaults (it has none per environment), PUBLIC_URL
   * is decided at start (the listening address) and required in production.
   */
  const computed = new Set(["ENVIRONMENT", "PUBLIC_URL"]);

  for (const [name, path] of Object.entries(ENV_KEYS)) {
    it(name, () => {
      const entry = entries.get(name);
      expect(entry, `${name} is not in .env.example`).toBeDefined();
      if (computed.has(name)) return;
      const per = Object.fromEntries(environments.map((e) => [e, shown(get(defaultsFor(e as Environment), path))]));
      // The line shows the development default (what `npm start` uses).
      expect(entry!.value, `${name}: the # ${name}= line`).toBe(per.development);
      if (new Set(Object.values(per)).size > 1) {
        // And a line names the default of each environment.
        const m = /Default per environment: development (\S*) · staging (\S*) · production (\S*)/.exec(entry!.comment);
        expect(m, `${name}: needs "Default per environment: development … · staging … · production …"`).not.toBeNull();
        const unset = (v: string) => (v === "(unset)" ? "" : v);
        expect({ development: unset(m![1]), staging: unset(m![2]), production: unset(m![3]) }, name).toEqual(per);
      }
    });
  }
});
