import { describe, expect, it } from "vitest";
import { ChunkedLimiter, chunkFor, type Decision, type GrantFn } from "../../../src/ratelimit/limiter.js";

/** The database's side, as the store's upsert does it: at most what is left under the limit per (bucket, window). */
function fakeDb() {
  const used = new Map<string, number>();
  const calls: { bucket: string; windowStart: number; want: number }[] = [];
  const grant: GrantFn = async (bucket, windowStart, want, limit) => {
    calls.push({ bucket, windowStart, want });
    const k = `${bucket}@${windowStart}`;
    const u = used.get(k) ?? 0;
    const g = Math.min(want, Math.max(0, limit - u));
    used.set(k, u + g);
    return g;
  };
  return { grant, calls, used };
}

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const WINDOW = 60_000;

async function takeN(l: ChunkedLimiter, bucket: string, limit: number, n: number): Promise<Decision[]> {
  const out: Decision[] = [];
  for (let i = 0; i < n; i++) out.push(await l.take(bucket, limit));
  return out;
}

describe("chunkFor", () => {
  it("is a twentieth of the limit, at least 1, at most the configured chunk", () => {
    expect(chunkFor(3, 50)).toBe(1);
    expect(chunkFor(100, 50)).toBe(5);
    expect(chunkFor(3000, 50)).toBe(50);
    expect(chunkFor(3000, 10)).toBe(10);
  });
});

describe("ChunkedLimiter", () => {
  it("admits exactly the limit per window, then refuses with the time left in the window", async () => {
    const db = fakeDb();
    const c = clock(0);
    const l = new ChunkedLimiter({ windowMs: WINDOW, maxChunk: 50, maxKeys: 100, now: c.now, grant: db.grant });
    const got = await takeN(l, "u", 100, 100);
    expect(got.every((d) => d.ok)).toBe(true);
    c.advance(15_000);
    expect(await l.take("u", 100)).toEqual({ ok: false, retryAfterMs: 45_000 });
  });

  it("with grantBatch, asks that start in one turn go in one round trip; prefetch refills without taking", async () => {
    const db = fakeDb();
    const batches: number[] = [];
    const c = clock(0);
    const l = new ChunkedLimiter({
      windowMs: WINDOW,
      maxChunk: 50,
      maxKeys: 100,
      now: c.now,
      grant: db.grant,
      grantBatch: async (asks) => {
        batches.push(asks.length);
        return Promise.all(asks.map((a) => db.grant(a.bucket, a.windowStart, a.want, a.limit, a.now)));
      },
    });
    // A call of user u from address a: both buckets empty, both asked for together.
    const user = l.take("user:u:read", 1000);
    expect(user).toBeInstanceOf(Promise);
    l.prefetch("ip:a:all", 1000);
    expect(await user).toEqual({ ok: true });
    expect(l.take("ip:a:all", 1000)).toEqual({ ok: true });
    expect(batches).toEqual([2]);
    expect(l.stats.storeRequests).toBe(1);
    // prefetch took nothing: the address has 49 left after the one take, then asks alone.
    for (let i = 0; i < 49; i++) expect(l.take("ip:a:all", 1000)).toEqual({ ok: true });
    expect(await l.take("ip:a:all", 1000)).toEqual({ ok: true });
    expect(db.calls.map((x) => x.bucket)).toEqual(["user:u:read", "ip:a:all", "ip:a:all"]);
    expect(l.stats.storeRequests).toBe(2);
    // prefetch of a bucket with tokens in hand, or one being refilled, asks nothing.
    l.prefetch("ip:a:all", 1000);
    l.prefetch("user:u:read", 1000);
    await Promise.resolve();
    expect(db.calls).toHaveLength(3);
  });

  it("a failing batch admits every call in it (fail open), as a failing single grant does", async () => {
    const c = clock(0);
    const errors: unknown[] = [];
    const l = new ChunkedLimiter({
      windowMs: WINDOW,
      maxChunk: 50,
      maxKeys: 100,
      now: c.now,
      grant: async () => 1,
      grantBatch: async () => {
        throw new Error("database busy");
      },
      onStoreError: (e) => errors.push(e),
    });
    const user = l.take("user:u:read", 1000);
    l.prefetch("ip:a:all", 1000);
    expect(await user).toEqual({ ok: true });
    expect(await l.take("ip:a:all", 1000)).toEqual({ ok: true });
    expect(errors).toHaveLength(2);
    expect(l.stats.storeErrors).toBe(2);
  });

  it("asks the database once per chunk: the common case is synchronous and costs no round trip", async () => {
    const db = fakeDb();
    const c = clock(0);
    const l = new ChunkedLimiter({ windowMs: WINDOW, maxChunk: 50, maxKeys: 100, now: c.now, grant: db.grant });
    // limit 1000: chunks of 50
    const first = l.take("u", 1000);
    expect(first).toBeInstanceOf(Promise);
    await first;
    for (let i = 0; i < 49; i++) expect(l.take("u", 1000)).toEqual({ ok: true });
    expect(db.calls).toHaveLength(1);
    await l.take("u", 1000);
    expect(db.calls).toHaveLength(2);
    expect(l.stats.storeRequests).toBe(2);
  });

  it("a short grant means the window is used up: no further round trip until it ends", async () => {
    const db = fakeDb();
    const c = clock(0);
    const l = new ChunkedLimiter({ windowMs: WINDOW, maxChunk: 50, maxKeys: 100, now: c.now, grant: db.grant });
    // limit 110: chunks of 5; the 23rd grant is 0
    const got = await takeN(l, "u", 110, 120);
    expect(got.filter((d) => d.ok)).toHaveLength(110);
    expect(db.calls).toHaveLength(22 + 1);
    await takeN(l, "u", 110, 50);
    expect(db.calls).toHaveLength(23);
  });

  it("a new window starts from zero in the database and locally", async () => {
    const db = fakeDb();
    const c = clock(0);
    const l = new ChunkedLimiter({ windowMs: WINDOW, maxChunk: 50, maxKeys: 100, now: c.now, grant: db.grant });
    expect((await takeN(l, "u", 3, 4)).map((d) => d.ok)).toEqual([true, true, true, false]);
    c.advance(WINDOW);
    expect((await takeN(l, "u", 3, 4)).map((d) => d.ok)).toEqual([true, true, true, false]);
    expect(new Set(db.calls.map((x) => x.windowStart))).toEqual(new Set([0, WINDOW]));
  });

  it("keys are independent", async () => {
    const db = fakeDb();
    const c = clock(0);
    const l = new ChunkedLimiter({ windowMs: WINDOW, maxChunk: 50, maxKeys: 100, now: c.now, grant: db.grant });
    await takeN(l, "a", 2, 3);
    expect(await l.take("b", 2)).toEqual({ ok: true });
  });

  it("two instances on one database never admit more than the limit together", async () => {
    const db = fakeDb();
    const c = clock(0);
    const a = new ChunkedLimiter({ windowMs: WINDOW, maxChunk: 50, maxKeys: 100, now: c.now, grant: db.grant });
    const b = new ChunkedLimiter({ windowMs: WINDOW, maxChunk: 50, maxKeys: 100, now: c.now, grant: db.grant });
    let admitted = 0;
    for (let i = 0; i < 300; i++) if ((await (i % 3 === 0 ? a : b).take("u", 200)).ok) admitted++;
    expect(admitted).toBe(200);
  });

  it("concurrent calls on an empty chunk wait for one request, not one each", async () => {
    const db = fakeDb();
    const c = clock(0);
    const l = new ChunkedLimiter({ windowMs: WINDOW, maxChunk: 50, maxKeys: 100, now: c.now, grant: db.grant });
    const all = await Promise.all(Array.from({ length: 10 }, () => l.take("u", 1000)));
    expect(all.every((d) => d.ok)).toBe(true);
    expect(db.calls).toHaveLength(1);
  });

  it("concurrent calls beyond the limit are refused, none admitted twice", async () => {
    const db = fakeDb();
    const c = clock(0);
    const l = new ChunkedLimiter({ windowMs: WINDOW, maxChunk: 50, maxKeys: 100, now: c.now, grant: db.grant });
    const all = await Promise.all(Array.from({ length: 30 }, () => l.take("u", 7)));
    expect(all.filter((d) => d.ok)).toHaveLength(7);
  });

  it("a grant that arrives after its window ended is not spent in the next one", async () => {
    const c = clock(0);
    let release!: (n: number) => void;
    const slow: GrantFn = () => new Promise((r) => (release = r));
    const l = new ChunkedLimiter({ windowMs: WINDOW, maxChunk: 50, maxKeys: 100, now: c.now, grant: slow });
    const p = l.take("u", 1000); // asks for window 0
    c.advance(WINDOW);
    const q = l.take("u", 1000); // window 1: waits for the request under way
    release(50); // window 0's chunk arrives late: dropped
    await new Promise((r) => setTimeout(r, 0));
    release(2); // window 1's: 2 tokens, fewer than asked, so the window is used up
    expect(await p).toEqual({ ok: true });
    expect(await q).toEqual({ ok: true });
    expect(l.take("u", 1000)).toEqual({ ok: false, retryAfterMs: WINDOW });
  });

  it("fails open when the database cannot be asked, and says so", async () => {
    const c = clock(0);
    const errors: unknown[] = [];
    const l = new ChunkedLimiter({
      windowMs: WINDOW,
      maxChunk: 50,
      maxKeys: 100,
      now: c.now,
      grant: async () => {
        throw new Error("database is locked");
      },
      onStoreError: (e) => errors.push(e),
    });
    expect(await l.take("u", 3)).toEqual({ ok: true });
    expect(errors).toHaveLength(1);
    expect(l.stats.storeErrors).toBe(1);
  });

  it("keeps at most maxKeys keys: a flood of new keys evicts idle ones first, memory stays bounded", async () => {
    const db = fakeDb();
    const c = clock(0);
    const l = new ChunkedLimiter({ windowMs: WINDOW, maxChunk: 50, maxKeys: 1000, now: c.now, grant: db.grant });
    await l.take("old", 100);
    c.advance(WINDOW);
    await l.take("busy", 100);
    for (let i = 0; i < 10_000; i++) await l.take(`ip:${i}`, 100);
    expect(l.size).toBeLessThanOrEqual(1000);
    expect(l.stats.evicted).toBeGreaterThanOrEqual(9_000);
  });

  it("unlimited (0) never asks the database", async () => {
    const db = fakeDb();
    const l = new ChunkedLimiter({ windowMs: WINDOW, maxChunk: 50, maxKeys: 100, now: () => 0, grant: db.grant });
    expect(await takeN(l, "u", 0, 10)).toEqual(Array(10).fill({ ok: true }));
    expect(db.calls).toHaveLength(0);
  });
});
