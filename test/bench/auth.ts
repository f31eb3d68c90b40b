/**
 * Auth benchmarks (issue 3):
 *  1. GetCurrentUser over Connect JSON (HTTP/1.1) as a ratio against a bare Fastify route on
 *     the same kind of socket doing the same work: JWT check + live-session lookup + user read, and
 *     the same JSON body (compared before timing),
 *     with the same Accounts instance (same cache, same database).
 *  2. A storm of logins at bcrypt cost 12 while Health.Check is polled: p99 of the health check,
 *     showing hashing never blocks the event loop (bcrypt runs on the libuv thread pool).
 * Run: npx tsx test/bench/auth.ts  (also part of npm run bench).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import Fastify from "fastify";
import { startTestServer } from "../support/server.js";
import { LOAD_RATE_LIMITS } from "../support/rate-limits.js";

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function post(url: URL, body: string, headers: Record<string, string>): Promise<{ status: number; body: string; ms: number }> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers } },
      (res) => {
        let data = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (data += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data, ms: performance.now() - start }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** n requests at a fixed concurrency; returns req/s and latency percentiles. */
async function load(n: number, concurrency: number, call: () => Promise<{ status: number; ms: number }>) {
  const lat: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        const r = await call();
        if (r.status !== 200) throw new Error(`status ${r.status}`);
        lat.push(r.ms);
      }
    }),
  );
  const secs = (performance.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))];
  return { rps: n / secs, p50: pct(50), p99: pct(99) };
}

/** `storm: false` runs only the GetCurrentUser comparison. */
export async function authBench(o: { storm?: boolean } = {}): Promise<string> {
  const lines: string[] = [];
  // ── 1. GetCurrentUser vs a bare route ─────────────────────────────────────
  {
    const server = await startTestServer({ env: { ...LOAD_RATE_LIMITS, BCRYPT_COST: "4", LOG_LEVEL: "warn", JWT_SECRET: "bench-secret-bench-secret-bench-secret!" } });
    const api = new URL(server.url);
    const u = (m: string) => new URL(`/sqlstudio.auth.v1.AuthService/${m}`, api);
    await post(u("Register"), JSON.stringify({ email: "bench@example.com", username: "bench", password: "violet-thunder-canoe-42" }), {});
    const login = JSON.parse((await post(u("Login"), JSON.stringify({ identifier: "bench", password: "violet-thunder-canoe-42" }), {})).body);
    const auth = { authorization: `Bearer ${login.accessToken}` };

    const sessions = server.features.accounts.sessions;
    const bare = Fastify({ logger: false });
    bare.post("/me", async (req) => {
      const ctx = await sessions.authenticate(req.headers.authorization ?? null);
      const user = await sessions.requireUser(ctx);
      // The same response body as GetCurrentUser's Connect JSON (fields at their defaults left out), checked below.
      return {
        user: {
          id: user.id,
          email: user.email,
          username: user.username,
          ...(user.displayName ? { displayName: user.displayName } : {}),
          role: user.role === "admin" ? "ROLE_ADMIN" : "ROLE_USER",
          ...(user.emailVerified ? { emailVerified: true } : {}),
          createdAt: new Date(user.createdAt).toISOString(),
          ...(user.pendingEmail ? { pendingEmail: user.pendingEmail } : {}),
        },
      };
    });
    await bare.listen({ port: 0, host: "127.0.0.1" });
    const bareUrl = new URL(`http://127.0.0.1:${(bare.server.address() as AddressInfo).port}/me`);

    const [oursBody, refBody] = [(await post(u("GetCurrentUser"), "{}", auth)).body, (await post(bareUrl, "{}", auth)).body];
    if (oursBody !== refBody) throw new Error(`the reference answers differently:\n${oursBody}\n${refBody}`);
    const C = 32;
    const ours = () => post(u("GetCurrentUser"), "{}", auth);
    const ref = () => post(bareUrl, "{}", auth);
    await load(1000, C, ours);
    await load(1000, C, ref);
    // Many short turns, the two paths alternating (and which goes first, too): a burst of load from
    // a neighbour on this shared machine then falls on both about equally, where a few long rounds
    // swung the ratio by ±0.1. The ratio is of the totals; the turns' own ratios show the spread.
    const TURNS = 40;
    const PER_TURN = 500;
    const total = { ours: { ms: 0, lat: [] as number[] }, ref: { ms: 0, lat: [] as number[] } };
    const turnRatios: number[] = [];
    for (let t = 0; t < TURNS; t++) {
      const order = t % 2 === 0 ? (["ref", "ours"] as const) : (["ours", "ref"] as const);
      const ms: Record<string, number> = {};
      for (const path of order) {
        const lat: number[] = [];
        const start = performance.now();
        await load(PER_TURN, C, async () => {
          const r = await (path === "ours" ? ours() : ref());
          lat.push(r.ms);
          return r;
        });
        ms[path] = performance.now() - start;
        total[path].ms += ms[path]!;
        total[path].lat.push(...lat);
      }
      turnRatios.push(ms.ref! / ms.ours!);
    }
    const stats = (x: { ms: number; lat: number[] }) => {
      const lat = x.lat.sort((a, b) => a - b);
      return { rps: (TURNS * PER_TURN) / (x.ms / 1000), p50: lat[Math.floor(lat.length / 2)]!, p99: lat[Math.floor(lat.length * 0.99)]! };
    };
    const [oursStats, refStats] = [stats(total.ours), stats(total.ref)];
    const ratio = oursStats.rps / refStats.rps;
    turnRatios.sort((a, b) => a - b);
    const q = (p: number) => turnRatios[Math.min(TURNS - 1, Math.floor(p * TURNS))]!.toFixed(2);
    lines.push(
      "### GetCurrentUser (Connect JSON, HTTP/1.1) vs a bare Fastify route doing the same JWT check, session lookup and user read and answering the same JSON body (checked before timing)",
      "",
      `${TURNS} turns of ${PER_TURN} requests per path, the two paths alternating, concurrency ${C}, one process, bcrypt irrelevant here (token already issued).`,
      "",
      "| path | req/s | p50 ms | p99 ms |",
      "|---|---:|---:|---:|",
      `| bare Fastify route (reference) | ${refStats.rps.toFixed(0)} | ${refStats.p50.toFixed(2)} | ${refStats.p99.toFixed(2)} |`,
      `| AuthService.GetCurrentUser via Connect | ${oursStats.rps.toFixed(0)} | ${oursStats.p50.toFixed(2)} | ${oursStats.p99.toFixed(2)} |`,
      "",
      `**Ratio (ours / reference, all turns): ${ratio.toFixed(2)}** (target ≥ 0.8, issue 13; the turns' own ratios: median ${q(0.5)}, 10th–90th percentile ${q(0.1)}–${q(0.9)}).`,
      "",
    );
    await bare.close();
    await server.stop();
  }

  // ── 2. Login storm at bcrypt cost 12 vs the health check ─────────────────
  if (o.storm !== false) {
    const server = await startTestServer({ env: { ...LOAD_RATE_LIMITS, BCRYPT_COST: "12", LOG_LEVEL: "warn", JWT_SECRET: "bench-secret-bench-secret-bench-secret!" } });
    const api = new URL(server.url);
    const u = (m: string) => new URL(`/sqlstudio.auth.v1.AuthService/${m}`, api);
    // Attempts count as failures until judged (lockout.ts), so one account with 16 logins in flight
    // locks itself: 8 accounts (registration allows 10 per address an hour), 2 logins in flight each.
    const ACCOUNTS = 8;
    for (let a = 0; a < ACCOUNTS; a++) {
      const r = await post(u("Register"), JSON.stringify({ email: `storm${a}@example.com`, username: `storm${a}`, password: "violet-thunder-canoe-42" }), {});
      if (r.status !== 200) throw new Error(`register ${r.status} ${r.body}`);
    }
    const health = new URL("/grpc.health.v1.Health/Check", api);
    let storming = true;
    let logins = 0;
    const stormStart = performance.now();
    const storm = Promise.all(
      Array.from({ length: 16 }, async (_, w) => {
        while (storming) {
          const r = await post(u("Login"), JSON.stringify({ identifier: `storm${w % ACCOUNTS}`, password: "violet-thunder-canoe-42" }), {});
          if (r.status !== 200) throw new Error(`login ${r.status} ${r.body}`);
          logins++;
        }
      }),
    );
    const lat: number[] = [];
    const until = performance.now() + 8000;
    while (performance.now() < until) {
      lat.push((await post(health, "{}", {})).ms);
      await new Promise((r) => setTimeout(r, 10));
    }
    storming = false;
    await storm;
    const secs = (performance.now() - stormStart) / 1000;
    lat.sort((a, b) => a - b);
    const p = (q: number) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))];
    lines.push(
      "### Health.Check latency during a login storm (bcrypt cost 12)",
      "",
      `16 clients (8 accounts, 2 each) logging in back to back for 8 s (${logins} logins, ${(logins / secs).toFixed(1)}/s: bcrypt-bound on 2 cores) while Health.Check is called every 10 ms (${lat.length} calls).`,
      "",
      "| health check | p50 ms | p90 ms | p99 ms | max ms |",
      "|---|---:|---:|---:|---:|",
      `| during the storm | ${p(0.5).toFixed(2)} | ${p(0.9).toFixed(2)} | ${p(0.99).toFixed(2)} | ${lat[lat.length - 1].toFixed(2)} |`,
      "",
      `**p99 ${p(0.99).toFixed(1)} ms** (target < 20 ms): hashing runs on libuv's thread pool, never on the event loop.`,
      "",
    );
    await server.stop();
  }
  return lines.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  authBench().then(
    (md) => {
      process.stdout.write(md + "\n");
      agent.destroy();
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
