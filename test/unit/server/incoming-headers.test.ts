import type { IncomingHttpHeaders } from "node:http";
import { describe, expect, it } from "vitest";
import { IncomingHeaders } from "../../../src/server/incoming-headers.js";

/** What the fast path built before: every header appended to a Headers. */
function reference(raw: IncomingHttpHeaders): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(raw)) {
    if (k.startsWith(":") || v === undefined) continue;
    for (const e of Array.isArray(v) ? v : [v]) h.append(k, e);
  }
  return h;
}

const raw: IncomingHttpHeaders = {
  ":method": "POST",
  ":path": "/grpc.health.v1.Health/Check",
  "content-type": "application/json",
  authorization: "Bearer abc.def.ghi",
  cookie: "a=1; sqlstudio_refresh=xyz",
  "set-cookie": ["a=1", "b=2"],
  "x-request-id": "req-1",
};

describe("IncomingHeaders", () => {
  it("reads like a Headers holding the request's headers", () => {
    const ours = new IncomingHeaders(raw);
    const ref = reference(raw);
    for (const name of ["content-type", "Content-Type", "AUTHORIZATION", "cookie", "set-cookie", "x-request-id", "missing", ":path", ":method"]) {
      expect(ours.get(name), name).toBe(name.startsWith(":") ? null : ref.get(name));
      expect(ours.has(name), name).toBe(name.startsWith(":") ? false : ref.has(name));
    }
    expect([...ours]).toEqual([...ref]);
    expect([...ours.keys()]).toEqual([...ref.keys()]);
    expect([...ours.values()]).toEqual([...ref.values()]);
    expect(ours.getSetCookie()).toEqual(["a=1", "b=2"]);
    const seen: [string, string][] = [];
    ours.forEach((v, k, parent) => {
      expect(parent).toBe(ours);
      seen.push([k, v]);
    });
    expect(seen).toEqual([...ref.entries()]);
  });

  it("changes a copy, never Node's header object, and reads the copy afterwards", () => {
    const node: IncomingHttpHeaders = { "content-type": "application/proto", "x-a": "1" };
    const ours = new IncomingHeaders(node);
    ours.set("x-a", "2");
    ours.append("x-b", "3");
    ours.delete("content-type");
    expect(ours.get("x-a")).toBe("2");
    expect(ours.get("x-b")).toBe("3");
    expect(ours.get("content-type")).toBeNull();
    expect(node).toEqual({ "content-type": "application/proto", "x-a": "1" });
  });
});
