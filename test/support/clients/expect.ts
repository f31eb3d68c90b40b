/**
 * What every client of the contract suite must observe, in one place. Each client test turns
 * its own results into the shapes below and hands them to these expectations; adding an RPC to
 * the contract means adding a case to UNARY_CASES (or STREAM_CASES), not editing every client.
 */
import {
  fromBinary,
  fromJson,
  toBinary,
  toJson,
  type DescFile,
  type DescMethodServerStreaming,
  type DescMethodUnary,
  type DescService,
  type JsonObject,
  type JsonValue,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, MethodOptions_IdempotencyLevel, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { Code } from "@connectrpc/connect";
import { expect } from "vitest";
import { Health } from "../../../gen/grpc/health/v1/health_pb.js";
import {
  ServerReflectionRequestSchema,
  ServerReflectionResponseSchema,
  type ServerReflectionResponse,
} from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { ErrorInfoSchema, file_sqlstudio_common_v1_error } from "../../../gen/sqlstudio/common/v1/error_pb.js";
import { SERVICES } from "./services.js";

export { Code };

/** Every service the server must list through reflection (feature services add themselves in services.ts). */
export const REQUIRED_SERVICES: readonly DescService[] = SERVICES;
export const REQUIRED_SERVICE_NAMES = REQUIRED_SERVICES.map((s) => s.typeName);
/** Both reflection versions; v1alpha is wire- and JSON-identical to v1, so one schema encodes both. */
export const REFLECTION_PATHS = ["/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"] as const;

/** The detail type every deliberate error carries. */
export const ERROR_INFO_TYPE = ErrorInfoSchema.typeName;

/** `/<package>.<Service>/<Method>` */
export const pathOf = (m: { parent: DescService; name: string }) => `/${m.parent.typeName}/${m.name}`;

/** Whether Connect GET is allowed (the RPC is marked NO_SIDE_EFFECTS). */
export const noSideEffects = (m: DescMethodUnary) => m.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS;

export type ExpectedOutcome = { response: JsonObject } | { error: { code: Code; reason: string } };

export interface UnaryCase {
  /** Test title. */
  name: string;
  method: DescMethodUnary;
  /** The request in Connect JSON (proto3 JSON). */
  request: JsonObject;
  expect: ExpectedOutcome;
}

/** Unary calls every client makes. */
export const UNARY_CASES: readonly UnaryCase[] = [
  { name: "Health.Check (whole server) is SERVING", method: Health.method.check, request: {}, expect: { response: { status: "SERVING" } } },
  {
    name: "Health.Check (grpc.health.v1.Health) is SERVING",
    method: Health.method.check,
    request: { service: Health.typeName },
    expect: { response: { status: "SERVING" } },
  },
  {
    name: 'Health.Check("nope") is NotFound with ErrorInfo UNKNOWN_SERVICE',
    method: Health.method.check,
    request: { service: "nope" },
    expect: { error: { code: Code.NotFound, reason: "UNKNOWN_SERVICE" } },
  },
];

export interface StreamCase {
  name: string;
  method: DescMethodServerStreaming;
  request: JsonObject;
  /** The first message the stream must deliver (the client then cancels). */
  first: JsonObject;
}

/** Server streams every client opens, reads one message from, and cancels. */
export const STREAM_CASES: readonly StreamCase[] = [
  { name: "Health.Watch delivers SERVING first", method: Health.method.watch, request: {}, first: { status: "SERVING" } },
];

/** Reflection: file_containing_symbol for each of these must return its file first, plus every import. */
export const REFLECTION_SYMBOLS: readonly { symbol: string; file: string; mustInclude: readonly string[] }[] = [
  { symbol: Health.typeName, file: fileName(Health.file), mustInclude: [] },
  { symbol: `${Health.typeName}.Check`, file: fileName(Health.file), mustInclude: [] },
  // Error details must be resolvable by reflection tools; the file imports google/protobuf/duration.proto.
  { symbol: ERROR_INFO_TYPE, file: fileName(file_sqlstudio_common_v1_error), mustInclude: ["google/protobuf/duration.proto"] },
];

export function fileName(f: DescFile): string {
  return `${f.name}.proto`;
}

// ---------------------------------------------------------------------------------------------
// Encoding helpers: clients that move raw bytes (grpc-js, Python, curl) use these.

export const requestBytes = (c: { method: DescMethodUnary | DescMethodServerStreaming; request: JsonObject }) =>
  toBinary(c.method.input, fromJson(c.method.input, c.request));
export const responseJson = (m: DescMethodUnary | DescMethodServerStreaming, bytes: Uint8Array) =>
  toJson(m.output, fromBinary(m.output, bytes)) as JsonValue;

// ---------------------------------------------------------------------------------------------
// Outcomes as clients see them.

export interface Detail {
  /** Fully-qualified message name (no type URL prefix). */
  type: string;
  value: Uint8Array;
}

export type Outcome =
  | { ok: true; response: JsonValue }
  | {
      ok: false;
      code: Code;
      message?: string;
      /** undefined: this client cannot read error details. */
      details?: Detail[];
    };

/** Asserts what a client saw for a unary case. */
export function expectOutcome(c: UnaryCase, got: Outcome): void {
  if ("response" in c.expect) {
    expect(got, `${c.name}: expected a response`).toEqual({ ok: true, response: c.expect.response });
    return;
  }
  expect(got.ok, `${c.name}: expected an error`).toBe(false);
  if (got.ok) return;
  expect(Code[got.code], `${c.name}: code`).toBe(Code[c.expect.error.code]);
  if (got.details !== undefined) expectErrorInfo(got.details, c.expect.error.reason);
}

/** The details contain exactly one sqlstudio.common.v1.ErrorInfo with this reason. */
export function expectErrorInfo(details: readonly Detail[], reason: string): void {
  const infos = details.filter((d) => d.type === ERROR_INFO_TYPE);
  expect(
    infos.map((d) => d.type),
    `details: ${details.map((d) => d.type).join(", ")}`,
  ).toEqual([ERROR_INFO_TYPE]);
  expect(fromBinary(ErrorInfoSchema, infos[0].value).reason).toBe(reason);
}

/** Connect's code names ("not_found") → Code. */
export function codeFromConnectName(name: string): Code {
  const key = Object.keys(Code).find((k) => Number.isNaN(Number(k)) && k.replace(/[A-Z]/g, (c, i) => (i ? "_" : "") + c.toLowerCase()) === name);
  if (key === undefined) throw new Error(`unknown Connect code ${JSON.stringify(name)}`);
  return Code[key as keyof typeof Code];
}

/** The Connect JSON error body → Outcome (details decoded from base64). */
export function outcomeFromConnectJson(body: { code?: string; message?: string; details?: { type: string; value: string }[] }): Outcome {
  return {
    ok: false,
    code: codeFromConnectName(String(body.code)),
    message: body.message,
    details: (body.details ?? []).map((d) => ({ type: d.type, value: base64Decode(d.value) })),
  };
}

/** Decodes `grpc-status-details-bin` (a google.rpc.Status) by hand: no generated code for it here. */
export function decodeGrpcStatus(bytes: Uint8Array): { code: number; message: string; details: Detail[] } {
  const out = { code: 0, message: "", details: [] as Detail[] };
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 1) out.code = r.int32();
    else if (no === 2) out.message = r.string();
    else if (no === 3) {
      const any = new BinaryReader(r.bytes());
      let typeUrl = "";
      let value: Uint8Array = new Uint8Array();
      while (any.pos < any.len) {
        const [n, w] = any.tag();
        if (n === 1) typeUrl = any.string();
        else if (n === 2) value = any.bytes();
        else any.skip(w);
      }
      out.details.push({ type: typeUrl.slice(typeUrl.lastIndexOf("/") + 1), value });
    } else r.skip(wt);
  }
  return out;
}

/** Standard or URL-safe base64, padded or not. */
export function base64Decode(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64"));
}

// ---------------------------------------------------------------------------------------------
// Reflection.

/** list_services names the required services (and no duplicates). */
export function expectServiceList(names: readonly string[]): void {
  expect(new Set(names).size, `duplicates in ${names.join(", ")}`).toBe(names.length);
  for (const s of REQUIRED_SERVICE_NAMES) expect(names).toContain(s);
}

/**
 * A file_descriptor_response for `symbol`: the file defining it comes first, the set holds
 * every import transitively, and the descriptors decode as FileDescriptorProto.
 */
export function expectFileDescriptors(encoded: readonly Uint8Array[], want: (typeof REFLECTION_SYMBOLS)[number]): FileDescriptorProto[] {
  const files = encoded.map((b) => fromBinary(FileDescriptorProtoSchema, b));
  expect(files.length).toBeGreaterThan(0);
  expect(files[0].name).toBe(want.file);
  const names = files.map((f) => f.name);
  for (const f of files) for (const dep of f.dependency) expect(names, `${f.name} imports ${dep}`).toContain(dep);
  for (const must of want.mustInclude) expect(names).toContain(must);
  const simple = want.symbol.slice(want.symbol.lastIndexOf(".") + 1);
  const pkg = files[0].package;
  const defined = [
    ...files[0].messageType.map((m) => `${pkg}.${m.name}`),
    ...files[0].service.map((s) => `${pkg}.${s.name}`),
    ...files[0].service.flatMap((s) => s.method.map((m) => `${pkg}.${s.name}.${m.name}`)),
  ];
  expect(defined, `${want.file} defines ${simple}`).toContain(want.symbol);
  return files;
}

/** One reflection exchange every client sends on one bidi stream: list, then each symbol. */
export const REFLECTION_REQUESTS: readonly JsonObject[] = [
  { host: "", listServices: "" },
  ...REFLECTION_SYMBOLS.map((s) => ({ host: "", fileContainingSymbol: s.symbol })),
  { host: "", fileContainingSymbol: "no.such.Symbol" },
];

export const reflectionRequestBytes = () => REFLECTION_REQUESTS.map((r) => toBinary(ServerReflectionRequestSchema, fromJson(ServerReflectionRequestSchema, r)));
export const reflectionResponseFromBinary = (b: Uint8Array) => fromBinary(ServerReflectionResponseSchema, b);
export const reflectionResponseFromJson = (j: JsonValue) => fromJson(ServerReflectionResponseSchema, j);

/** The answers to REFLECTION_REQUESTS, in order. */
export function expectReflectionAnswers(answers: readonly ServerReflectionResponse[]): void {
  expect(answers.map((a) => a.messageResponse.case)).toEqual([
    "listServicesResponse",
    ...REFLECTION_SYMBOLS.map(() => "fileDescriptorResponse"),
    "errorResponse",
  ]);
  const [list, ...rest] = answers;
  if (list.messageResponse.case === "listServicesResponse") expectServiceList(list.messageResponse.value.service.map((s) => s.name));
  REFLECTION_SYMBOLS.forEach((want, i) => {
    const a = rest[i].messageResponse;
    if (a.case === "fileDescriptorResponse") expectFileDescriptors(a.value.fileDescriptorProto, want);
    expect(rest[i].originalRequest?.messageRequest).toEqual({ case: "fileContainingSymbol", value: want.symbol });
  });
  const last = rest[rest.length - 1].messageResponse;
  if (last.case === "errorResponse") expect(last.value.errorCode).toBe(Code.NotFound);
}

// ---------------------------------------------------------------------------------------------
// HTTP status of Connect unary errors (connectrpc.com/docs/protocol, "Error Codes").

const CONNECT_HTTP_STATUS: Record<number, number> = {
  [Code.Canceled]: 499,
  [Code.Unknown]: 500,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.FailedPrecondition]: 400,
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 400,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 500,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 500,
  [Code.Unauthenticated]: 401,
};

/** The HTTP status a Connect unary response for this case must have. */
export const connectHttpStatus = (c: UnaryCase) => ("response" in c.expect ? 200 : CONNECT_HTTP_STATUS[c.expect.error.code]);

// ---------------------------------------------------------------------------------------------
// The server's own view: one log line per RPC (src/server/interceptors.ts).

export type LogLine = Record<string, unknown>;

/** Waits until the server logged an RPC line matching `want` after index `since` of its log. */
export async function expectRpcLogged(logs: readonly LogLine[], since: number, want: Partial<Record<"service" | "method" | "protocol" | "code", string>>, timeoutMs = 3000): Promise<LogLine> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = logs.slice(since).find((l) => l.msg === "rpc" && Object.entries(want).every(([k, v]) => l[k] === v));
    if (hit) return hit;
    if (Date.now() > deadline) {
      const seen = logs.slice(since).filter((l) => l.msg === "rpc").map((l) => `${l.method}/${l.protocol}/${l.code}`);
      throw new Error(`no rpc log line like ${JSON.stringify(want)}; saw ${seen.join(", ") || "none"}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
