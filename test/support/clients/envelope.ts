/**
 * The length-prefixed framing of gRPC, gRPC-Web and Connect streaming bodies: one flags byte,
 * a big-endian uint32 length, the payload. Used by the clients that speak the wire by hand.
 */

/** Connect streaming: the last frame carries the end-of-stream JSON. */
export const CONNECT_END_STREAM = 0x02;
/** gRPC-Web: the last frame carries the trailers as an HTTP/1-style header block. */
export const GRPC_WEB_TRAILER = 0x80;

export interface Envelope {
  flags: number;
  data: Uint8Array;
}

export function encodeEnvelope(data: Uint8Array | string, flags = 0): Uint8Array<ArrayBuffer> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const out = new Uint8Array(5 + bytes.length);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, bytes.length);
  out.set(bytes, 5);
  return out;
}

/** Every complete envelope in `buf`, and how many bytes they used. */
export function decodeEnvelopes(buf: Uint8Array): { envelopes: Envelope[]; used: number } {
  const envelopes: Envelope[] = [];
  let at = 0;
  while (buf.length - at >= 5) {
    const len = new DataView(buf.buffer, buf.byteOffset + at + 1, 4).getUint32(0);
    if (buf.length - at - 5 < len) break;
    envelopes.push({ flags: buf[at], data: buf.slice(at + 5, at + 5 + len) });
    at += 5 + len;
  }
  return { envelopes, used: at };
}

/** A gRPC-Web trailer frame ("grpc-status: 5\r\ngrpc-message: …") as lower-case headers. */
export function parseTrailerBlock(data: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of new TextDecoder().decode(data).split("\r\n")) {
    const i = line.indexOf(":");
    if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}
