// Chat streams the provider's answer as it arrives and stores the exchange per user. A client that
// goes away, the RPC deadline and the server's shutdown abort the provider request through the
// SDK's AbortSignal: the stand-in sees its connection closed within 1 s. Shutdown ends the stream
// with Unavailable.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../../gen/sqlstudio/ai/v1/assistant_pb.js";
import type { SeenRequest } from "../../support/ai-provider.js";
import { assistantUser, createShop, startAssistantServer, type AssistantUser, type Shop } from "../../support/assistant.js";
import { expectRpcError, rpcCode } from "../../support/rpc.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ANSWER = "```sql\nSELECT o.id, c.full_name FROM orders o JOIN customers c ON c.id = o.customer_id\n```\nOrders with their customers.";
const LONG = `Let me think about your orders. ${"Still writing the answer. ".repeat(40)}`;

/** Waits until the stand-in saw the connection of `r` close; returns when (performance.now()). */
async function closed(r: SeenRequest, withinMs = 3_000): Promise<number> {
  const until = performance.now() + withinMs;
  while (r.closedAt === undefined && performance.now() < until) await sleep(5);
  expect(r.closedAt, "the provider's connection was closed").toBeDefined();
  return r.closedAt!;
}

describe.each(["openai", "anthropic"] as const)("%s", (kind) => {
  let ctx: Awaited<ReturnType<typeof startAssistantServer>>;
  let u: AssistantUser;
  let shop: Shop;
  beforeAll(async () => {
    ctx = await startAssistantServer(kind, { reply: () => ({ text: ANSWER, pieces: 6 }) });
    u = await assistantUser(ctx.server, `chat${kind}`);
    shop = await createShop("sqlite", ctx.server, u);
  }, 60_000);
  afterAll(async () => {
    await shop?.close();
    await ctx?.server.stop();
    await ctx?.standIn.close();
  });

  it("a conversation: streamed answers, the history sent with the next message, List, Get and Delete", async () => {
    ctx.standIn.setReply(() => ({ text: ANSWER, pieces: 6 }));
    const first: string[] = [];
    let conversationId = "";
    for await (const m of u.ai.chat({ connectionId: shop.connectionId, message: "orders with their customers" })) {
      if (m.event.case === "started") conversationId = m.event.value.conversationId;
      if (m.event.case === "delta") first.push(m.event.value.text);
    }
    expect(first.join("")).toBe(ANSWER);

    const before = ctx.standIn.calls().length;
    let done;
    for await (const m of u.ai.chat({ conversationId, message: "now only the paid ones" })) if (m.event.case === "done") done = m.event.value;
    const call = ctx.standIn.calls()[before];
    const sent = (call.body.messages as { role: string; content: string }[]).filter((m) => m.role !== "system");
    expect(sent.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(sent[0].content).toContain("orders with their customers");
    expect(sent[1].content).toBe(ANSWER);
    expect(sent[2].content).toContain("now only the paid ones");
    // The tables of the SQL so far stay in the context of the follow-up.
    expect(call.raw).toContain("CREATE TABLE customers");
    expect(done?.message?.sql[0]?.validation?.ok).toBe(true);
    expect(done?.message?.sql[0]?.tablesUsed).toEqual(["orders", "customers"]);

    let other = "";
    for await (const m of u.ai.chat({ connectionId: shop.connectionId, message: "another topic" })) if (m.event.case === "started") other = m.event.value.conversationId;
    const page1 = await u.ai.listConversations({ pageSize: 1 });
    expect(page1.conversations.map((c) => c.id)).toEqual([other]);
    const page2 = await u.ai.listConversations({ pageSize: 1, pageToken: page1.nextPageToken });
    expect(page2.conversations.map((c) => c.id)).toEqual([conversationId]);
    expect(page2.conversations[0]).toMatchObject({ title: "orders with their customers", connectionId: shop.connectionId, messageCount: 4 });

    const got = await u.ai.getConversation({ id: conversationId });
    expect(got.messages.map((m) => m.role)).toEqual([Role.USER, Role.ASSISTANT, Role.USER, Role.ASSISTANT]);
    expect(got.messages[1].sql[0].sql).toContain("SELECT o.id");
    expect(got.messages[1].usage?.outputTokens).toBeGreaterThan(0n);

    await u.ai.deleteConversation({ id: conversationId });
    await expectRpcError(u.ai.getConversation({ id: conversationId }), Code.NotFound, "CONVERSATION_NOT_FOUND");
  });

  it("a client that goes away mid-stream: the provider's connection is closed within 1 s; the question stays, no answer is stored", async () => {
    ctx.standIn.setReply(() => ({ text: LONG, pieces: 50, hang: true }));
    const before = ctx.standIn.calls().length;
    const abort = new AbortController();
    let conversationId = "";
    let abortedAt = 0;
    const result = rpcCode(
      (async () => {
        for await (const m of u.ai.chat({ connectionId: shop.connectionId, message: "tell me about orders" }, { signal: abort.signal })) {
          if (m.event.case === "started") conversationId = m.event.value.conversationId;
          if (m.event.case === "delta") {
            abortedAt = performance.now();
            abort.abort();
          }
        }
      })(),
    );
    expect(await result).toBe(Code.Canceled);
    const call = ctx.standIn.calls()[before];
    const at = await closed(call);
    expect(call.completed).toBe(false);
    console.log(`${kind}: provider connection closed ${(at - abortedAt).toFixed(0)} ms after the client aborted`);
    expect(at - abortedAt).toBeLessThan(1_000);
    // The handler finished: the question is stored, the cut answer is not.
    for (let i = 0; i < 50 && (await u.ai.getConversation({ id: conversationId })).messages.length !== 1; i++) await sleep(20);
    expect((await u.ai.getConversation({ id: conversationId })).messages.map((m) => m.role)).toEqual([Role.USER]);
  });

  it("the RPC deadline: DeadlineExceeded, and the provider's connection is closed within 1 s of it", async () => {
    ctx.standIn.setReply(() => ({ text: LONG, pieces: 50, hang: true }));
    const before = ctx.standIn.calls().length;
    const t0 = performance.now();
    const code = await rpcCode(
      (async () => {
        for await (const _ of u.ai.chat({ connectionId: shop.connectionId, message: "tell me about orders" }, { timeoutMs: 1_500 })) void _;
      })(),
    );
    expect(code).toBe(Code.DeadlineExceeded);
    const at = await closed(ctx.standIn.calls()[before]);
    expect(at - (t0 + 1_500)).toBeLessThan(1_000);
  });
});

it("shutdown ends a Chat stream with Unavailable and closes the provider's connection", async () => {
  const ctx = await startAssistantServer("openai", { env: { SHUTDOWN_TIMEOUT_MS: "1500" }, reply: () => ({ text: LONG, pieces: 50, hang: true }) });
  try {
    const u = await assistantUser(ctx.server, "chatdown");
    const shop = await createShop("sqlite", ctx.server, u);
    let stopping: Promise<void> | undefined;
    const code = await rpcCode(
      (async () => {
        for await (const m of u.ai.chat({ connectionId: shop.connectionId, message: "tell me about orders" })) {
          if (m.event.case === "delta") stopping ??= ctx.server.shutdown("test");
        }
      })(),
    );
    expect(code).toBe(Code.Unavailable);
    const call = ctx.standIn.calls()[0];
    await closed(call);
    expect(call.completed).toBe(false);
    await stopping;
    await shop.close();
  } finally {
    await ctx.server.stop();
    await ctx.standIn.close();
  }
}, 30_000);
