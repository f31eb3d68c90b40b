import { ServerResponse, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { Readable } from "node:stream";
import { create, type DescMessage, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import {
  Code,
  ConnectError,
  createConnectRouter,
  createServiceImplSpec,
  type ConnectRouterOptions,
  type ContextValues,
  type HandlerContext,
  type Interceptor,
  type MethodImplSpec,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import {
  compressionNegotiate,
  createAsyncIterable,
  createMethodSerializationLookup,
  encodeEnvelope,
  envelopeCompress,
  envelopeDecompress,
  validateUniversalHandlerOptions,
  type Compression,
  type MethodSerializationLookup,
  type UniversalHandler,
} from "@connectrpc/connect/protocol";
import * as connect from "@connectrpc/connect/protocol-connect";
import * as grpc from "@connectrpc/connect/protocol-grpc";
import * as grpcWeb from "@connectrpc/connect/protocol-grpc-web";
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ServiceEntry } from "../common/service.js";
import { isRequestFault } from "./errors.js";
import { applyDeadline, setBaseHeaders, unaryDeadlineMs, type DeadlineLimits } from "./http-policy.js";
import { IncomingHeaders } from "./incoming-headers.js";
import { OutgoingHeaders } from "./outgoing-headers.js";
import { compileJsonWriter, type JsonWriter } from "./json-writer.js";
import { answerRequestFaults } from "./request-faults.js";

/**
 * The unary fast path (issue 13). Unary RPCs in all three protocols (Connect JSON and binary,
 * POST and GET; gRPC over h2c and HTTP/1.1; gRPC-Web binary) are served by one Fastify route per
 * method built from @connectrpc/connect's own protocol pieces: its content-type parsers, timeout
 * parsers, compression negotiation, serialization (with the read/write limits), envelopes, error
 * JSON, trailer encodings and, above all, the same interceptor chain and the same handlers
 * connect-node runs, called as connect's `invokeUnaryImplementation` calls them. What it drops is the per-call machinery around them:
 * the body is buffered by Fastify (a content-type parser returning a Buffer), not read through
 * async iterators; each call has one AbortController, aborted only on a real disconnect, the
 * deadline or the shutdown deadline, always with a reason (no DOMException); gRPC unary writes its
 * one message and trailers directly instead of running the streaming pipeline.
 *
 * Anything the fast path does not serve exactly as connect-node would (an unknown or streaming
 * content type, gRPC-Web text, a method other than POST/GET, a body over the read limit, a
 * malformed gRPC envelope, a GET on a method with side effects) is handed, with the bytes already
 * read, to connect's own universal handler for the method: the answer is then connect-node's by
 * construction. RPC_FAST_PATH=false turns the whole thing off (app.ts).
 */

/** The body parser's verdict for a body it did not buffer (over the limit): connect-node reads it. */
const UNBUFFERED = Symbol("unbuffered");

type AnyReq = IncomingMessage | Http2ServerRequest;
type AnyRes = ServerResponse | Http2ServerResponse;

const enum Proto {
  Connect,
  Grpc,
  GrpcWeb,
}

interface FastMethod {
  spec: MethodImplSpec & { kind: "unary" };
  method: DescMethod;
  serialization: MethodSerializationLookup<never, never>;
  /** Connect GET allowed (idempotency NO_SIDE_EFFECTS). */
  get: boolean;
  /** connect-node's handler for this method: every request the fast path does not serve goes there. */
  fallback: UniversalHandler;
  /** The output's protobuf JSON without reflection, when json-writer.ts writes the type. */
  json: JsonWriter | undefined;
  /** The interceptors around the handler, put together once (see `chain`). */
  run: (req: UnaryRequest) => Promise<UnaryResponse>;
}

export interface FastUnaryOptions {
  services: readonly ServiceEntry[];
  /** The very options connect-fastify gets (interceptors, limits, JSON options, shutdown signal, compression). */
  connect: ConnectRouterOptions;
  contextValues: (req: FastifyRequest) => ContextValues;
  /**
   * The headers every response carries (name, value, …), beside `x-request-id`: the onRequest hook
   * leaves them to the fast path, which writes them with its answer in one writeHead.
   */
  baseHeaders: readonly string[];
  /** The deadline policy; the onRequest hook leaves the fast path's routes' timeout headers as they came. */
  deadlines: DeadlineLimits;
}

/** What the fast path did since the server started (tests prove which path answered). */
export interface FastUnaryStats {
  /** Calls it served itself. */
  served: number;
  /** Requests it handed to connect-node's handler. */
  handedOver: number;
}

/** The content types of unary calls as clients send them (any other still reaches the route). */
const UNARY_CONTENT_TYPES = [
  connect.contentTypeUnaryJson,
  connect.contentTypeUnaryProto,
  grpc.contentTypeProto,
  grpc.contentTypeJson,
  "application/grpc",
  grpcWeb.contentTypeProto,
  grpcWeb.contentTypeJson,
  "application/grpc-web",
];

/** The gRPC-Web and gRPC envelope prefix: 1 byte of flags, 4 of length. */
const ENVELOPE = 5;
const EMPTY = new Uint8Array(0);

/**
 * Registers the fast path's routes (one per unary method) in their own encapsulated Fastify
 * context, whose only body parser buffers every content type. Returns the paths it serves.
 */
export async function registerFastUnary(fastify: FastifyInstance, o: FastUnaryOptions): Promise<{ paths: Set<string>; stats: FastUnaryStats }> {
  const stats: FastUnaryStats = { served: 0, handedOver: 0 };
  const opt = validateUniversalHandlerOptions(o.connect);
  const { readMaxBytes, compressMinBytes, jsonOptions, interceptors } = opt;
  const accept = opt.acceptCompression;
  const { baseHeaders } = o;
  const { writeMaxBytes } = opt;
  // The writer makes protobuf-es's JSON with its default write options only.
  const w = jsonOptions as { alwaysEmitImplicit?: boolean; enumAsInteger?: boolean; useProtoFieldName?: boolean; registry?: unknown } | undefined;
  const defaultJsonWrite = !w?.alwaysEmitImplicit && !w?.enumAsInteger && !w?.useProtoFieldName && !w?.registry;
  // connect's own universal handlers for the unary methods, with the same options: the fallback.
  const router = createConnectRouter(o.connect);
  const methods: FastMethod[] = [];
  for (const [desc, impl] of o.services) {
    const spec = createServiceImplSpec(desc as DescService, impl);
    for (const m of (desc as DescService).methods) {
      if (m.methodKind !== "unary") continue;
      const ms = spec.methods[m.localName] as FastMethod["spec"];
      router.rpc(m, ms.impl as never);
      methods.push({
        spec: ms,
        method: m,
        run: chain(ms, m, interceptors),
        json: defaultJsonWrite ? compileJsonWriter(m.output) : undefined,
        serialization: createMethodSerializationLookup(m, opt.binaryOptions, jsonOptions, opt) as never,
        get: m.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS,
        // Wrapped as connect-node's own routes are (app.ts): bad request bytes answer InvalidArgument.
        fallback: answerRequestFaults(router.handlers[router.handlers.length - 1]!),
      });
    }
  }

  // The shutdown deadline ends every call in flight whose signal someone listens to (connect-node
  // links each call's signal to this one).
  const inFlight = new Set<CallSignal>();
  const shutdown = opt.shutdownSignal;
  shutdown?.addEventListener("abort", () => {
    for (const c of inFlight) c.abort(shutdown.reason);
  });

  /**
   * Writes the status and headers of `serve`'s answer: the base headers, the request id and the
   * call's. On HTTP/1.1 as one flat list, which Node turns into the header block directly.
   */
  const writeHead = (req: AnyReq, res: AnyRes, status: number, h: Headers, connectUnary?: { trailer: Headers; contentLength: number }) => {
    const flat: string[] = baseHeaders.slice();
    flat.push("x-request-id", String(req.headers["x-request-id"] ?? ""));
    h.forEach((value, key) => flat.push(key, value));
    if (connectUnary) {
      connectUnary.trailer.forEach((value, key) => flat.push(`trailer-${key}`, value));
      flat.push("content-length", String(connectUnary.contentLength));
    }
    if (res instanceof ServerResponse) res.writeHead(status, flat);
    else res.writeHead(status, nodeHeaders(flat));
  };

  async function fallback(request: FastifyRequest, reply: FastifyReply, m: FastMethod, body: Buffer | undefined): Promise<void> {
    const res = reply.raw;
    stats.handedOver++;
    // The base headers and deadline, as the onRequest hook gives them on connect-node's routes.
    setBaseHeaders(res, String(request.raw.headers["x-request-id"] ?? ""), baseHeaders);
    applyDeadline(request.raw.headers, true, o.deadlines);
    try {
      // The bytes already read go along; a body that was not read is read from the request by connect-node.
      const given = body === undefined ? undefined : createAsyncIterable([new Uint8Array(body.buffer, body.byteOffset, body.byteLength)]);
      const uReq = universalRequestFromNodeRequest(request.raw, res, given as never, o.contextValues(request));
      await universalResponseToNodeResponse(await m.fallback(uReq), res);
    } catch (e) {
      // What connect-fastify does: a client that went away is no error; anything else is logged.
      if (ConnectError.from(e).code !== Code.Aborted) console.error(`handler for rpc ${m.method.name} of ${m.method.parent.typeName} failed`, e);
    }
  }

  async function serve(request: FastifyRequest, reply: FastifyReply, m: FastMethod): Promise<void> {
    try {
      reply.hijack();
      const req = request.raw as AnyReq;
      const httpMethod = req.method;
      const body = request.body as Buffer | typeof UNBUFFERED | undefined;
      const headers = req.headers;
      const contentType = headers["content-type"];
      let proto: Proto;
      let binary: boolean;
      let bytes: Uint8Array;
      let compressed = false;
      let query: URLSearchParams | undefined;
      if (httpMethod === "POST") {
        if (!(body instanceof Buffer)) return await fallback(request, reply, m, undefined);
        if (contentType === undefined) return await fallback(request, reply, m, body);
        if (contentType.startsWith("application/grpc")) {
          const web = contentType.startsWith("application/grpc-web");
          const type = web ? grpcWeb.parseContentType(contentType) : grpc.parseContentType(contentType);
          if (type === undefined || ("text" in type && type.text)) return await fallback(request, reply, m, body);
          // Exactly one envelope, flags 0 or compressed, within the read limit; anything else is connect-node's to refuse.
          if (body.length < ENVELOPE) return await fallback(request, reply, m, body);
          const flags = body[0]!;
          const len = body.readUInt32BE(1);
          if ((flags !== 0 && flags !== 1) || len !== body.length - ENVELOPE || len > readMaxBytes) return await fallback(request, reply, m, body);
          proto = web ? Proto.GrpcWeb : Proto.Grpc;
          binary = type.binary;
          compressed = flags === 1;
          bytes = body.subarray(ENVELOPE);
        } else {
          const type = connect.parseContentType(contentType);
          if (type === undefined || type.stream || body.length > readMaxBytes) return await fallback(request, reply, m, body);
          proto = Proto.Connect;
          binary = type.binary;
          bytes = body;
        }
      } else if (httpMethod === "GET" && m.get && contentType === undefined) {
        const url = req.url ?? "";
        const q = url.indexOf("?");
        query = new URLSearchParams(q < 0 ? "" : url.slice(q + 1));
        const encoding = query.get("encoding");
        if (encoding !== "json" && encoding !== "proto") return await fallback(request, reply, m, undefined);
        proto = Proto.Connect;
        binary = encoding === "proto";
        const message = query.get("message") ?? "";
        try {
          bytes = query.get("base64") === "1" ? base64Decode(message) : new TextEncoder().encode(message);
        } catch {
          // Not base64: connect-node's answer.
          return await fallback(request, reply, m, undefined);
        }
      } else {
        return await fallback(request, reply, m, body instanceof Buffer ? body : undefined);
      }

      const res = reply.raw as AnyRes;
      stats.served++;
      const isGrpc = proto !== Proto.Connect;
      // What connect would read from the header the hook writes on other routes (http-policy.ts: applyDeadline).
      const timeoutMs = unaryDeadlineMs(headers, isGrpc, o.deadlines);
      const compression = isGrpc
        ? compressionNegotiate(accept, header(headers, "grpc-encoding"), header(headers, "grpc-accept-encoding"), grpc.headerAcceptEncoding)
        : compressionNegotiate(
            accept,
            query ? query.get("compression") : header(headers, "content-encoding"),
            header(headers, "accept-encoding"),
            connect.headerUnaryAcceptEncoding,
          );

      const call = new CallSignal(Date.now() + timeoutMs, res, inFlight, shutdown);
      const responseHeader = new OutgoingHeaders();
      const responseTrailer = new OutgoingHeaders();
      if (proto === Proto.Connect) responseHeader.set(connect.headerContentType, binary ? connect.contentTypeUnaryProto : connect.contentTypeUnaryJson);
      else {
        responseHeader.set(grpc.headerContentType, proto === Proto.Grpc ? (binary ? grpc.contentTypeProto : grpc.contentTypeJson) : binary ? grpcWeb.contentTypeProto : grpcWeb.contentTypeJson);
        responseTrailer.set(grpc.headerGrpcStatus, grpc.grpcStatusOk);
        if (compression.response) responseHeader.set(grpc.headerEncoding, compression.response.name);
      }
      const authority = "authority" in req ? req.authority : headers.host;
      const context: CallContext = {
        method: m.method,
        service: m.method.parent,
        requestMethod: httpMethod,
        protocolName: proto === Proto.Connect ? "connect" : proto === Proto.Grpc ? "grpc" : "grpc-web",
        url: `${"encrypted" in req.socket && req.socket.encrypted ? "https" : "http"}://${authority}${req.url ?? ""}`,
        call,
        requestHeader: new IncomingHeaders(headers),
        responseHeader,
        responseTrailer,
        values: o.contextValues(request),
      };

      let status = 200;
      let out: Uint8Array = EMPTY;
      let error: ConnectError | undefined;
      try {
        if (compression.error) throw compression.error;
        let input;
        try {
          // An envelope without the compressed flag is its message as it is (what envelopeDecompress returns).
          if (isGrpc && compressed) bytes = (await envelopeDecompress({ flags: 1, data: bytes }, compression.request, readMaxBytes)).data;
          else if (compression.request) bytes = await compression.request.decompress(bytes, readMaxBytes);
          input = m.serialization.getI(binary).parse(bytes);
        } catch (e) {
          // Request bytes connect cannot read are the client's fault, as on connect-node's routes (request-faults.ts).
          const err = ConnectError.from(e);
          throw isRequestFault(err.code, err.rawMessage) ? new ConnectError(err.rawMessage, Code.InvalidArgument) : e;
        }
        // The interceptors and the handler (chain), then what they answered with becomes the call's.
        const answer = await m.run(new FastRequest(context, input) as unknown as UnaryRequest);
        copyInto(answer.header, responseHeader);
        copyInto(answer.trailer, responseTrailer);
        const output = answer.message;
        out = serializeOutput(m, binary, output, writeMaxBytes);
      } catch (e) {
        error = e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal, undefined, undefined, e);
      } finally {
        call.end();
      }
      if (res.destroyed) return;

      if (proto === Proto.Connect) {
        if (error) {
          status = connect.codeToHttpStatus(error.code);
          responseHeader.set(connect.headerContentType, connect.contentTypeUnaryJson);
          error.metadata.forEach((value, key) => responseHeader.set(key, value));
          out = connect.errorToJsonBytes(error, jsonOptions);
        }
        if (compression.response && out.byteLength >= compressMinBytes) {
          out = await compression.response.compress(out);
          responseHeader.set(connect.headerUnaryEncoding, compression.response.name);
        }
        // Connect unary sends its trailers as `trailer-` headers (connect's trailerMux), then the length.
        writeHead(req, res, status, responseHeader, { trailer: responseTrailer, contentLength: out.byteLength });
        res.end(out);
        return;
      }

      let wire: Uint8Array;
      try {
        const body = grpcBody(proto, out, error, responseTrailer, { compression: compression.response, minBytes: compressMinBytes });
        wire = body instanceof Uint8Array ? body : await body;
      } catch (e) {
        // Compressing failed: what the pipeline would answer, the error in the trailers and no message.
        try {
          wire = await grpcBody(proto, EMPTY, ConnectError.from(e, Code.Internal), responseTrailer, { compression: compression.response, minBytes: compressMinBytes });
        } catch {
          wire = EMPTY;
        }
      }
      if (res.destroyed) return;
      // Headers first (no content-length: HTTP/1.1 answers chunked, as connect-node's do), then the body
      // in one write, then (gRPC) the trailers.
      writeHead(req, res, 200, responseHeader);
      if (proto === Proto.Grpc) {
        const trailers: string[] = [];
        responseTrailer.forEach((value, key) => trailers.push(key, value));
        res.addTrailers(nodeHeaders(trailers));
      }
      if (wire.byteLength > 0) (res as ServerResponse).end(wire);
      else res.end();
    } catch (e) {
      // A bug of ours outside the call (the call's own errors are answered): logged as connect-fastify
      // logs its adapter's failures, and the response ended rather than left hanging.
      console.error(`fast path for rpc ${m.method.name} of ${m.method.parent.typeName} failed`, e);
      reply.raw.destroy();
    }
  }

  await fastify.register(async (scope) => {
    // Every body, whatever its type, arrives as one Buffer: the protocol is read from it by the route.
    scope.removeAllContentTypeParsers();
    const parser = bufferBody(readMaxBytes + ENVELOPE);
    // The unary content types by name too: Fastify finds a named one in its cache at once, while the
    // catch-all costs a parse of the header on every request.
    scope.addContentTypeParser(UNARY_CONTENT_TYPES, parser);
    scope.addContentTypeParser("*", parser);
    // What Fastify answers itself here (a body it could not read) carries the base headers too.
    scope.addHook("onSend", (request, reply, payload, done) => {
      setBaseHeaders(reply.raw, String(request.raw.headers["x-request-id"] ?? ""), baseHeaders);
      done(null, payload);
    });
    for (const m of methods) {
      scope.all(`/${m.method.parent.typeName}/${m.method.name}`, (request, reply) => serve(request, reply, m));
    }
  });
  return { paths: new Set(methods.map((m) => `/${m.method.parent.typeName}/${m.method.name}`)), stats };
}

/**
 * The call's AbortSignal, made when someone first asks for it (most handlers and interceptors never
 * do): until then a call costs no AbortController, no timer and no listener. Whenever it is made, it
 * is already aborted if the deadline passed, the client went away or the shutdown deadline came;
 * afterwards those abort it, always with a reason (a ConnectError: DeadlineExceeded, Canceled, or
 * the shutdown's Unavailable). A call that ends normally never aborts it.
 */
class CallSignal {
  private controller?: AbortController;
  private timer?: NodeJS.Timeout;
  private finished = false;
  constructor(
    private readonly deadline: number | undefined,
    private readonly res: AnyRes,
    private readonly inFlight: Set<CallSignal>,
    private readonly shutdown: AbortSignal | undefined,
  ) {}

  get signal(): AbortSignal {
    if (this.controller) return this.controller.signal;
    const c = (this.controller = new AbortController());
    const left = this.deadline === undefined ? undefined : this.deadline - Date.now();
    if (this.shutdown?.aborted) c.abort(this.shutdown.reason);
    else if (left !== undefined && left <= 0) c.abort(deadlineExceeded());
    else if (this.res.destroyed && !this.finished) c.abort(clientGone());
    else if (!this.finished) {
      if (left !== undefined) this.timer = setTimeout(() => c.abort(deadlineExceeded()), left);
      this.inFlight.add(this);
      // A response closed before the call finished: the client reset the stream or dropped the connection.
      this.res.once("close", () => {
        if (!this.finished) this.abort(clientGone());
      });
    }
    return c.signal;
  }

  /** The time left until the deadline, ms (HandlerContext.timeoutMs). */
  remainingMs(): number | undefined {
    return this.deadline === undefined ? undefined : this.deadline - Date.now();
  }

  abort(reason: unknown): void {
    if (this.controller && !this.controller.signal.aborted) this.controller.abort(reason);
  }

  end(): void {
    this.finished = true;
    if (this.controller) {
      clearTimeout(this.timer);
      this.inFlight.delete(this);
    }
  }
}

const deadlineExceeded = () => new ConnectError("the operation timed out", Code.DeadlineExceeded);
const clientGone = () => new ConnectError("the client went away", Code.Canceled);

/** What the fast path knows of a call; the handler's HandlerContext is made from it and the request. */
type CallContext = Omit<HandlerContext, "signal" | "timeoutMs"> & { call: CallSignal };

/**
 * The request interceptors see: connect's UnaryRequest, whose `signal` is a getter on the class
 * (the AbortSignal is made only when read). A class, not an object literal with a getter: V8 makes
 * every literal with an accessor the slow way, which cost several µs per call (two per call).
 */
class FastRequest {
  readonly stream = false;
  readonly method: DescMethod;
  readonly service: DescService;
  readonly requestMethod: string;
  readonly url: string;
  readonly header: Headers;
  readonly contextValues: ContextValues;

  constructor(
    /** The call (copies of the request keep it: chain() finds the call by it). */
    readonly context: CallContext,
    readonly message: unknown,
  ) {
    this.method = context.method;
    this.service = context.service;
    this.requestMethod = context.requestMethod;
    this.url = context.url;
    this.header = context.requestHeader;
    this.contextValues = context.values;
  }

  get signal(): AbortSignal {
    return this.context.call.signal;
  }
}

/** The handler's HandlerContext: the call's, with the request (as the interceptors passed it on) and a lazy signal. */
class FastHandlerContext {
  readonly method: DescMethod;
  readonly service: DescService;
  readonly requestMethod: string;
  readonly protocolName: string;
  readonly url: string;
  readonly requestHeader: Headers;
  readonly responseHeader: Headers;
  readonly responseTrailer: Headers;
  readonly values: ContextValues;
  private readonly call: CallSignal;

  constructor(
    context: CallContext,
    private readonly req: UnaryRequest,
  ) {
    this.call = context.call;
    this.method = context.method;
    this.service = req.service;
    this.requestMethod = context.requestMethod;
    this.protocolName = context.protocolName;
    this.url = context.url;
    this.requestHeader = req.header;
    this.responseHeader = context.responseHeader;
    this.responseTrailer = context.responseTrailer;
    this.values = req.contextValues;
  }

  timeoutMs(): number | undefined {
    return this.call.remainingMs();
  }

  get signal(): AbortSignal {
    // A request an interceptor copied with `{ ...req }` has no `signal` (the getter is the class's): the call's.
    return this.req.signal ?? this.call.signal;
  }
}

/**
 * The interceptors around a method's handler, put together once when the route is made. connect
 * puts them together again for every call; that costs a closure per interceptor and call, and the
 * result is the same as long as an interceptor's outer function (`(next) => …`) keeps no state of
 * one call, which none of ours does. The call reaches the handler through its request: a
 * FastRequest, or a copy an interceptor made of it (`{ ...req, message }` keeps `context`).
 * Otherwise as connect's invokeUnaryImplementation: the same request and response objects and
 * HandlerContext, except that the request's and the handler's `signal` are getters (the
 * AbortSignal is only made when read); `serve` copies the answer's headers and trailers to the call's.
 */
function chain(spec: FastMethod["spec"], method: DescMethod, interceptors: Interceptor[]): FastMethod["run"] {
  const output = method.output as DescMessage;
  const service = method.parent;
  const handler = async (req: UnaryRequest): Promise<UnaryResponse> => {
    const context = (req as unknown as Partial<FastRequest>).context;
    if (context === undefined) throw new ConnectError("an interceptor replaced the request without copying it", Code.Internal);
    const message = create(output, (await spec.impl(req.message as never, new FastHandlerContext(context, req) as HandlerContext)) as never);
    return { stream: false, message, method, service, header: context.responseHeader, trailer: context.responseTrailer } as UnaryResponse;
  };
  let next = handler;
  for (let i = interceptors.length - 1; i >= 0; i--) next = interceptors[i]!(next as never) as typeof next;
  return next;
}

/**
 * The response message's bytes. JSON by the method's writer when it has one; anything the writer
 * refuses, or over the write limit, goes to connect's serializer, whose answer (or error) is then
 * the one connect-node would give.
 */
function serializeOutput(m: FastMethod, binary: boolean, output: unknown, writeMaxBytes: number): Uint8Array {
  if (!binary && m.json) {
    try {
      const bytes = Buffer.from(m.json(output));
      if (bytes.byteLength <= writeMaxBytes) return bytes;
    } catch {
      // protobuf-es decides below.
    }
  }
  return m.serialization.getO(binary).serialize(output as never);
}

/** An interceptor that answered with headers of its own: they become the call's. */
function copyInto(from: Headers, to: Headers): void {
  if (from === to) return;
  for (const k of [...to.keys()]) to.delete(k);
  from.forEach((v, k) => to.set(k, v));
}

/**
 * The body of a gRPC or gRPC-Web unary response: its message (unless an error), and for gRPC-Web the
 * trailers. Made at once when nothing is compressed (the common case: no promise to wait for).
 */
function grpcBody(
  proto: Proto,
  out: Uint8Array,
  error: ConnectError | undefined,
  trailer: Headers,
  compress: { compression: Compression | null; minBytes: number },
): Uint8Array | Promise<Uint8Array> {
  if (error) grpc.setTrailerStatus(trailer, error);
  const parts: { flags: number; data: Uint8Array }[] = [];
  if (!error) parts.push({ flags: 0, data: out });
  if (proto === Proto.GrpcWeb) parts.push({ flags: grpcWeb.trailerFlag, data: grpcWeb.trailerSerialize(trailer) });
  const { compression, minBytes } = compress;
  if (compression && parts.some((p) => p.data.byteLength >= minBytes)) {
    return Promise.all(parts.map((p) => envelopeCompress(p, compression, minBytes))).then(frames);
  }
  return frames(parts);
}

function frames(parts: { flags: number; data: Uint8Array }[]): Uint8Array {
  const framed = parts.map((p) => encodeEnvelope(p.flags, p.data));
  return framed.length === 1 ? framed[0]! : framed.length === 0 ? EMPTY : Buffer.concat(framed);
}

function header(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name];
  return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
}

/** A flat name, value, … list as an object for writeHead / addTrailers; a repeated name (set-cookie) becomes a list. */
function nodeHeaders(flat: readonly string[]): Record<string, string | string[]> {
  const o: Record<string, string | string[]> = Object.create(null);
  for (let i = 0; i < flat.length; i += 2) {
    const key = flat[i]!;
    const value = flat[i + 1]!;
    const had = o[key];
    if (had === undefined) o[key] = value;
    else if (Array.isArray(had)) had.push(value);
    else o[key] = [had, value];
  }
  return o;
}

/**
 * A content-type parser that buffers the body into one Buffer. A body over `limit` (declared or
 * read) is not buffered: what was read goes back into the request stream and connect-node reads
 * it all, answering with its own limit error.
 */
function bufferBody(limit: number) {
  return (_req: FastifyRequest, payload: Readable, done: (err: Error | null, body?: unknown) => void): void => {
    const declared = (payload as unknown as IncomingMessage).headers?.["content-length"];
    if (declared !== undefined && Number(declared) > limit) return done(null, UNBUFFERED);
    const chunks: Buffer[] = [];
    let n = 0;
    const cleanup = () => {
      payload.off("data", onData);
      payload.off("end", onEnd);
      payload.off("error", onError);
    };
    const onData = (c: Buffer) => {
      chunks.push(c);
      n += c.length;
      if (n > limit) {
        cleanup();
        payload.pause();
        payload.unshift(Buffer.concat(chunks, n));
        done(null, UNBUFFERED);
      }
    };
    const onEnd = () => {
      cleanup();
      done(null, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, n));
    };
    const onError = (e: Error) => {
      cleanup();
      done(e);
    };
    payload.on("data", onData);
    payload.on("end", onEnd);
    payload.on("error", onError);
  };
}
