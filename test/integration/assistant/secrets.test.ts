// The provider key and every connection password stay out of responses, logs and the app database
// file (and the passwords out of the provider's requests), across every assistant RPC on
// PostgreSQL, MariaDB and SQLite, a provider that echoes the key in its 401, and sample rows.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { STAND_IN_KEY } from "../../support/ai-provider.js";
import { assistantUser, createShop, startAssistantServer, type AssistantUser, type Shop } from "../../support/assistant.js";
import { startMariadb, startPostgres } from "../../support/databases.js";

const postgres = await startPostgres();
const mariadb = await startMariadb();
const mariadbMissing = "unavailable" in mariadb ? mariadb.unavailable : undefined;

let ctx: Awaited<ReturnType<typeof startAssistantServer>>;
let u: AssistantUser;
const shops: Shop[] = [];
const responses: string[] = [];
const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? String(x) : x instanceof Uint8Array ? Buffer.from(x).toString("latin1") : x));

beforeAll(async () => {
  ctx = await startAssistantServer("openai", { reply: () => ({ text: "```sql\nSELECT id FROM orders\n```\nAll orders." }) });
  u = await assistantUser(ctx.server, "secret");
  shops.push(await createShop("sqlite", ctx.server, u));
  shops.push(await createShop("postgresql", ctx.server, u, { db: await postgres.createDatabase(`ai_secret_${process.pid}`) }));
  if (!mariadbMissing) {
    shops.push(await createShop("mariadb", ctx.server, u, { db: await (mariadb as Exclude<typeof mariadb, { unavailable: string }>).createDatabase(`ai_secret_${process.pid}`) }));
  }
}, 90_000);
afterAll(async () => {
  for (const s of shops) await s.close();
  await ctx?.server.stop();
  await ctx?.standIn.close();
});

it(`the key and the connection passwords are in no response, no log line, no provider request and not in the database file${mariadbMissing ? ` (MariaDB skipped: ${mariadbMissing})` : ""}`, async () => {
  const secrets = [STAND_IN_KEY, ...shops.map((s) => s.password).filter((p) => p !== "")];
  expect(secrets.length).toBeGreaterThanOrEqual(2);
  for (const shop of shops) {
    const connectionId = shop.connectionId;
    responses.push(json(await u.ai.generateSql({ connectionId, prompt: "all orders", includeSampleRows: true })));
    responses.push(json(await u.ai.fixSql({ connectionId, sql: "SELECT id FROM orderz", error: "no such table: orderz" })));
    responses.push(json(await u.ai.explainSql({ connectionId, sql: "SELECT id FROM orders" })));
    responses.push(json(await u.ai.optimizeSql({ connectionId, sql: "SELECT id FROM orders" })));
    let conversationId = "";
    for await (const m of u.ai.chat({ connectionId, message: "all orders", includeSampleRows: true })) {
      responses.push(json(m));
      if (m.event.case === "started") conversationId = m.event.value.conversationId;
    }
    responses.push(json(await u.ai.getConversation({ id: conversationId })));
  }
  responses.push(json(await u.ai.listConversations({})));
  responses.push(json(await u.ai.getStatus({ checkProvider: true })));
  // A provider that echoes the key in its error.
  ctx.standIn.setReply(() => ({ status: 401, message: `Incorrect API key provided: ${STAND_IN_KEY}` }));
  const rejected = await u.ai.generateSql({ connectionId: shops[0].connectionId, prompt: "x" }).catch((e: unknown) => e);
  responses.push(json({ message: (rejected as Error).message, details: (rejected as { details?: unknown }).details }));
  expect(responses.length).toBeGreaterThan(10);

  const logs = json(ctx.server.logs);
  const sentToProvider = ctx.standIn.calls().map((c) => c.raw).join("\n");
  const files = readdirSync(ctx.server.dir).filter((f) => f.startsWith("app.db"));
  expect(files).toContain("app.db");
  const dbBytes = files.map((f) => readFileSync(join(ctx.server.dir, f)).toString("latin1")).join("\n");
  for (const secret of secrets) {
    for (const r of responses) expect(r).not.toContain(secret);
    expect(logs).not.toContain(secret);
    expect(dbBytes).not.toContain(secret);
    if (secret !== STAND_IN_KEY) expect(sentToProvider).not.toContain(secret);
  }
  // The scan reads what it should: the conversations are in the file.
  expect(dbBytes).toContain("All orders.");
});
