/** Raw sockets and bare HTTP/2 requests, for tests that must send what no polite client sends. */
import http2 from "node:http2";
import net from "node:net";

/** The client connection preface of HTTP/2 (RFC 9113 §3.4). */
export const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** An empty SETTINGS frame: what a client sends right after the preface. */
export const H2_EMPTY_SETTINGS = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);

export interface RawConnection {
  socket: net.Socket;
  /** Everything the server sent so far. */
  received(): Buffer;
  /** Resolves when the server (or we) closed the socket, with ms since connect. */
  closed: Promise<number>;
}

export function rawConnect(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let start = 0;
    const closed = new Promise<number>((r) => socket.once("close", () => r(performance.now() - start)));
    socket.on("data", (d) => chunks.push(d));
    socket.once("error", reject);
    socket.once("connect", () => {
      start = performance.now();
      socket.off("error", reject);
      socket.on("error", () => {}); // resets after the server gives up on us are expected
      resolve({ socket, received: () => Buffer.concat(chunks), closed });
    });
  });
}

/** The HTTP/2 frames in a byte stream from the server (type and payload only). */
export function h2Frames(buf: Buffer): { type: number; flags: number; payload: Buffer }[] {
  const out = [];
  let at = 0;
  while (buf.length - at >= 9) {
    const len = buf.readUIntBE(at, 3);
    if (buf.length - at - 9 < len) break;
    out.push({ type: buf[at + 3], flags: buf[at + 4], payload: buf.subarray(at + 9, at + 9 + len) });
    at += 9 + len;
  }
  return out;
}
export const H2_GOAWAY = 0x7;

export interface H2Answer {
  status?: number;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
  /** RST_STREAM code, 0 when the stream closed normally. */
  rstCode: number;
  /** A session or stream error, if any. */
  error?: Error;
}

/** One request on a fresh h2c session, which is closed afterwards. */
export function h2Request(url: string, headers: http2.OutgoingHttpHeaders, body?: Uint8Array | string, timeoutMs = 5000): Promise<H2Answer> {
  return new Promise((resolve) => {
    const session = http2.connect(url);
    const answer: H2Answer = { headers: {}, trailers: {}, body: Buffer.alloc(0), rstCode: 0 };
    const chunks: Buffer[] = [];
    const finish = () => {
      clearTimeout(timer);
      answer.body = Buffer.concat(chunks);
      session.close();
      resolve(answer);
    };
    const timer = setTimeout(() => {
      answer.error = new Error(`no answer within ${timeoutMs} ms`);
      session.destroy();
      finish();
    }, timeoutMs);
    session.on("error", (e) => (answer.error ??= e));
    const req = session.request({ ":method": "POST", ...headers });
    req.on("response", (h) => {
      answer.status = h[":status"];
      answer.headers = h;
    });
    req.on("trailers", (t) => (answer.trailers = t));
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on("error", (e) => (answer.error ??= e));
    req.on("close", () => {
      answer.rstCode = req.rstCode ?? 0;
      finish();
    });
    req.end(body === undefined ? undefined : Buffer.from(body));
  });
}

/** A gRPC length-prefixed message; `declared` lies about the length when given. */
export function grpcFrame(payload: Uint8Array, declared = payload.length): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(declared, 1);
  return Buffer.concat([head, payload]);
}
