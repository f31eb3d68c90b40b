/**
 * What the configuration does at start, against the real entry point (`src/main.ts` in a child
 * process, as `npm start` runs it):
 * - issue 14.3: the README's production error example is exactly what is printed (exit 78);
 *   production with the console mailer never prints a live link or token;
 * - issue 14.2 (first half): in development the emailed links follow the real listening port;
 * - issue 14.7 (part): the development JWT secret persists in data/jwt.secret (0600), so access
 *   tokens survive a restart.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { call, login, newUser, register, sleep } from "../support/auth.js";
import { ROOT, spawnServer, type ChildServer } from "../support/server.js";

const run = promisify(execFile);
const dirs: string[] = [];
const tmp = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Waits for a stdout line of the child that matches. */
async function lineMatching(s: ChildServer, re: RegExp, timeoutMs = 10_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const hit = s.lines.find((l) => re.test(l));
    if (hit) return hit;
    if (Date.now() > until) throw new Error(`no line matching ${re} in:\n${s.lines.join("\n")}`);
    await sleep(50);
  }
}

describe("the README's production error example", () => {
  it("is exactly what the command prints, with exit code 78", async () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const m = /```sh\n(ENVIRONMENT=production [^\n]+)\n((?:# [^\n]*\n)+)```/.exec(readme);
    expect(m, "README has a ```sh block starting with ENVIRONMENT=production …, followed by # lines").not.toBeNull();
    const [, command, shown] = m!;
    const expected = shown.split("\n").filter((l) => l !== "").map((l) => l.replace(/^# /, ""));
    // A fresh shell in the repository: no other variable set.
    const err = (await run("sh", ["-c", command], { cwd: ROOT, env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? "/root" } }).catch((e: unknown) => e)) as {
      code: number;
      stdout: string;
      stderr: string;
    };
    expect(err.code).toBe(78);
    expect(err.stderr.split("\n").filter((l) => l !== "")).toEqual(expected);
    expect(err.stdout).toBe("");
  }, 60_000);
});

describe("development", () => {
  it("emailed links follow the real listening port, and the JWT secret survives a restart (data/jwt.secret, 0600)", async () => {
    const dir = tmp("sqlstudio-devstart-");
    // No JWT_SECRET, no PUBLIC_URL: development defaults, on a port the OS picks.
    const first = await spawnServer({ dir, env: { BCRYPT_COST: "4" } });
    const u = newUser("dev");
    try {
      await register(first, u);
      const link = await lineMatching(first, /verify-email\?token=/);
      expect(link.trim()).toMatch(new RegExp(`^http://localhost:${first.ports.api}/verify-email\\?token=[A-Za-z0-9_-]{43}$`));
      // The link opens the web console's page (a browser navigation gets the console, whose
      // /verify-email route completes the verification by calling VerifyEmail).
      const page = await fetch(link.trim().replace("//localhost:", "//127.0.0.1:"), { headers: { accept: "text/html,application/xhtml+xml,*/*;q=0.8" } });
      expect(page.status).toBe(200);
      expect(await page.text()).toBe(readFileSync(join(ROOT, "web/dist/index.html"), "utf8"));
      const routes = readFileSync(join(ROOT, "web/src/app.tsx"), "utf8");
      expect(routes).toMatch(/\["\/verify-email", VerifyEmail\]/);
      expect(routes).toMatch(/\["\/reset-password", ResetPassword\]/);
    } finally {
      await first.stop();
    }
    const file = join(dir, "data", "jwt.secret");
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = await spawnServer({ dir, env: { BCRYPT_COST: "4" } });
    try {
      // A token of the first run still works on the second (and the first run's session refreshes).
      const s = await login(second, u);
      await second.stop();
      const third = await spawnServer({ dir, env: { BCRYPT_COST: "4" } });
      try {
        expect((await call(third, "GetCurrentUser", {}, { token: s.accessToken })).status).toBe(200);
        expect((await call(third, "RefreshToken", { refreshToken: s.refreshToken })).status).toBe(200);
      } finally {
        await third.stop();
      }
    } finally {
      await second.stop();
    }
  }, 180_000);
});

describe("production with EMAIL_PROVIDER=console", () => {
  it("logs that an email was due, never its link or token", async () => {
    const dir = tmp("sqlstudio-prodmail-");
    const s = await spawnServer({
      dir,
      env: {
        ENVIRONMENT: "production",
        BCRYPT_COST: "4",
        JWT_SECRET: "0123456789abcdef0123456789abcdef-long-enough",
        ENGINE_SECRET_KEY: Buffer.alloc(32, 9).toString("base64"),
        ALLOW_FILE_DATABASE_IN_PRODUCTION: "true",
        PUBLIC_URL: "https://studio.example.com",
        EMAIL_PROVIDER: "console",
      },
    });
    try {
      const u = newUser("prod");
      await register(s, u);
      expect((await call(s, "RequestPasswordReset", { email: u.email })).status).toBe(200);
      await lineMatching(s, /"kind":"reset_password"/);
      const out = s.lines.join("\n");
      expect(out).not.toMatch(/token=/);
      expect(out).not.toMatch(/verify-email|reset-password/);
      // No 43-character base64url string (the shape of every emailed token) anywhere.
      expect(out).not.toMatch(/(^|[^A-Za-z0-9_-])[A-Za-z0-9_-]{43}([^A-Za-z0-9_-]|$)/);
      // Every line is JSON (Cloud Logging parses it): nothing printed beside the logger.
      for (const l of s.lines) expect(() => JSON.parse(l), l).not.toThrow();
    } finally {
      await s.stop();
    }
  }, 60_000);
});
