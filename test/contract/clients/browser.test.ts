/**
 * @connectrpc/connect-web inside headless Chromium (Debian's chromium, driven by playwright-core):
 * a page served from its own origin calls the API cross-origin over Connect (JSON, binary, GET)
 * and gRPC-Web, so CORS (preflight, exposed headers) is part of what is tested. A page from an
 * origin that is not configured must be refused by the browser.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserJob, BrowserOutcome, BrowserResult } from "../../support/clients/browser-entry.js";
import {
  base64Decode,
  Code,
  expectOutcome,
  expectRpcLogged,
  pathOf,
  STREAM_CASES,
  UNARY_CASES,
  type Outcome,
} from "../../support/clients/expect.js";
import { ROOT, startTestServer, type TestServer } from "../../support/server.js";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP not-allowed.test 127.0.0.1"];
const missing = !existsSync(CHROMIUM);

const toOutcome = (o: BrowserOutcome): Outcome =>
  o.ok ? o : { ok: false, code: o.code as Code, message: o.message, details: o.details.map((d) => ({ type: d.type, value: base64Decode(d.value) })) };

/** Runs the bundled `runContract` in the page (JSON both ways keeps the types shallow). */
async function runIn(page: Page, job: BrowserJob): Promise<BrowserResult[]> {
  const out = await page.evaluate(
    (j: string) => (globalThis as unknown as { runContract(j: unknown): Promise<unknown> }).runContract(JSON.parse(j)).then((r) => JSON.stringify(r)),
    JSON.stringify(job),
  );
  return JSON.parse(out) as BrowserResult[];
}

describe.skipIf(missing)(`connect-web in headless Chromium${missing ? ` (skipped: ${CHROMIUM} is missing; install the Debian package chromium)` : ""}`, () => {
  let server: TestServer;
  let pages: http.Server;
  let pagePort: number;
  let browser: Browser;
  let page: Page;
  let tmp: string;
  let results: BrowserResult[];
  const requests: { method: string; url: string }[] = [];
  let logStart: number;

  const job = (): BrowserJob => ({
    baseUrl: server.url,
    unary: UNARY_CASES.map((c) => ({ path: pathOf(c.method), request: c.request })),
    stream: STREAM_CASES.map((c) => ({ path: pathOf(c.method), request: c.request })),
  });

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "contract-browser-"));
    const bundling = build({
      entryPoints: [join(ROOT, "test/support/clients/browser-entry.ts")],
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "chrome120",
      outfile: join(tmp, "bundle.js"),
      logLevel: "silent",
    });
    // The page's own origin, separate from the API's: every call is cross-origin.
    pages = http.createServer((req, res) => {
      if (req.url === "/bundle.js") {
        res.writeHead(200, { "content-type": "text/javascript" }).end(readFileSync(join(tmp, "bundle.js")));
      } else if (req.url === "/") {
        res.writeHead(200, { "content-type": "text/html" }).end('<!doctype html><title>contract</title><script type="module" src="/bundle.js"></script>');
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => pages.listen(0, "127.0.0.1", r));
    pagePort = (pages.address() as AddressInfo).port;
    const launching = chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
    server = await startTestServer({ env: { CORS_ORIGINS: `http://127.0.0.1:${pagePort}` } });
    await bundling;
    browser = await launching;
    page = await browser.newPage();
    page.on("request", (r) => requests.push({ method: r.method(), url: r.url() }));
    await page.goto(`http://127.0.0.1:${pagePort}/`);
    await page.waitForFunction(() => "runContract" in globalThis);
    logStart = server.logs.length;
    results = await runIn(page, job());
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => pages?.close(r));
    await server?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const TRANSPORTS = ["Connect JSON", "Connect binary", "Connect GET", "gRPC-Web", "gRPC-Web JSON codec"];
  it("ran every transport", () => {
    expect(results.map((r) => r.transport)).toEqual(TRANSPORTS);
  });

  for (const t of TRANSPORTS) {
    describe(t, () => {
      const result = () => results.find((r) => r.transport === t)!;
      UNARY_CASES.forEach((c, i) => {
        it(c.name, () => expectOutcome(c, toOutcome(result().unary[i])));
      });
      if (t === "Connect GET") return;
      STREAM_CASES.forEach((c, i) => {
        it(`${c.name}; aborting cancels it`, () => {
          expect(result().stream[i]).toEqual({ first: c.first, afterAbort: Code.Canceled });
        });
      });
    });
  }

  it("the Connect GET transport really sent GET requests (NO_SIDE_EFFECTS)", () => {
    const gets = requests.filter((r) => r.method === "GET" && r.url.startsWith(`${server.url}${pathOf(UNARY_CASES[0].method)}?`));
    expect(gets.length).toBe(UNARY_CASES.length);
    for (const g of gets) expect(new URL(g.url).searchParams.get("connect")).toBe("v1");
  });

  it("the server saw the streams cancelled, over Connect and gRPC-Web", async () => {
    for (const protocol of ["connect", "grpc-web"]) await expectRpcLogged(server.logs, logStart, { method: STREAM_CASES[0].method.name, protocol, code: "canceled" });
  });

  it("a page from an origin that is not in CORS_ORIGINS cannot call the API", async () => {
    const other = await browser.newPage();
    const console: string[] = [];
    other.on("console", (m) => console.push(m.text()));
    try {
      // Same page server under a name that is neither configured nor loopback (development admits
      // every loopback origin, so "localhost" would be let in).
      await other.goto(`http://not-allowed.test:${pagePort}/`);
      await other.waitForFunction(() => "runContract" in globalThis);
      const since = server.logs.length;
      const [first] = await runIn(other, { ...job(), unary: job().unary.slice(0, 1), stream: [] });
      const o = first.unary[0];
      expect(o.ok).toBe(false);
      if (!o.ok) expect(o.message).toMatch(/fetch/i);
      expect(console.join("\n")).toMatch(/blocked by CORS policy/);
      // The preflight was refused, so the RPC itself never ran.
      expect(server.logs.slice(since).filter((l) => l.msg === "rpc")).toEqual([]);
    } finally {
      await other.close();
    }
  });
});
