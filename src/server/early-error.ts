import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { Code, type ConnectError } from "@connectrpc/connect";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import { endStreamFlag, endStreamToJson, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { fail, R } from "../common/errors.js";

/**
 * Answers a streaming RPC with an error before it reaches Connect's pipeline, in the request's
 * own protocol, exactly as Connect would: gRPC and gRPC-Web as a trailers-only response
 * (grpc-status, grpc-message, grpc-status-details-bin in the headers), the Connect streaming
 * protocol as an end-stream message. Refusing a flood this way costs a few microseconds per
 * request instead of the whole pipeline. Returns false (nothing written) for anything else, which
 * then goes the normal way.
 */
export function writeStreamError(
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
  error: ConnectError,
): boolean {
  const contentType = String(req.headers["content-type"] ?? "");
  const mediaType = contentType.split(";")[0].trim();
  if (/^application\/grpc(-web)?(\+proto|\+json)?$/.test(mediaType)) {
    const headers = { "content-type": mediaType, ...encoded(error).grpc };
    // Trailers-only: over HTTP/2 one HEADERS frame that ends the stream (what gRPC clients such as
    // @grpc/grpc-js require); gRPC-Web over HTTP/1.1 reads the status from the headers.
    // The headers already set on the response (CORS, security, request id) go along.
    if ("stream" in res && !res.stream.headersSent) res.stream.respond({ ...res.getHeaders(), ":status": 200, ...headers }, { endStream: true });
    else res.writeHead(200, headers).end();
    return true;
  }
  if (/^application\/connect\+(proto|json)$/.test(mediaType)) {
    res.writeHead(200, { "content-type": mediaType });
    res.end(encoded(error).connect);
    return true;
  }
  return false;
}

/** The same error refused a thousand times is encoded once. */
const cache = new WeakMap<ConnectError, { grpc: Record<string, string>; connect: Buffer }>();
function encoded(error: ConnectError): { grpc: Record<string, string>; connect: Buffer } {
  let e = cache.get(error);
  if (!e) {
    const grpc: Record<string, string> = {};
    setTrailerStatus(new Headers(), error).forEach((v, k) => (grpc[k] = v));
    const json = JSON.stringify(endStreamToJson(new Headers(), error, undefined));
    cache.set(error, (e = { grpc, connect: Buffer.from(encodeEnvelope(endStreamFlag, new TextEncoder().encode(json))) }));
  }
  return e;
}

/** A streaming RPC, as a unary request to it is told. */
export interface StreamingMethod {
  /** `package.Service/Method` */
  name: string;
  kind: "server_streaming" | "client_streaming" | "bidi_streaming";
}

/**
 * A streaming RPC called with Connect's unary content types (`application/json`,
 * `application/proto`, as a unary example copied to curl sends): Connect itself answers an empty
 * 415, which tells a newcomer nothing. This answers the 415 with a Connect error body (unary JSON,
 * what such a client reads) saying which content type to send. Returns false (nothing written) for
 * any other content type.
 */
export function writeUnaryToStream(req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse, method: StreamingMethod): boolean {
  const mediaType = String(req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  if (mediaType !== "application/json" && mediaType !== "application/proto") return false;
  const kind = method.kind.replace("_", "-");
  const error = fail(
    R.STREAMING_RPC_NEEDS_STREAM_CONTENT_TYPE,
    `${method.name} is a ${kind} RPC: send content-type application/connect+json (or application/connect+proto) with the request in an envelope ` +
      `(1 flag byte, 4 bytes of big-endian length, the message), or call it over gRPC or gRPC-Web; ${mediaType} is for unary RPCs`,
    { field: "content-type", metadata: { use: "application/connect+json", method: method.name, kind: method.kind } },
  );
  res.writeHead(415, { "content-type": "application/json" });
  res.end(Buffer.from(errorToJsonBytes(error, undefined)));
  return true;
}
