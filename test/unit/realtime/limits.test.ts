/** The counters behind the realtime limits (src/realtime/limits.ts). */
import { describe, expect, it } from "vitest";
import { KeyedSlots, RateBucket } from "../../../src/realtime/limits.js";

describe("KeyedSlots", () => {
  it("gives each key at most max slots; a release frees one; empty keys are forgotten", () => {
    const s = new KeyedSlots(2);
    expect([s.take("a"), s.take("a"), s.take("a"), s.take("b")]).toEqual([true, true, false, true]);
    s.release("a");
    expect(s.take("a")).toBe(true);
    expect(s.take("a")).toBe(false);
    s.release("a");
    s.release("a");
    s.release("b");
    expect(s.keys).toBe(0);
    s.release("never-taken");
    expect(s.keys).toBe(0);
  });
});

describe("RateBucket", () => {
  it("allows a burst of perMinute, then one per 60/perMinute seconds", () => {
    let t = 1_000_000;
    const b = new RateBucket(6, () => t);
    expect(Array.from({ length: 7 }, () => b.take())).toEqual([true, true, true, true, true, true, false]);
    t += 9_999;
    expect(b.take()).toBe(false);
    t += 1;
    expect(b.take()).toBe(true);
    expect(b.take()).toBe(false);
    // A long pause refills to the burst, not beyond.
    t += 3_600_000;
    expect(Array.from({ length: 7 }, () => b.take()).filter(Boolean).length).toBe(6);
  });

  it("a clock that goes back does not add tokens", () => {
    let t = 5_000;
    const b = new RateBucket(1, () => t);
    expect(b.take()).toBe(true);
    t = 0;
    expect(b.take()).toBe(false);
  });
});
