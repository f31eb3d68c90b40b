// The one page-token format of every list RPC (src/common/paging.ts): opaque, bound to its list
// and filters, refused (INVALID_PAGE_TOKEN) anywhere else.
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { expectRpcThrow } from "../../support/rpc.js";
import { decodePageToken, encodePageToken, pageOf, pageSize, type PageScope } from "../../../src/common/paging.js";

/** A token this list refuses: InvalidArgument, INVALID_PAGE_TOKEN. */
const refused = (fn: () => unknown) => expectRpcThrow(fn, Code.InvalidArgument, "INVALID_PAGE_TOKEN");

describe("page tokens", () => {
  const history: PageScope = ["history", "c1"];

  it("round-trip the key within their scope; the empty token is the first page", () => {
    expect(decodePageToken(encodePageToken("42", history), history)).toBe("42");
    expect(decodePageToken("", history)).toBeUndefined();
    expect(decodePageToken(encodePageToken("7", history), history, (k) => (/^\d+$/.test(k) ? Number(k) : undefined))).toBe(7);
  });

  it("are refused by another list, or the same list with other filters", () => {
    const t = encodePageToken("42", history);
    refused(() => decodePageToken(t, ["history", "c2"]));
    refused(() => decodePageToken(t, ["history", ""]));
    refused(() => decodePageToken(t, ["conflicts", "c1"]));
    refused(() => decodePageToken(encodePageToken("a", ["conflicts", true]), ["conflicts", false]));
    // Filters are not confused by how they join: ["a", "b,c"] is not ["a,b", "c"].
    refused(() => decodePageToken(encodePageToken("k", ["tables", "a", "b,c"]), ["tables", "a,b", "c"]));
  });

  it("refuse garbage, tokens of the old format, over-long tokens and keys of the wrong shape", () => {
    refused(() => decodePageToken("garbage!", history));
    refused(() => decodePageToken(Buffer.from(JSON.stringify({ k: "42" })).toString("base64url"), history));
    refused(() => decodePageToken(Buffer.from(JSON.stringify({ a: "t" })).toString("base64url"), ["tables", "c", ""]));
    refused(() => decodePageToken("x".repeat(2000), history));
    refused(() => decodePageToken(encodePageToken("not a number", history), history, (k) => (/^\d+$/.test(k) ? Number(k) : undefined)));
    refused(() =>
      decodePageToken(encodePageToken("{", history), history, (k) => {
        return JSON.parse(k) as unknown;
      }),
    );
  });

  it("pageOf: a token for the next page only when there was more", () => {
    const scope: PageScope = ["sessions"];
    const more = pageOf([1, 2, 3], 2, scope, String);
    expect(more.page).toEqual([1, 2]);
    expect(decodePageToken(more.next, scope)).toBe("2");
    expect(pageOf([1, 2], 2, scope, String)).toEqual({ page: [1, 2], next: "" });
    expect(pageOf([], 2, scope, String)).toEqual({ page: [], next: "" });
  });

  it("page sizes: 0 is the default, larger ones are capped, negative ones refused", () => {
    expect(pageSize(0)).toBe(50);
    expect(pageSize(1000)).toBe(200);
    expect(pageSize(0, 1000, 5000)).toBe(1000);
    expect(() => pageSize(-1)).toThrow(ConnectError);
  });
});
