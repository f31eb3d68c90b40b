/**
 * The web console's whole journey in Debian's Chromium (issue 12, "Done when"): sign up and verify
 * with the link from the emailed message, add a real PostgreSQL connection, stream a query into the
 * grid, cancel pg_sleep(30) (gone from pg_stat_activity within 1 s), edit a table row that changed
 * meanwhile (Aborted, both versions shown), edit a saved query offline on two browser contexts and
 * resolve the conflict (gone on the other console within 1 s), revoke the other context's session
 * (it is signed out). Every step runs under the console's strict CSP: a violation fails the file.
 */
import { readFileSync } from "node:fs";
import pg from "pg";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { tokenFromEmail } from "../support/resend.js";
import { chromiumMissing, newAccount, signIn, startConsole, type Account, type ConsoleEnv } from "../support/console.js";

const skip = chromiumMissing ? ` (skipped: ${chromiumMissing})` : "";

describe.skipIf(!!chromiumMissing)(`the web console, end to end${skip}`, () => {
  let env: ConsoleEnv;
  let a: { context: BrowserContext; page: Page };
  let account: Account;
  let db: pg.Client;

  beforeAll(async () => {
    env = await startConsole();
    a = await env.newPage();
    account = newAccount("journey");
    db = new pg.Client({ host: env.pg.host, port: env.pg.port, user: env.pg.user, password: env.pg.password, database: env.pg.database });
    await db.connect();
    await db.query("DROP TABLE IF EXISTS items; CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2))");
    await db.query("INSERT INTO items VALUES (1, 'apple', 1.25), (2, 'pear', 2.50), (3, 'plum', 0.75)");
  }, 180_000);
  // Every step runs under the console's CSP: a violation (or an uncaught error) fails the step that caused it.
  afterEach(() => {
    const seen = env.violations.splice(0);
    expect(seen, seen.join("\n")).toEqual([]);
  });
  afterAll(async () => {
    await db?.end();
    await env?.stop();
  });

  it("signs up, and the link in the verification email opens the console on PUBLIC_URL and verifies", async () => {
    const { page } = a;
    await page.goto(`${env.url}/`);
    await page.getByRole("link", { name: "Create an account" }).click();
    await page.getByLabel("Email").fill(account.email);
    await page.getByLabel("Username").fill(account.username);
    await page.getByLabel("Password").fill(account.password);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByText("Verify your email").waitFor();

    const email = await env.server.resend.waitForEmail(account.email, { subject: /verify/i });
    const link = /https?:\/\/\S+\/verify-email\?token=\S+/.exec(email.text)![0];
    expect(link.startsWith(`${env.url}/verify-email?token=`)).toBe(true);
    expect(tokenFromEmail(email, env.url, "verify-email")).toBeTruthy();
    await page.goto(link);
    await page.getByText("Your email address is verified.").waitFor();
    // The token left the address bar; the signed-in console took a token that says verified.
    expect(new URL(page.url()).search).toBe("");
    await page.getByRole("link", { name: "Continue to SQL Studio" }).click();
    await page.getByRole("link", { name: "Workspace" }).waitFor();
    expect(await page.getByText("Verify your email").count()).toBe(0);
    // The refresh token is a cookie page scripts cannot read.
    expect(await page.evaluate(() => document.cookie)).not.toContain("sqlstudio_refresh");
    const cookies = await a.context.cookies();
    expect(cookies.find((c) => c.name === "sqlstudio_refresh")).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict" });
  });

  it("stays signed in across a reload (the access token is in memory; the cookie refreshes it)", async () => {
    await a.page.reload();
    await a.page.getByRole("link", { name: "Workspace" }).waitFor();
    expect(await a.page.evaluate(() => JSON.stringify(localStorage))).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
  });

  it("adds a PostgreSQL connection after testing it", async () => {
    const { page } = a;
    await page.getByRole("link", { name: "Connections" }).click();
    await page.getByRole("button", { name: "Add your first connection" }).click();
    await page.getByLabel("Name").fill("Local PostgreSQL");
    await page.getByLabel("Host").fill(env.pg.host);
    await page.getByLabel("Port").fill(String(env.pg.port));
    await page.getByLabel("Database").fill(env.pg.database);
    await page.getByLabel("User").fill(env.pg.user);
    await page.getByLabel("Password").fill(env.pg.password);
    await page.getByLabel("TLS").selectOption({ label: "Disable" });
    await page.getByRole("button", { name: "Test connection" }).click();
    await page.getByText(/Connected in \d+ ms/).waitFor();
    await page.getByRole("button", { name: "Create connection" }).click();
    await page.locator('[data-connection="Local PostgreSQL"]').waitFor();
  });

  it("streams a query into the grid, and the grid scrolls to its last row", async () => {
    const { page } = a;
    await page.locator('[data-connection="Local PostgreSQL"]').getByRole("button", { name: "Open" }).click();
    await page.getByLabel("Limit").selectOption("1000000");
    await page.locator(".cm-content").click();
    await page.keyboard.insertText("SELECT g AS n, md5(g::text) AS hash, g::numeric / 7 AS ratio FROM generate_series(1, 200000) g");
    await page.keyboard.press("Control+Enter");
    await page.locator(".result-summary").getByText("200,000 rows ·").waitFor({ timeout: 60_000 });
    const grid = page.getByRole("grid", { name: "Result of statement 1" });
    expect(await grid.getAttribute("aria-rowcount")).toBe("200001");
    await grid.locator(".grid-cell").first().click();
    await page.keyboard.press("Control+End");
    await grid.getByRole("gridcell", { name: "200000", exact: true }).waitFor();
    // The selected cell in full, exact: 200000 / 7 as PostgreSQL's numeric prints it.
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    const exact = (await db.query("SELECT (200000::numeric / 7)::text AS t")).rows[0].t as string;
    await page.getByLabel("Selected cell").getByText(exact, { exact: true }).waitFor();
  });

  it("downloads a result as CSV and NDJSON, exactly, and keeps the query tabs across a reload", async () => {
    const { page } = a;
    await page.getByRole("button", { name: "New query tab" }).click();
    await page.locator(".cm-content").click();
    await page.keyboard.insertText("SELECT 1 AS a, 'x,y' AS b, NULL::int AS c, 9223372036854775807::int8 AS big, '{\"n\": 12345678901234567890}'::jsonb AS j");
    await page.keyboard.press("Control+Enter");
    await page.locator(".result-summary").getByText("1 row ·").waitFor();
    const download = async (name: string) => {
      const [file] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name }).click()]);
      return readFileSync((await file.path())!, "utf8");
    };
    expect(await download("Download CSV")).toBe('a,b,c,big,j\r\n1,"x,y",,9223372036854775807,"{""n"": 12345678901234567890}"\r\n');
    expect(await download("Download NDJSON")).toBe('{"a":1,"b":"x,y","c":null,"big":"9223372036854775807","j":{"n": 12345678901234567890}}\n');
    await page.reload();
    await page.getByRole("button", { name: "Query 2", exact: true }).waitFor();
    // The editor shows a tab's SQL once the page has rendered it: polled, not read at the click.
    await expect.poll(() => page.locator(".cm-content").textContent()).toContain("9223372036854775807::int8");
    await page.getByRole("button", { name: "Query 1", exact: true }).click();
    await expect.poll(() => page.locator(".cm-content").textContent()).toContain("generate_series(1, 200000)");
  });

  it("cancels SELECT pg_sleep(30): the statement is gone from pg_stat_activity within 1 s", async () => {
    const { page } = a;
    await page.locator(".cm-content").click();
    await page.keyboard.press("Control+a");
    // Deleted first: Chrome's own editing, replacing a selection in a contenteditable, tries a style attribute the CSP refuses.
    await page.keyboard.press("Backspace");
    await page.keyboard.insertText("SELECT pg_sleep(30) AS slept");
    await page.keyboard.press("Control+Enter");
    const running = async () => (await db.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%' AND state = 'active'")).rows[0].n as number;
    for (let i = 0; i < 100 && (await running()) === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await running()).toBe(1);
    await page.getByRole("button", { name: "Cancel", exact: true }).click();
    const clicked = Date.now();
    while ((await running()) > 0 && Date.now() - clicked < 5_000) await new Promise((r) => setTimeout(r, 25));
    const gone = Date.now() - clicked;
    expect(await running()).toBe(0);
    expect(gone).toBeLessThan(1_000);
    await page.getByText(/^Cancelled after/).waitFor();
  });

  it("edits a row that changed meanwhile: Aborted shows both versions, then applies the edit on the current row", async () => {
    const { page } = a;
    await page.goto(`${env.url}/`);
    await page.getByRole("link", { name: "items", exact: true }).click();
    await page.getByRole("table", { name: "Rows of items" }).waitFor();
    const cell = page.getByRole("table", { name: "Rows of items" }).getByRole("cell", { name: "apple", exact: true });
    await cell.dblclick();
    await page.getByLabel("New value for name").fill("green apple");
    // Someone else changes the row before the edit is saved.
    await db.query("UPDATE items SET price = 9.99 WHERE id = 1");
    await page.getByLabel("New value for name").press("Enter");
    const panel = page.locator(".row-conflict");
    await panel.getByText("This row changed in the database since you read it.").waitFor();
    const row = (name: string) => panel.getByRole("row").filter({ has: page.getByRole("rowheader", { name, exact: true }) });
    await expect(row("price").getByRole("cell").allTextContents()).resolves.toEqual(["1.25", "1.25", "9.99 (changed)"]);
    await expect(row("name").getByRole("cell").allTextContents()).resolves.toEqual(["apple", "green apple", "apple"]);
    expect((await db.query("SELECT name FROM items WHERE id = 1")).rows[0].name).toBe("apple");
    await panel.getByRole("button", { name: "Apply my change to the current row" }).click();
    await page.getByRole("table", { name: "Rows of items" }).getByRole("cell", { name: "green apple", exact: true }).waitFor();
    expect((await db.query("SELECT name, price::text FROM items WHERE id = 1")).rows[0]).toEqual({ name: "green apple", price: "9.99" });
  });

  it("inserts a row with typed values and deletes it by its key", async () => {
    const { page } = a;
    await page.getByRole("button", { name: "Add row" }).click();
    await page.getByLabel("id (integer)").fill("4");
    await page.getByLabel("name (text)").fill("kiwi");
    await page.getByLabel("price (numeric(10,2))").fill("abc");
    await page.getByRole("button", { name: "Insert" }).click();
    await page.getByText("Expected a decimal number, e.g. 12.50.").waitFor();
    await page.getByLabel("price (numeric(10,2))").fill("3.10");
    await page.getByRole("button", { name: "Insert" }).click();
    const table = page.getByRole("table", { name: "Rows of items" });
    await table.getByRole("cell", { name: "kiwi", exact: true }).waitFor();
    expect((await db.query("SELECT name, price::text FROM items WHERE id = 4")).rows).toEqual([{ name: "kiwi", price: "3.10" }]);
    page.once("dialog", (d) => void d.accept());
    await page.getByLabel("Select row 4").check();
    await page.getByRole("button", { name: /^Delete selected/ }).click();
    await page.getByText("Deleted.").waitFor();
    expect((await db.query("SELECT count(*)::int AS n FROM items WHERE id = 4")).rows[0].n).toBe(0);
  });

  describe("two browser contexts of the same user", () => {
    let b: { context: BrowserContext; page: Page };

    beforeAll(async () => {
      b = await env.newPage();
      await signIn(b.page, env.url, account);
    });

    it("a saved query edited offline on both is a conflict, resolved in the conflict view; it disappears on the other console within 1 s", async () => {
      // A saves a query; B receives it through the realtime poke and a pull.
      await a.page.goto(`${env.url}/library/new`);
      await a.page.getByLabel("Title").fill("Monthly report");
      await a.page.getByLabel("SQL").fill("SELECT * FROM items");
      await a.page.getByRole("button", { name: "Save", exact: true }).click();
      await a.page.getByText("In sync").waitFor();
      await b.page.goto(`${env.url}/library`);
      await b.page.locator('[data-saved="Monthly report"]').waitFor();

      // Both go offline and edit it differently.
      await a.context.setOffline(true);
      await b.context.setOffline(true);
      for (const [side, sql] of [
        [a, "SELECT * FROM items ORDER BY id"],
        [b, "SELECT * FROM items WHERE price > 1"],
      ] as const) {
        await side.page.locator('[data-saved="Monthly report"]').getByRole("button", { name: "Edit Monthly report" }).click();
        await side.page.getByLabel("SQL").fill(sql);
        await side.page.getByRole("button", { name: "Save", exact: true }).click();
        await side.page.getByRole("status").filter({ hasText: "Offline" }).waitFor();
        await side.page.locator('[data-saved="Monthly report"]').getByText("not synced yet").waitFor();
      }

      // A comes back first and wins; B's push is then a conflict kept on the server.
      await a.context.setOffline(false);
      await a.page.getByText("In sync").waitFor();
      await b.context.setOffline(false);
      await b.page.getByRole("link", { name: /Conflicts/ }).click();
      await b.page.locator('[data-conflict="Monthly report"]').getByRole("link", { name: "Resolve" }).click({ timeout: 20_000 });
      await a.page.goto(`${env.url}/conflicts`);
      await a.page.locator('[data-conflict="Monthly report"]').waitFor();

      // Both versions side by side, the differing field marked.
      const view = b.page;
      await view.getByRole("heading", { name: "Conflict: Monthly report" }).waitFor();
      await view.getByLabel("SQL, server's version").getByText("ORDER BY id").waitFor();
      await view.getByLabel("SQL, pushed version").getByText("WHERE price > 1").waitFor();
      expect(await view.locator(".cm-changedText").count()).toBeGreaterThan(0);

      // Edit a merge: B's SQL with A's ORDER BY.
      await view.getByRole("button", { name: "Edit a merge" }).click();
      const merge = view.getByLabel("SQL, your merge (editable)");
      await merge.click();
      await view.keyboard.press("Control+End");
      await view.keyboard.insertText(" ORDER BY id");
      const resolved = view.waitForResponse((r) => r.url().endsWith("/sqlstudio.sync.v1.SyncService/ResolveConflict") && r.status() === 200);
      await view.getByRole("button", { name: "Save the merge" }).click();
      await resolved;
      const resolvedAt = Date.now();
      await a.page.getByText("No conflicts.").waitFor({ timeout: 5_000 });
      expect(Date.now() - resolvedAt).toBeLessThan(1_000);
      await view.getByText("No conflicts.").waitFor();

      // Both consoles now hold the merged SQL.
      for (const side of [a, b]) {
        await side.page.goto(`${env.url}/library`);
        await side.page.locator('[data-saved="Monthly report"]').getByText("SELECT * FROM items WHERE price > 1 ORDER BY id").waitFor();
      }
    });

    it("revoking B's session from A's devices page signs B out", async () => {
      await a.page.goto(`${env.url}/account/devices`);
      const others = a.page.getByRole("button", { name: /^Revoke/ });
      await others.first().waitFor();
      expect(await others.count()).toBe(1);
      await others.first().click();
      await b.page.getByText("This session was signed out from another device.").waitFor({ timeout: 10_000 });
      expect(new URL(b.page.url()).pathname).toBe("/sign-in");
      // A stays signed in.
      await a.page.reload();
      await a.page.getByRole("heading", { name: "Devices" }).waitFor();
    });
  });
});
