// How the assistant answers when there is no provider, and when the provider says no: every RPC but
// GetStatus is FailedPrecondition ASSISTANT_NOT_CONFIGURED without one; a provider 429 is
// ResourceExhausted with the provider's retry-after (at once when it asks for more than 2 s); 401
// and 403 are FailedPrecondition ASSISTANT_PROVIDER_REJECTED, logged without the key; 5xx and
// timeouts are Unavailable after the SDK's retries. Both SDKs, against their stand-ins.
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Provider } from "../../../gen/sqlstudio/ai/v1/assistant_pb.js";
import { STAND_IN_KEY } from "../../support/ai-provider.js";
import { assistantUser, createShop, startAssistantServer, type AssistantUser, type Shop } from "../../support/assistant.js";
import { errorInfoOf, type AuthTestServer } from "../../support/auth.js";
import { startEngineServer } from "../../support/engine.js";

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => ({ code: "ok" as const, reason: "", retryAfterMs: 0, header: null as string | null }),
    (e: unknown) => {
      const err = ConnectError.from(e);
      const info = errorInfoOf(e);
      const ra = info?.retryAfter;
      return { code: err.code, reason: info?.reason ?? "", retryAfterMs: ra ? Number(ra.seconds) * 1000 + ra.nanos / 1e6 : 0, header: err.metadata.get("retry-after") };
    },
  );

describe("without a provider", () => {
  let server: AuthTestServer;
  let u: AssistantUser;
  beforeAll(async () => {
    server = await startEngineServer();
    u = await assistantUser(server, "noai");
  }, 60_000);
  afterAll(() => server?.stop());

  it("every RPC but GetStatus answers FailedPrecondition ASSISTANT_NOT_CONFIGURED; GetStatus says not configured", async () => {
    const id = "01890000-0000-7000-8000-000000000000";
    const calls: [string, Promise<unknown>][] = [
      ["GenerateSql", u.ai.generateSql({ connectionId: id, prompt: "x" })],
      ["FixSql", u.ai.fixSql({ connectionId: id, sql: "select 1", error: "x" })],
      ["ExplainSql", u.ai.explainSql({ sql: "select 1" })],
      ["OptimizeSql", u.ai.optimizeSql({ connectionId: id, sql: "select 1" })],
      ["Chat", (async () => { for await (const _ of u.ai.chat({ connectionId: id, message: "x" })) void _; })()],
      ["ListConversations", u.ai.listConversations({})],
      ["GetConversation", u.ai.getConversation({ id })],
      ["DeleteConversation", u.ai.deleteConversation({ id })],
    ];
    for (const [rpc, p] of calls) {
      const r = await outcome(p);
      expect({ rpc, code: r.code, reason: r.reason }).toEqual({ rpc, code: Code.FailedPrecondition, reason: "ASSISTANT_NOT_CONFIGURED" });
    }
    const s = await u.ai.getStatus({ checkProvider: true });
    expect(s).toMatchObject({ configured: false, provider: Provider.UNSPECIFIED, model: "", models: [], reachable: false });
    expect(s.limits?.contextTokens).toBe(4000);
  });
});

describe.each(["openai", "anthropic"] as const)("%s provider errors", (kind) => {
  let ctx: Awaited<ReturnType<typeof startAssistantServer>>;
  let u: AssistantUser;
  let shop: Shop;
  beforeAll(async () => {
    ctx = await startAssistantServer(kind, { env: { AI_MAX_RETRIES: "2", AI_TIMEOUT_MS: "1500", AI_MODELS: "other-model" } });
    u = await assistantUser(ctx.server, `err${kind}`);
    shop = await createShop("sqlite", ctx.server, u);
  }, 60_000);
  afterAll(async () => {
    await shop?.close();
    await ctx?.server.stop();
    await ctx?.standIn.close();
  });
  const generate = () => u.ai.generateSql({ connectionId: shop.connectionId, prompt: "orders per customer" });
  const callsDuring = async (p: () => Promise<unknown>) => {
    const before = ctx.standIn.calls().length;
    const r = await outcome(p());
    return { ...r, calls: ctx.standIn.calls().length - before };
  };

  it("429 asking for 7 s: ResourceExhausted ASSISTANT_PROVIDER_RATE_LIMITED with retry-after 7 s, answered at once (no SDK retry)", async () => {
    ctx.standIn.setReply(() => ({ status: 429, message: "rate limited", headers: { "retry-after": "7" } }));
    const r = await callsDuring(generate);
    expect(r).toMatchObject({ code: Code.ResourceExhausted, reason: "ASSISTANT_PROVIDER_RATE_LIMITED", retryAfterMs: 7_000, header: "7", calls: 1 });
  });

  it("429 asking for 100 ms: the SDK waits and retries, and the answer arrives", async () => {
    let n = 0;
    ctx.standIn.setReply(() => (n++ === 0 ? { status: 429, message: "slow down", headers: { "retry-after-ms": "100" } } : { text: "```sql\nSELECT 1\n```" }));
    const r = await callsDuring(generate);
    expect(r).toMatchObject({ code: "ok", calls: 2 });
  });

  it.each([401, 403])("%s: FailedPrecondition ASSISTANT_PROVIDER_REJECTED, logged without the key (which the provider echoed)", async (status) => {
    ctx.standIn.setReply(() => ({ status, message: `Incorrect API key provided: ${STAND_IN_KEY}` }));
    const r = await callsDuring(generate);
    expect(r).toMatchObject({ code: Code.FailedPrecondition, reason: "ASSISTANT_PROVIDER_REJECTED", calls: 1 });
    const line = ctx.server.logs.find((l) => l.msg === "the AI provider rejected the configured credentials" && l.status === status);
    expect(line).toMatchObject({ provider: kind, status });
    expect(String(line?.providerMessage)).toContain("[redacted]");
    expect(JSON.stringify(ctx.server.logs)).not.toContain(STAND_IN_KEY);
  });

  it("503 every time: Unavailable ASSISTANT_PROVIDER_UNAVAILABLE after the SDK's retries (AI_MAX_RETRIES=2: 3 requests)", async () => {
    ctx.standIn.setReply(() => ({ status: 503, message: "overloaded" }));
    const r = await callsDuring(generate);
    expect(r).toMatchObject({ code: Code.Unavailable, reason: "ASSISTANT_PROVIDER_UNAVAILABLE", calls: 3 });
  }, 20_000);

  it("a provider slower than AI_TIMEOUT_MS: Unavailable after the SDK's retries", async () => {
    ctx.standIn.setReply(() => ({ text: "```sql\nSELECT 1\n```", delayMs: 10_000 }));
    const r = await callsDuring(generate);
    expect(r).toMatchObject({ code: Code.Unavailable, reason: "ASSISTANT_PROVIDER_UNAVAILABLE", calls: 3 });
  }, 30_000);

  it("a model outside the configured list is InvalidArgument MODEL_NOT_ALLOWED; a listed one is sent", async () => {
    ctx.standIn.setReply(() => ({ text: "```sql\nSELECT 1\n```" }));
    const bad = await callsDuring(() => u.ai.generateSql({ connectionId: shop.connectionId, prompt: "x", model: "gpt-evil" }));
    expect(bad).toMatchObject({ code: Code.InvalidArgument, reason: "MODEL_NOT_ALLOWED", calls: 0 });
    const before = ctx.standIn.calls().length;
    await u.ai.generateSql({ connectionId: shop.connectionId, prompt: "x", model: "other-model" });
    expect(ctx.standIn.calls()[before].body.model).toBe("other-model");
  });

  it("GetStatus: provider, models, reachable, limits and today's usage; no key and no URL", async () => {
    ctx.standIn.setReply(() => ({ text: "```sql\nSELECT 1\n```" }));
    const s = await u.ai.getStatus({ checkProvider: true });
    expect(s).toMatchObject({ configured: true, provider: kind === "openai" ? Provider.OPENAI : Provider.ANTHROPIC, model: "test-model", models: ["test-model", "other-model"], reachable: true, unreachableReason: "" });
    expect(s.usageToday?.inputTokens).toBeGreaterThan(0n);
    const text = JSON.stringify(s, (_k, v) => (typeof v === "bigint" ? String(v) : v));
    expect(text).not.toContain(STAND_IN_KEY);
    expect(text).not.toContain("127.0.0.1");
  });

  it("metrics: requests by provider, model, RPC and code; tokens by kind; a latency histogram", async () => {
    const text = await (await fetch(`http://127.0.0.1:${ctx.server.ports.metrics}/metrics`)).text();
    expect(text).toMatch(new RegExp(`assistant_requests_total\\{provider="${kind}",model="test-model",rpc="GenerateSql",code="ok"\\} [1-9]`));
    expect(text).toMatch(new RegExp(`assistant_requests_total\\{provider="${kind}",model="test-model",rpc="GenerateSql",code="resource_exhausted"\\} [1-9]`));
    expect(text).toMatch(new RegExp(`assistant_requests_total\\{provider="${kind}",model="test-model",rpc="GenerateSql",code="unavailable"\\} [1-9]`));
    expect(text).toMatch(new RegExp(`assistant_tokens_total\\{provider="${kind}",model="test-model",kind="input"\\} [1-9]`));
    expect(text).toMatch(new RegExp(`assistant_tokens_total\\{provider="${kind}",model="test-model",kind="output"\\} [1-9]`));
    expect(text).toMatch(/assistant_request_duration_seconds_bucket\{le="0\.5",provider="[a-z]+",model="test-model",rpc="GenerateSql"\}/);
  });
});
