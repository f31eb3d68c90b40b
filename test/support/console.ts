/**
 * The web console under test: the real server on a known port (so PUBLIC_URL, and with it the links
 * in emails, point at it), PostgreSQL, Debian's Chromium driven by playwright-core, and helpers for
 * what every console test does: sign up through the pages, scan a page with axe-core, take
 * screenshots, and fail on any Content-Security-Policy violation.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { createRequire } from "node:module";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { expect } from "vitest";
import { startAuthServer, strongPassword, type AuthTestServer } from "./auth.js";
import { startPostgres, type DatabaseServer } from "./databases.js";
import { ROOT } from "./server.js";

export const CHROMIUM = "/usr/bin/chromium";
export const chromiumMissing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing; install the Debian package chromium`;
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // localhost (a secure context, where Secure cookies work over http) always means 127.0.0.1 here.
  "--host-resolver-rules=MAP localhost 127.0.0.1",
];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ConsoleEnv {
  server: AuthTestServer;
  pg: DatabaseServer;
  browser: Browser;
  /** http://localhost:<port>, also the server's PUBLIC_URL. */
  url: string;
  /** CSP violations any page reported. */
  violations: string[];
  newPage(opts?: { colorScheme?: "light" | "dark"; width?: number; height?: number }): Promise<{ context: BrowserContext; page: Page }>;
  stop(): Promise<void>;
}

export async function startConsole(env: Record<string, string> = {}): Promise<ConsoleEnv> {
  const [pg, browser] = await Promise.all([startPostgres(), chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 60_000 })]);
  let server: AuthTestServer | undefined;
  for (let attempt = 0; !server; attempt++) {
    const port = await freePort();
    const url = `http://localhost:${port}`;
    server = await startAuthServer({ env: { PORT: String(port), PUBLIC_URL: url, ...env } }).catch((e: unknown) => {
      if (attempt > 3) throw e;
      return undefined;
    });
  }
  const url = server.config.server.publicUrl ?? `http://localhost:${server.config.server.port}`;
  const violations: string[] = [];
  const contexts: BrowserContext[] = [];
  return {
    server,
    pg,
    browser,
    url,
    violations,
    async newPage(opts = {}) {
      const context = await browser.newContext({ colorScheme: opts.colorScheme ?? "light", viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 }, acceptDownloads: true });
      contexts.push(context);
      context.setDefaultTimeout(20_000);
      // What broke the CSP, with the element (the browser's console line names no source for style attributes).
      await context.addInitScript(() =>
        document.addEventListener(
          "securitypolicyviolation",
          (e) => console.warn(`CSP violation: ${e.violatedDirective} ${e.sample} on ${(e.target as Element | null)?.outerHTML?.slice(0, 200) ?? String(e.target)}`),
          true,
        ),
      );
      const page = await context.newPage();
      watch(page, violations);
      return { context, page };
    },
    async stop() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close();
      await server!.stop();
    },
  };
}

/** Records CSP violations and uncaught page errors; every later page of the context too. */
export function watch(page: Page, violations: string[]): void {
  page.on("console", (m) => {
    if (/Content Security Policy|CSP violation/i.test(m.text())) violations.push(`${page.url()}: ${m.text()} at ${JSON.stringify(m.location())}`);
  });
  page.on("pageerror", (e) => violations.push(`${page.url()}: uncaught ${e.message}`));
}

export interface Account {
  email: string;
  username: string;
  password: string;
}

export function newAccount(prefix: string): Account {
  const tag = `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`.toLowerCase().slice(0, 30);
  return { email: `${tag}@example.test`, username: tag, password: strongPassword() };
}

export async function signIn(page: Page, url: string, a: Account): Promise<void> {
  await page.goto(`${url}/sign-in`);
  await page.getByLabel("Username or email").fill(a.username);
  await page.getByLabel("Password").fill(a.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("link", { name: "Workspace" }).waitFor();
}

// ── accessibility ───────────────────────────────────────────────────────────

const AXE = readFileSync(createRequire(join(ROOT, "package.json")).resolve("axe-core/axe.min.js"), "utf8");

export interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  nodes: string[];
}

/**
 * axe-core's scan of the page as it is: the serious and critical violations. The script is
 * evaluated through the debugging protocol, so the page's CSP (no inline script) stays on.
 */
export async function axe(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    const r = await (globalThis as unknown as { axe: { run(o: unknown): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe.run({
      resultTypes: ["violations"],
    });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }));
  });
  return result.filter((v) => v.impact === "serious" || v.impact === "critical");
}

export async function expectAccessible(page: Page, what: string): Promise<void> {
  const found = await axe(page);
  expect(found, `${what}: ${JSON.stringify(found, null, 1)}`).toEqual([]);
}

// ── screenshots ─────────────────────────────────────────────────────────────

/** docs/console/ when SCREENSHOTS=1 (npm run screenshots), else a scratch folder: the shots are taken either way. */
export const SHOTS = process.env.SCREENSHOTS === "1" ? join(ROOT, "docs/console") : join(ROOT, "test/.tmp/console-shots");
mkdirSync(SHOTS, { recursive: true });

export async function screenshot(page: Page, name: string): Promise<void> {
  const bytes = await page.screenshot({ path: join(SHOTS, `${name}.png`), animations: "disabled", caret: "hide" });
  expect(bytes.length).toBeGreaterThan(5_000);
}
