// Another user's connection id or conversation id is NotFound on every assistant RPC, and nothing
// reaches the provider for it.
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, expect, it } from "vitest";
import { assistantUser, createShop, startAssistantServer, type AssistantUser, type Shop } from "../../support/assistant.js";
import { errorInfoOf } from "../../support/auth.js";

let ctx: Awaited<ReturnType<typeof startAssistantServer>>;
let owner: AssistantUser;
let other: AssistantUser;
let shop: Shop;
let conversationId = "";

beforeAll(async () => {
  ctx = await startAssistantServer("openai", { reply: () => ({ text: "```sql\nSELECT id FROM orders\n```" }) });
  owner = await assistantUser(ctx.server, "owner");
  other = await assistantUser(ctx.server, "other");
  shop = await createShop("sqlite", ctx.server, owner);
  for await (const m of owner.ai.chat({ connectionId: shop.connectionId, message: "orders please" })) if (m.event.case === "started") conversationId = m.event.value.conversationId;
}, 60_000);
afterAll(async () => {
  await shop?.close();
  await ctx?.server.stop();
  await ctx?.standIn.close();
});

const drain = async (it: AsyncIterable<unknown>) => {
  for await (const _ of it) void _;
};
const outcome = (p: Promise<unknown>) =>
  p.then(
    () => ({ code: "ok" as string | Code, reason: "", field: "" }),
    (e: unknown) => ({ code: ConnectError.from(e).code, reason: errorInfoOf(e)?.reason ?? "", field: errorInfoOf(e)?.field ?? "" }),
  );

it("every RPC with another user's connection answers NotFound CONNECTION_NOT_FOUND, and the provider hears nothing", async () => {
  const connectionId = shop.connectionId;
  const before = ctx.standIn.calls().length;
  const attempts: [string, Promise<unknown>][] = [
    ["GenerateSql", other.ai.generateSql({ connectionId, prompt: "orders" })],
    ["FixSql", other.ai.fixSql({ connectionId, sql: "SELECT * FROM orderz", error: "no such table" })],
    ["ExplainSql", other.ai.explainSql({ connectionId, sql: "SELECT * FROM orders" })],
    ["OptimizeSql", other.ai.optimizeSql({ connectionId, sql: "SELECT * FROM orders" })],
    ["Chat", drain(other.ai.chat({ connectionId, message: "orders" }))],
  ];
  for (const [rpc, p] of attempts) expect({ rpc, ...(await outcome(p)) }).toEqual({ rpc, code: Code.NotFound, reason: "CONNECTION_NOT_FOUND", field: "connection_id" });
  expect(ctx.standIn.calls().length).toBe(before);
});

it("every RPC with another user's conversation answers NotFound CONVERSATION_NOT_FOUND; the conversation is untouched", async () => {
  const before = ctx.standIn.calls().length;
  const attempts: [string, Promise<unknown>][] = [
    ["Chat", drain(other.ai.chat({ conversationId, message: "and now?" }))],
    ["GetConversation", other.ai.getConversation({ id: conversationId })],
    ["DeleteConversation", other.ai.deleteConversation({ id: conversationId })],
  ];
  for (const [rpc, p] of attempts) expect({ rpc, ...(await outcome(p)) }).toMatchObject({ rpc, code: Code.NotFound, reason: "CONVERSATION_NOT_FOUND" });
  expect((await other.ai.listConversations({})).conversations).toEqual([]);
  expect((await other.ai.listConversations({ connectionId: shop.connectionId })).conversations).toEqual([]);
  expect(ctx.standIn.calls().length).toBe(before);
  const mine = await owner.ai.getConversation({ id: conversationId });
  expect(mine.messages).toHaveLength(2);
  expect((await owner.ai.listConversations({})).conversations.map((c) => c.id)).toEqual([conversationId]);
});

it("an id that is not a UUID is NotFound too, never an error that tells ids apart", async () => {
  for (const id of ["nope", "' OR 1=1 --", "0".repeat(400)]) {
    expect((await outcome(other.ai.getConversation({ id }))).code).toBe(Code.NotFound);
    expect((await outcome(other.ai.generateSql({ connectionId: id, prompt: "x" }))).code).toBe(Code.NotFound);
  }
});
