import { describe, expect, it } from "vitest";
import * as connect from "@connectrpc/connect/protocol-connect";
import * as grpc from "@connectrpc/connect/protocol-grpc";
import {
  applyDeadline,
  unaryDeadlineMs,
  CORS_ALLOW_HEADERS,
  CORS_EXPOSE_HEADERS,
  effectiveDeadlineMs,
  originAllowed,
  parseConnectTimeout,
  parseGrpcTimeout,
  securityHeaders,
} from "../../src/server/http-policy.js";

describe("parseGrpcTimeout", () => {
  it("reads every unit of the gRPC spec, in ms", () => {
    expect(parseGrpcTimeout("2H")).toBe(7_200_000);
    expect(parseGrpcTimeout("3M")).toBe(180_000);
    expect(parseGrpcTimeout("5S")).toBe(5_000);
    expect(parseGrpcTimeout("100m")).toBe(100);
    expect(parseGrpcTimeout("2500u")).toBeCloseTo(2.5);
    expect(parseGrpcTimeout("3000000n")).toBeCloseTo(3);
    expect(parseGrpcTimeout("99999999m")).toBe(99_999_999);
  });

  it("ignores absent and malformed values", () => {
    for (const v of [undefined, "", "5", "S", "5s", "5 S", "-5S", "1.5S", "123456789m", "5SS", " 5S"]) {
      expect(parseGrpcTimeout(v), JSON.stringify(v)).toBeUndefined();
    }
  });
});

describe("parseConnectTimeout", () => {
  it("reads a positive integer of at most 10 digits", () => {
    expect(parseConnectTimeout("1500")).toBe(1500);
    expect(parseConnectTimeout("9999999999")).toBe(9_999_999_999);
  });

  it("ignores absent and malformed values", () => {
    for (const v of [undefined, "", "1.5", "-1", "10s", "12345678901", "1e3", " 15"]) {
      expect(parseConnectTimeout(v), JSON.stringify(v)).toBeUndefined();
    }
  });
});

describe("effectiveDeadlineMs", () => {
  const limits = { maxDeadlineMs: 300_000, defaultDeadlineMs: 60_000 };

  it("keeps a client deadline under the ceiling", () => {
    expect(effectiveDeadlineMs(1_000, true, limits)).toBe(1_000);
    expect(effectiveDeadlineMs(1_000, false, limits)).toBe(1_000);
  });

  it("caps a client deadline at the ceiling, unary or streaming", () => {
    expect(effectiveDeadlineMs(3_600_000, true, limits)).toBe(300_000);
    expect(effectiveDeadlineMs(parseGrpcTimeout("99999999H"), false, limits)).toBe(300_000);
    expect(effectiveDeadlineMs(9_999_999_999, true, limits)).toBe(300_000);
  });

  it("gives unary calls without a deadline the default, and leaves open-ended streams alone", () => {
    expect(effectiveDeadlineMs(undefined, true, limits)).toBe(60_000);
    expect(effectiveDeadlineMs(undefined, false, limits)).toBeUndefined();
  });
});

describe("unaryDeadlineMs (the fast path) and applyDeadline (the hook, then connect)", () => {
  const limits = { maxDeadlineMs: 60_000, defaultDeadlineMs: 30_000 };
  const connectValues = [undefined, "", "0", "1", "250", "59999", "60000", "60001", "9999999999", "99999999999", "-5", "1.5", "abc"];
  const grpcValues = [undefined, "", "1m", "250m", "5S", "2M", "1H", "2500u", "3000000n", "1n", "99999999m", "100000000m", "5s", "m"];

  it("gives a Connect call the deadline connect reads from the header the hook writes", () => {
    for (const v of connectValues) {
      const headers: Record<string, string> = { "content-type": "application/json", ...(v === undefined ? {} : { "connect-timeout-ms": v }) };
      const fast = unaryDeadlineMs({ ...headers }, false, limits);
      applyDeadline(headers, true, limits);
      const read = connect.parseTimeout(headers["connect-timeout-ms"] ?? null, Number.MAX_SAFE_INTEGER);
      expect(read.error, `connect-timeout-ms ${v}`).toBeUndefined();
      expect(fast, `connect-timeout-ms ${v}`).toBe(read.timeoutMs);
    }
  });

  it("gives a gRPC call the deadline connect reads from the header the hook writes", () => {
    for (const v of grpcValues) {
      const headers: Record<string, string> = { "content-type": "application/grpc", ...(v === undefined ? {} : { "grpc-timeout": v }) };
      const fast = unaryDeadlineMs({ ...headers }, true, limits);
      applyDeadline(headers, true, limits);
      const read = grpc.parseTimeout(headers["grpc-timeout"] ?? null, Number.MAX_SAFE_INTEGER);
      expect(read.error, `grpc-timeout ${v}`).toBeUndefined();
      expect(fast, `grpc-timeout ${v}`).toBeCloseTo(read.timeoutMs!, 9);
    }
  });
});

describe("originAllowed", () => {
  const allowed = ["https://studio.example.com", "http://localhost:5173"];

  it("allows exact origins only", () => {
    expect(originAllowed("https://studio.example.com", allowed)).toBe(true);
    expect(originAllowed("http://localhost:5173", allowed)).toBe(true);
    expect(originAllowed("https://evil.example.com", allowed)).toBe(false);
    expect(originAllowed("https://studio.example.com.evil.com", allowed)).toBe(false);
    expect(originAllowed("http://studio.example.com", allowed)).toBe(false); // scheme matters
    expect(originAllowed("https://studio.example.com:8443", allowed)).toBe(false); // port matters
    expect(originAllowed("null", allowed)).toBe(false);
  });

  it("allows nothing with an empty list (the production default)", () => {
    expect(originAllowed("https://studio.example.com", [])).toBe(false);
  });

  it("allows any origin with * (development)", () => {
    expect(originAllowed("https://anything.example", ["*"])).toBe(true);
  });

  it("never allows the opaque origin null, not even with *", () => {
    expect(originAllowed("null", ["*"])).toBe(false);
    expect(originAllowed("null", ["null"], { loopback: true })).toBe(false);
  });

  it("allows loopback origins only when asked (development), and only http on localhost, 127.0.0.1 and [::1]", () => {
    for (const o of ["http://localhost:5173", "http://127.0.0.1:3000", "http://[::1]:8080", "http://localhost"]) {
      expect(originAllowed(o, [], { loopback: true }), o).toBe(true);
      expect(originAllowed(o, []), o).toBe(false);
    }
    for (const o of ["https://localhost:5173", "http://localhost.evil.example", "http://127.0.0.2:80", "http://[::2]:80", "http://localhost:5173/", "http://LOCALHOST:1", "file://"]) {
      expect(originAllowed(o, [], { loopback: true }), o).toBe(false);
    }
  });

  it("ignores a trailing slash or letter case in a configured origin (browsers send neither)", () => {
    expect(originAllowed("https://studio.example.com", ["https://studio.example.com/"])).toBe(true);
    expect(originAllowed("https://studio.example.com", ["https://Studio.Example.com"])).toBe(true);
  });
});

describe("headers", () => {
  it("sets HSTS only when the server terminates TLS", () => {
    expect(securityHeaders(false)["strict-transport-security"]).toBeUndefined();
    expect(securityHeaders(true)["strict-transport-security"]).toMatch(/max-age=\d+/);
    expect(securityHeaders(false)["x-content-type-options"]).toBe("nosniff");
  });

  it("lets browsers send the auth and request-id headers and read retry-after", () => {
    const allow = CORS_ALLOW_HEADERS.split(", ");
    expect(allow).toEqual(expect.arrayContaining(["authorization", "x-request-id", "Connect-Protocol-Version", "Grpc-Timeout"]));
    expect(CORS_EXPOSE_HEADERS.split(", ")).toEqual(expect.arrayContaining(["x-request-id", "retry-after", "Grpc-Status"]));
  });
});
