import { describe, expect, it } from "vitest";
import { OutgoingHeaders } from "../../../src/server/outgoing-headers.js";

const NAMES = ["Content-Type", "content-type", "set-cookie", "Set-Cookie", "x-a", "X-B", "retry-after", "trailer-x", "a", "z", "bad name", "", "x:y"];
const VALUES = ["v", " padded\t", "a, b", "", "line\nbreak", "nul\0", "ünï", "\r\nsplit", "x=1; Path=/", "  "];

/** Everything a caller can observe of a Headers after some writes. */
function observe(h: Headers) {
  const forEach: string[] = [];
  h.forEach((v, k) => forEach.push(`${k}=${v}`));
  return {
    entries: [...h].map(([k, v]) => `${k}=${v}`),
    keys: [...h.keys()],
    values: [...h.values()],
    forEach,
    setCookie: h.getSetCookie(),
    gets: NAMES.filter((n) => /^[\w-]+$/.test(n)).map((n) => [n, h.get(n), h.has(n)]),
  };
}

function apply(h: Headers, op: [string, string, string]): string {
  const [kind, name, value] = op;
  try {
    if (kind === "append") h.append(name, value);
    else if (kind === "set") h.set(name, value);
    else h.delete(name);
    return "ok";
  } catch (e) {
    return e instanceof TypeError ? "TypeError" : String(e);
  }
}

describe("OutgoingHeaders behaves as Headers does", () => {
  it("for random sequences of append, set and delete (the same results, errors and iteration)", () => {
    let seed = 42;
    const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 16777216;
    const pick = <T>(xs: T[]) => xs[Math.floor(next() * xs.length)]!;
    for (let round = 0; round < 500; round++) {
      const ours = new OutgoingHeaders();
      const theirs = new Headers();
      const steps = 1 + Math.floor(next() * 8);
      for (let i = 0; i < steps; i++) {
        const op: [string, string, string] = [pick(["append", "append", "set", "delete"]), pick(NAMES), pick(VALUES)];
        expect(apply(ours, op), JSON.stringify(op)).toBe(apply(theirs, op));
      }
      expect(observe(ours)).toEqual(observe(theirs));
    }
  });

  it("one entry iterates without sorting and still joins repeats", () => {
    const h = new OutgoingHeaders();
    h.append("X-Thing", "1");
    h.append("x-thing", "2");
    const seen: string[] = [];
    h.forEach((v, k) => seen.push(`${k}=${v}`));
    expect(seen).toEqual(["x-thing=1, 2"]);
  });
});
