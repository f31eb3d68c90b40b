/** Fair dispatch of HTTP/2 requests between connections (src/server/fair-dispatch.ts). */
import { describe, expect, it } from "vitest";
import { FairDispatcher } from "../../../src/server/fair-dispatch.js";

const turn = () => new Promise<void>((r) => setImmediate(r));

describe("FairDispatcher", () => {
  it("starts up to perTurn requests of a connection at once, the rest on following turns, in order", async () => {
    const d = new FairDispatcher<string>(2);
    const started: string[] = [];
    for (let i = 0; i < 5; i++) d.dispatch("a", () => started.push(`a${i}`));
    expect(started).toEqual(["a0", "a1"]);
    expect(d.waiting).toBe(3);
    await turn();
    expect(started).toEqual(["a0", "a1", "a2", "a3"]);
    await turn();
    expect(started).toEqual(["a0", "a1", "a2", "a3", "a4"]);
    expect(d.waiting).toBe(0);
  });

  it("a burst on one connection does not hold another: its request starts at once, and the queues take turns", async () => {
    const d = new FairDispatcher<string>(1);
    const started: string[] = [];
    for (let i = 0; i < 100; i++) d.dispatch("attacker", () => started.push("x"));
    d.dispatch("victim", () => started.push("victim"));
    expect(started).toEqual(["x", "victim"]);
    for (let i = 0; i < 3; i++) d.dispatch("other", () => started.push(`o${i}`));
    expect(started.slice(2)).toEqual(["o0"]);
    await turn();
    // One of each waiting connection per turn.
    expect(started.slice(3)).toEqual(["x", "o1"]);
  });

  it("a request that arrives while its connection has queued ones waits behind them (order kept)", async () => {
    const d = new FairDispatcher<string>(2);
    const started: number[] = [];
    for (let i = 0; i < 3; i++) d.dispatch("a", () => started.push(i));
    await turn();
    d.dispatch("a", () => started.push(3));
    expect(started).toEqual([0, 1, 2, 3]);
    d.dispatch("a", () => started.push(4));
    d.dispatch("a", () => started.push(5));
    expect(started).toEqual([0, 1, 2, 3]);
    await turn();
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
