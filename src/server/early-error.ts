import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { ConnectError } from "@connectrpc/connect";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import { endStreamFlag, endStreamToJson } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";

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
