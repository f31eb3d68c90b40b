/**
 * Typed clients of any service over every protocol a user has, and the assertions on the errors
 * they get back. A test of a new RPC needs nothing else:
 *
 *   const tables = clientFor(TableService, server, token, "grpc");
 *   await expectRpcError(tables.getRows({ ... }), Code.InvalidArgument, R.UNKNOWN_COLUMN, "filters.0.column");
 *
 * Errors carry their machine-readable part in one sqlstudio.common.v1.ErrorInfo detail (`reason`,
 * `field`, `retry_after`, `metadata`: src/common/errors.ts, the catalog in src/common/reasons.ts);
 * every protocol delivers it (Connect in the body's details, gRPC and gRPC-Web in
 * `grpc-status-details-bin`), and connect-node decodes it into ConnectError.details.
 */
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { expect } from "vitest";
import { ErrorInfoSchema, type ErrorInfo } from "../../gen/sqlstudio/common/v1/error_pb.js";
import type { Reason } from "../../src/common/reasons.js";

export { Code, ConnectError };

/**
 * "connect" is Connect with JSON (connect-node's default), "connect-binary" Connect with protobuf;
 * both over HTTP/1.1. "grpc" is gRPC over h2c, "grpc-web" gRPC-Web over HTTP/1.1.
 */
export type Protocol = "connect" | "connect-binary" | "grpc" | "grpc-web";
export const PROTOCOLS: readonly Protocol[] = ["connect", "connect-binary", "grpc", "grpc-web"];

/** A server to call: a test server (startTestServer, startAuthServer, …), or its base URL. */
export type Target = string | { url: string };

/** An interceptor that sends `Authorization: Bearer <token>`. */
export const bearer =
  (token: string): Interceptor =>
  (next) =>
  (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };

/** A connect-node transport to `server` in `protocol`, sending the access token when one is given. */
export function transportFor(server: Target, token?: string, protocol: Protocol = "connect", interceptors: Interceptor[] = []): Transport {
  const common = { baseUrl: typeof server === "string" ? server : server.url, interceptors: token === undefined ? interceptors : [bearer(token), ...interceptors] };
  if (protocol === "grpc") return createGrpcTransport({ ...common });
  if (protocol === "grpc-web") return createGrpcWebTransport({ ...common, httpVersion: "1.1" });
  return createConnectTransport({ ...common, httpVersion: "1.1", useBinaryFormat: protocol === "connect-binary" });
}

/** A typed client of `service` on `server`, signed in with `token` (none: anonymous). */
export function clientFor<S extends DescService>(service: S, server: Target, token?: string, protocol: Protocol = "connect"): Client<S> {
  return createClient(service, transportFor(server, token, protocol));
}

/** The ErrorInfo detail of an error (undefined when it has none). */
export function errorInfoOf(err: unknown): ErrorInfo | undefined {
  return ConnectError.from(err).findDetails(ErrorInfoSchema)[0];
}

/** A call that failed as expected: the error and its ErrorInfo. */
export interface RpcFailure {
  error: ConnectError;
  info: ErrorInfo | undefined;
}

/** The reason of a catalog entry (R.X), or its name as a string. */
type ReasonName = Reason | (string & {});
/** What the ErrorInfo must say: its reason, or its reason and/or field. */
export type Expected = ReasonName | { reason?: ReasonName; field?: string | RegExp };

/**
 * Expects the call (a promise, or a function that starts it) to fail with `code` and, where given,
 * an ErrorInfo with this `reason` and this `field` (exact, or matching a RegExp); `{ reason, field }`
 * says the same, and names a field without a reason. Answers the error and its ErrorInfo for
 * further checks.
 */
export async function expectRpcError(call: Promise<unknown> | (() => Promise<unknown>), code: Code, reason?: Expected, field?: string | RegExp): Promise<RpcFailure> {
  return checkError(await failure(call, `expected ${Code[code]}, got success`), code, reason, field);
}

/** Expects the call to fail, whatever the code (the test then looks at the message). */
export async function expectRpcFailure(call: Promise<unknown> | (() => Promise<unknown>)): Promise<RpcFailure> {
  const error = await failure(call, "expected a failure, got success");
  return { error, info: error.findDetails(ErrorInfoSchema)[0] };
}

async function failure(call: Promise<unknown> | (() => Promise<unknown>), what: string): Promise<ConnectError> {
  let caught: unknown;
  let threw = false;
  try {
    await (typeof call === "function" ? call() : call);
  } catch (err) {
    caught = err;
    threw = true;
  }
  expect(threw, what).toBe(true);
  return ConnectError.from(caught);
}

/** expectRpcError for code that throws synchronously (a validator, a decoder): it must throw a ConnectError. */
export function expectRpcThrow(fn: () => unknown, code: Code, reason?: Expected, field?: string | RegExp): RpcFailure {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, "expected a ConnectError").toBeInstanceOf(ConnectError);
  return checkError(caught as ConnectError, code, reason, field);
}

function checkError(error: ConnectError, code: Code, expected?: Expected, fieldArg?: string | RegExp): RpcFailure {
  const { reason, field } = typeof expected === "object" ? { field: fieldArg, ...expected } : { reason: expected, field: fieldArg };
  // The message in the comparison: a wrong code shows what the server said.
  expect(`${Code[error.code]}: ${error.rawMessage}`).toMatch(new RegExp(`^${Code[code]}:`));
  const info = error.findDetails(ErrorInfoSchema)[0];
  if (reason !== undefined) expect(info?.reason, `reason of "${error.rawMessage}"`).toBe(reason);
  if (typeof field === "string") expect(info?.field, `field of "${error.rawMessage}"`).toBe(field);
  else if (field) expect(info?.field, `field of "${error.rawMessage}"`).toMatch(field);
  return { error, info };
}

/** The code a call ended with: "ok" when it succeeded (for comparing several calls in one expect). */
export function rpcCode(call: Promise<unknown>): Promise<Code | "ok"> {
  return call.then(
    () => "ok" as const,
    (e: unknown) => ConnectError.from(e).code,
  );
}
