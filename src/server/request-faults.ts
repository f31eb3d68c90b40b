import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest, UniversalServerResponse } from "@connectrpc/connect/protocol";
import { codeToHttpStatus, endStreamFlag, errorFromJsonBytes, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { isRequestFault } from "./errors.js";

/**
 * Connect-ES answers Internal when the *request* bytes are bad (errors.ts, isRequestFault), and
 * for unary calls and the first message of a stream it does so before any interceptor runs: so
 * the answer is put right here, around each handler, in each protocol's own form (the Connect
 * error body and its HTTP status, the Connect end-stream message, gRPC trailers, the gRPC-Web
 * trailers frame). Exactly those library errors become InvalidArgument, and invalid base64 in a
 * Connect GET's `message` (a plain Error inside Connect, so "internal error"); every other
 * Internal stays Internal.
 */
function invalid(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** A Connect GET whose `message` is not base64 although `base64=1`. */
function badGetMessage(req: UniversalServerRequest): boolean {
  if (req.method !== "GET") return false;
  const q = new URL(req.url, "http://x").searchParams;
  return q.get("base64") === "1" && !BASE64.test(q.get("message") ?? "");
}

async function readAll(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks);
}

async function* mapChunks(body: AsyncIterable<Uint8Array>, fix: (chunk: Uint8Array) => Uint8Array, atEnd?: () => void): AsyncIterable<Uint8Array> {
  try {
    for await (const c of body) yield fix(c);
  } finally {
    atEnd?.();
  }
}

function envelope(flags: number, data: Uint8Array): Uint8Array {
  const out = Buffer.alloc(5 + data.length);
  out[0] = flags;
  out.writeUInt32BE(data.length, 1);
  out.set(data, 5);
  return out;
}

/** The Connect streaming end-stream message, when it carries a request fault. */
function fixEndStream(chunk: Uint8Array): Uint8Array {
  if (chunk.length < 5 || chunk[0] !== endStreamFlag) return chunk;
  try {
    const end = JSON.parse(Buffer.from(chunk.subarray(5)).toString()) as { error?: { code?: string; message?: string } };
    if (end.error?.code !== "internal" || !isRequestFault(Code.Internal, end.error.message ?? "")) return chunk;
    end.error.code = "invalid_argument";
    return envelope(endStreamFlag, Buffer.from(JSON.stringify(end)));
  } catch {
    return chunk;
  }
}

/** The gRPC-Web trailers frame, when it carries a request fault. */
function fixGrpcWebTrailer(chunk: Uint8Array): Uint8Array {
  if (chunk.length < 5 || chunk[0] !== trailerFlag) return chunk;
  const trailer = trailerParse(chunk.subarray(5));
  const err = findTrailerError(trailer);
  if (!err || !isRequestFault(err.code, err.rawMessage)) return chunk;
  setTrailerStatus(trailer, invalid(err.rawMessage));
  return envelope(trailerFlag, trailerSerialize(trailer));
}

/** gRPC's trailers (Headers the adapter writes once the body is done). */
function fixGrpcTrailer(trailer: Headers | undefined): void {
  if (!trailer) return;
  const err = findTrailerError(trailer);
  if (err && isRequestFault(err.code, err.rawMessage)) setTrailerStatus(trailer, invalid(err.rawMessage));
}

async function fixResponse(req: UniversalServerRequest, res: UniversalServerResponse): Promise<UniversalServerResponse> {
  const type = (res.header?.get("content-type") ?? "").split(";")[0]!.trim();
  if (!res.body || !(Symbol.asyncIterator in (res.body as object))) return res;
  const body = res.body as AsyncIterable<Uint8Array>;
  // Connect unary: a JSON error body with an HTTP status (compressed error bodies are left alone).
  if (type === "application/json" && res.status === 500 && !res.header?.get("content-encoding")) {
    const bytes = await readAll(body);
    let err: ConnectError | undefined;
    try {
      err = errorFromJsonBytes(bytes, undefined, new ConnectError("", Code.Internal));
    } catch {
      err = undefined;
    }
    let fixed: ConnectError | undefined;
    if (err && isRequestFault(err.code, err.rawMessage)) fixed = invalid(err.rawMessage);
    else if (err?.code === Code.Internal && err.rawMessage === "internal error" && badGetMessage(req)) fixed = invalid("invalid base64 in the message query parameter");
    if (!fixed) return { ...res, body: (async function* () { yield bytes; })() };
    const out = errorToJsonBytes(fixed, {});
    res.header?.set("content-length", String(out.byteLength));
    return { ...res, status: codeToHttpStatus(fixed.code), body: (async function* () { yield out; })() };
  }
  if (/^application\/connect\+/.test(type)) return { ...res, body: mapChunks(body, fixEndStream) };
  if (/^application\/grpc-web/.test(type)) return { ...res, body: mapChunks(body, fixGrpcWebTrailer) };
  if (/^application\/grpc/.test(type)) {
    fixGrpcTrailer(res.trailer);
    return { ...res, body: mapChunks(body, (c) => c, () => fixGrpcTrailer(res.trailer)) };
  }
  return res;
}

/** The handler, with the request faults of Connect-ES answered as InvalidArgument. */
export function answerRequestFaults(handler: UniversalHandler): UniversalHandler {
  const wrapped = async (req: UniversalServerRequest) => fixResponse(req, await handler(req));
  return Object.assign(wrapped, handler) as UniversalHandler;
}
