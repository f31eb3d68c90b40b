import { describe, expect, it } from "vitest";
import { HealthState, Status } from "../../src/health/state.js";

/** Collects what a watch yields; `next()` waits for the next value (or the end). */
function collect(gen: AsyncGenerator<Status>) {
  const seen: Status[] = [];
  let ended = false;
  const done = (async () => {
    for await (const s of gen) seen.push(s);
    ended = true;
  })();
  const settle = () => new Promise((r) => setTimeout(r, 10));
  return { seen, done, settle, get ended() { return ended; } };
}

describe("HealthState", () => {
  it("knows the server and every registered service, SERVING", () => {
    const h = new HealthState(["a.v1.A", "b.v1.B"]);
    expect(h.get("")).toBe(Status.SERVING);
    expect(h.get("a.v1.A")).toBe(Status.SERVING);
    expect(h.get("b.v1.B")).toBe(Status.SERVING);
    expect(h.get("c.v1.C")).toBeUndefined();
  });

  it("watch yields the current status at once, then each change", async () => {
    const h = new HealthState(["a.v1.A"]);
    const ac = new AbortController();
    const w = collect(h.watch("a.v1.A", ac.signal));
    await w.settle();
    expect(w.seen).toEqual([Status.SERVING]);
    h.set("a.v1.A", Status.NOT_SERVING);
    await w.settle();
    h.set("a.v1.A", Status.NOT_SERVING); // no change: nothing new
    h.set("a.v1.A", Status.SERVING);
    await w.settle();
    expect(w.seen).toEqual([Status.SERVING, Status.NOT_SERVING, Status.SERVING]);
    ac.abort();
    await w.done;
    expect(w.ended).toBe(true);
  });

  it("watch of an unknown service yields SERVICE_UNKNOWN, then the status once it is set", async () => {
    const h = new HealthState([]);
    const ac = new AbortController();
    const w = collect(h.watch("later.v1.Later", ac.signal));
    await w.settle();
    expect(w.seen).toEqual([Status.SERVICE_UNKNOWN]);
    h.set("later.v1.Later", Status.SERVING);
    await w.settle();
    expect(w.seen).toEqual([Status.SERVICE_UNKNOWN, Status.SERVING]);
    ac.abort();
    await w.done;
  });

  it("does not hear other services' changes", async () => {
    const h = new HealthState(["a.v1.A", "b.v1.B"]);
    const ac = new AbortController();
    const w = collect(h.watch("a.v1.A", ac.signal));
    await w.settle();
    h.set("b.v1.B", Status.NOT_SERVING);
    await w.settle();
    expect(w.seen).toEqual([Status.SERVING]);
    ac.abort();
    await w.done;
  });

  it("ends a watch when its signal aborts, and stops notifying it", async () => {
    const h = new HealthState(["a.v1.A"]);
    const ac = new AbortController();
    const w = collect(h.watch("a.v1.A", ac.signal));
    await w.settle();
    ac.abort();
    await w.done;
    h.set("a.v1.A", Status.NOT_SERVING);
    await w.settle();
    expect(w.seen).toEqual([Status.SERVING]);
  });

  it("shutdown flips everything to NOT_SERVING and ends every watch", async () => {
    const h = new HealthState(["a.v1.A", "b.v1.B"]);
    const ac = new AbortController();
    const watches = ["", "a.v1.A", "b.v1.B"].map((s) => collect(h.watch(s, ac.signal)));
    await watches[0].settle();
    h.shutdown();
    await Promise.all(watches.map((w) => w.done));
    for (const w of watches) {
      expect(w.ended).toBe(true);
      expect(w.seen).toEqual([Status.SERVING, Status.NOT_SERVING]);
    }
    expect(h.isShutDown).toBe(true);
    for (const s of ["", "a.v1.A", "b.v1.B"]) expect(h.get(s)).toBe(Status.NOT_SERVING);
    expect(ac.signal.aborted).toBe(false); // they ended on their own
  });

  it("a watch started after shutdown yields NOT_SERVING and ends", async () => {
    const h = new HealthState(["a.v1.A"]);
    h.shutdown();
    const w = collect(h.watch("a.v1.A", new AbortController().signal));
    await w.done;
    expect(w.seen).toEqual([Status.NOT_SERVING]);
  });
});
