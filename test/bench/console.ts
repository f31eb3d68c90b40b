/**
 * The web console's rows, from the ExecuteQuery stream to rows available in the grid, in Debian's
 * Chromium (issue 12): the engine bench's 5-column PostgreSQL query of 1,000,000 rows run through
 * the console itself (the editor's Ctrl-Enter, the query worker with connect-web and the fast
 * decoder, the grid), against the engine bench's bare client (node:http, frames but does not decode:
 * the server's own pace) reading the same rows from the same server, before and after, in the same
 * run. Measured in the page: from the key press to the grid's row count reaching 1,000,000; the time
 * to the first rows in the grid; and every main-thread long task (PerformanceObserver 'longtask')
 * while the rows stream. Targets: ratio ≥ 0.5, first rows < 300 ms, no long task > 50 ms.
 *
 *   BENCH_CONSOLE_ROWS=1000000   BENCH_CONSOLE_ROUNDS=2
 * Run: npm run bench -- --only console
 */
import { chromium, type Page } from "playwright-core";
import { authEnv, registerAndLogin } from "../support/auth.js";
import { startPostgres } from "../support/databases.js";
import { clientsFor, specFor } from "../support/engine.js";
import { startResendStandIn } from "../support/resend.js";
import { spawnServer } from "../support/server.js";
import { LOAD_RATE_LIMITS } from "../support/rate-limits.js";
import { CHROMIUM, chromiumMissing } from "../support/console.js";
import { connectRawRun, pgSql } from "./engine.js";

type Log = (line: string) => void;

const f0 = (x: number) => Math.round(x).toLocaleString("en-US");
const f2 = (x: number) => x.toFixed(2);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

interface ConsoleRun {
  ms: number;
  firstRowsMs: number;
  longTasks: number[];
}

/**
 * Arms observers in the page (long tasks; the grid's row count), presses Ctrl-Enter, and waits until
 * the grid counts `n` rows. Everything is timed by the page's own clock.
 */
async function consoleRun(page: Page, n: number): Promise<ConsoleRun> {
  await page.evaluate((rows) => {
    type Bench = { rows: number; t0: number; emptied: boolean; first: number; done: number; tasks: { start: number; duration: number }[] };
    const w = window as unknown as { bench: Bench; benchInstalled?: boolean };
    w.bench = { rows, t0: 0, emptied: false, first: 0, done: 0, tasks: [] };
    if (w.benchInstalled) return;
    w.benchInstalled = true;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.bench.tasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: "longtask" });
    document.addEventListener("keydown", (e) => e.key === "Enter" && e.ctrlKey && !w.bench.t0 && (w.bench.t0 = performance.now()), { capture: true });
    // The previous run's grid goes first (the new run has no rows yet); then the new grid counts up.
    new MutationObserver(() => {
      const b = w.bench;
      if (!b.t0 || b.done) return;
      const grid = document.querySelector('[role="grid"]');
      const count = grid ? Number(grid.getAttribute("aria-rowcount")) - 1 : 0;
      if (!b.emptied) b.emptied = count === 0;
      else {
        if (count > 0 && !b.first) b.first = performance.now();
        if (count >= b.rows) b.done = performance.now();
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["aria-rowcount"] });
  }, n);
  await page.locator(".cm-content").click();
  await page.keyboard.press("Control+Enter");
  await page.waitForFunction(() => (window as unknown as { bench: { done: number } }).bench.done > 0, undefined, { timeout: 600_000, polling: 200 });
  const b = await page.evaluate(() => (window as unknown as { bench: { t0: number; first: number; done: number; tasks: { start: number; duration: number }[] } }).bench);
  return { ms: b.done - b.t0, firstRowsMs: b.first - b.t0, longTasks: b.tasks.filter((t) => t.start >= b.t0 && t.start <= b.done).map((t) => t.duration) };
}

export async function consoleBench(log: Log = () => {}): Promise<string> {
  if (chromiumMissing) return `Skipped: ${chromiumMissing}.\n`;
  const n = Number(process.env.BENCH_CONSOLE_ROWS ?? 1_000_000);
  const rounds = Number(process.env.BENCH_CONSOLE_ROUNDS ?? 2);
  const started = performance.now();
  const resend = await startResendStandIn();
  const pg = await startPostgres();
  const server = await spawnServer({ env: authEnv({ ...resend.env, ...LOAD_RATE_LIMITS, ENGINE_DEFAULT_TIMEOUT_MS: "900000" }) });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP localhost 127.0.0.1"],
  });
  try {
    const u = await registerAndLogin(server, "consolebench");
    const token = u.session.accessToken;
    const c = clientsFor(server.url, token, "connect-binary");
    const connectionId = (await c.connections.createConnection({ spec: specFor(pg, { name: "bench" }) })).connection!.id;
    const sql = pgSql(n);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const url = server.url.replace("127.0.0.1", "localhost");
    await page.goto(`${url}/sign-in`);
    await page.getByLabel("Username or email").fill(u.user.username);
    await page.getByLabel("Password").fill(u.user.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("link", { name: "Workspace" }).waitFor();
    await page.goto(`${url}/?connection=${connectionId}`);
    await page.getByLabel("Limit").selectOption(String(n));
    await page.locator(".cm-content").click();
    await page.keyboard.insertText(sql);

    const bare = async () => {
      const t0 = performance.now();
      const rows = await connectRawRun(server.url, token, connectionId, sql, n);
      if (rows !== n) throw new Error(`bare client: ${rows} rows`);
      return n / ((performance.now() - t0) / 1000);
    };
    log("console: warm-up (a run of each path)");
    await connectRawRun(server.url, token, connectionId, sql, n);
    await consoleRun(page, n);

    const rows: { bare: number[]; console: ConsoleRun[] } = { bare: [], console: [] };
    for (let round = 0; round < rounds; round++) {
      const before = await bare();
      const run = await consoleRun(page, n);
      const after = await bare();
      rows.bare.push(before, after);
      rows.console.push(run);
      log(`console: round ${round + 1}/${rounds}: bare ${f0(before)} / ${f0(after)} rows/s, console ${f0(n / (run.ms / 1000))} rows/s, first rows ${f0(run.firstRowsMs)} ms, longest task ${f0(Math.max(0, ...run.longTasks))} ms`);
    }
    const ratios = rows.console.map((r, i) => n / (r.ms / 1000) / ((rows.bare[2 * i] + rows.bare[2 * i + 1]) / 2));
    const consoleRate = median(rows.console.map((r) => n / (r.ms / 1000)));
    const first = median(rows.console.map((r) => r.firstRowsMs));
    const longest = Math.max(0, ...rows.console.flatMap((r) => r.longTasks));
    const tasks = rows.console.reduce((a, r) => a + r.longTasks.length, 0);
    const seconds = (performance.now() - started) / 1000;
    return [
      `${f0(n)} rows of the engine bench's PostgreSQL query (\`${pgSql(n)}\`), ${rounds} rounds; in each, the bare client reads the rows before and after the console. The whole section took ${seconds.toFixed(0)} s.`,
      "",
      "| path | rows/s | ratio vs the bare client | target |",
      "|---|---:|---:|---|",
      `| bare \`node:http\` client, Connect binary, frames but does not decode (the server's own pace) — **reference** | ${f0(median(rows.bare))} | 1.00 | |`,
      `| the console in Chromium: Ctrl-Enter → query worker (connect-web, \`src/client/rows.ts\`) → rows available in the grid | ${f0(consoleRate)} | **${f2(median(ratios))}** [${f2(Math.min(...ratios))}–${f2(Math.max(...ratios))}] | ≥ 0.5 |`,
      "",
      "| measure (in the page, median of the rounds) | value | target |",
      "|---|---:|---|",
      `| time from Ctrl-Enter to the first rows in the grid | **${f0(first)} ms** | < 300 ms |`,
      `| main-thread long tasks while the rows stream (all rounds) | ${tasks}, the longest **${f0(longest)} ms** | none > 50 ms |`,
      "",
    ].join("\n");
  } finally {
    await browser.close();
    await server.stop();
    await pg.stop();
    await resend.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  consoleBench((line) => process.stderr.write(`${line}\n`)).then(
    (md) => {
      process.stdout.write(md + "\n");
      process.exit(0);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
