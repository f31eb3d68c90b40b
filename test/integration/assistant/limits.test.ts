// The per-user limits live in the shared app database: two server processes on one database file
// count the same requests per minute and the same tokens per day.
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startProviderStandIn, type ProviderStandIn } from "../../support/ai-provider.js";
import { assistantClient, createShop, type Shop } from "../../support/assistant.js";
import { authEnv, errorInfoOf, login, registerAndLogin } from "../../support/auth.js";
import { clientsFor } from "../../support/engine.js";
import { spawnInstances, type ChildServer, type Instances } from "../../support/server.js";

let standIn: ProviderStandIn;
let instances: Instances;
let a: ChildServer;
let b: ChildServer;
const shops: Shop[] = [];

beforeAll(async () => {
  standIn = await startProviderStandIn("openai", () => ({ text: "```sql\nSELECT 1\n```", usage: { input: 1, output: 1 } }));
  const env = authEnv(standIn.env({ AI_REQUESTS_PER_MINUTE: "3", AI_TOKENS_PER_DAY: "1000" }));
  instances = await spawnInstances(2, env, "sqlstudio-ai-two-");
  [a, b] = instances.servers;
}, 90_000);
afterAll(async () => {
  for (const s of shops) await s.close();
  await instances?.stop();
  await standIn?.close();
});

/** A user signed in on both instances, with a shop created through A. */
async function userOnBoth(prefix: string) {
  const { user, session } = await registerAndLogin(a, prefix);
  const tokenB = (await login(b, user, { device: "b" })).accessToken;
  const engineA = clientsFor(a.url, session.accessToken);
  const shop = await createShop("sqlite", { dir: instances.dir }, { ...engineA, token: session.accessToken, userId: "" });
  shops.push(shop);
  return { onA: assistantClient(a.url, session.accessToken), onB: assistantClient(b.url, tokenB), connectionId: shop.connectionId };
}

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => ({ code: "ok" as const, reason: "", retryAfterS: 0 }),
    (e: unknown) => ({ code: ConnectError.from(e).code, reason: errorInfoOf(e)?.reason ?? "", retryAfterS: Number(errorInfoOf(e)?.retryAfter?.seconds ?? 0n) }),
  );

it("AI_REQUESTS_PER_MINUTE=3 holds across two instances: A, B, A pass, the fourth (on B) and a fifth (on A) are ResourceExhausted", async () => {
  const u = await userOnBoth("lim");
  // Not across a minute boundary: the window is a calendar minute.
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 45_000) await new Promise((r) => setTimeout(r, 60_500 - intoMinute));
  const ask = (c: typeof u.onA) => outcome(c.generateSql({ connectionId: u.connectionId, prompt: "anything" }));
  expect((await ask(u.onA)).code).toBe("ok");
  expect((await ask(u.onB)).code).toBe("ok");
  expect((await ask(u.onA)).code).toBe("ok");
  const fourth = await ask(u.onB);
  expect(fourth).toMatchObject({ code: Code.ResourceExhausted, reason: "ASSISTANT_RATE_LIMITED" });
  expect(fourth.retryAfterS).toBeGreaterThan(0);
  expect(fourth.retryAfterS).toBeLessThanOrEqual(60);
  expect((await ask(u.onA)).reason).toBe("ASSISTANT_RATE_LIMITED");
}, 120_000);

it("AI_TOKENS_PER_DAY=1000 holds across two instances: once a day's tokens are used on A and B, both refuse until the next UTC day", async () => {
  const u = await userOnBoth("tok");
  standIn.setReply(() => ({ text: "```sql\nSELECT 1\n```", usage: { input: 450, output: 100 } }));
  const ask = (c: typeof u.onA) => outcome(c.generateSql({ connectionId: u.connectionId, prompt: "anything" }));
  expect((await ask(u.onA)).code).toBe("ok"); // 550 used
  expect((await ask(u.onB)).code).toBe("ok"); // 1100 used: over, from now on
  const third = await ask(u.onA);
  expect(third).toMatchObject({ code: Code.ResourceExhausted, reason: "ASSISTANT_TOKEN_QUOTA_EXCEEDED" });
  const untilMidnight = 86_400 - Math.floor((Date.now() % 86_400_000) / 1000);
  expect(Math.abs(third.retryAfterS - untilMidnight)).toBeLessThanOrEqual(5);
  expect((await ask(u.onB)).reason).toBe("ASSISTANT_TOKEN_QUOTA_EXCEEDED");
  const status = await u.onB.getStatus({});
  expect(status.usageToday).toMatchObject({ inputTokens: 900n, outputTokens: 200n });
}, 60_000);
