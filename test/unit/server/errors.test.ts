import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { toPublicError } from "../../../src/server/errors.js";

describe("toPublicError", () => {
  it("a request body cut off by the client (node's 'aborted', ECONNRESET) is Canceled, not Internal", () => {
    const aborted = Object.assign(new Error("aborted"), { code: "ECONNRESET" });
    const { error, cause } = toPublicError(aborted);
    expect([error.code, cause]).toEqual([Code.Canceled, undefined]);
  });

  it("any other error without a known kind stays Internal, its cause kept for the log", () => {
    const other = Object.assign(new Error("aborted"), { code: "EPIPE" });
    const { error, cause } = toPublicError(other);
    expect([error.code, cause]).toEqual([Code.Internal, other]);
  });
});
