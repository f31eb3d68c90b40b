import { EventEmitter } from "node:events";

const D = 0x44; // DataRow
/**
 * A message split across chunks gets a buffer of its full length when its header arrives, up to
 * this size; a longer one grows as its bytes arrive (PgFrames ends the connection before a message
 * over the limits is whole), so a hostile length prefix costs no allocation of its own.
 */
const EAGER = 1 << 20;

/** Receives a DataRow: its body is `buf` from `start` to `end`, bytes no one writes to again. */
export type RowSink = (buf: Buffer, start: number, end: number) => void;

/**
 * Splits the bytes a PostgreSQL server sends into messages, in order: each DataRow goes to `row` as
 * the bytes of its body, every other message on to `other` (pg's own parser) whole and unchanged.
 *
 * Why: pg's parser makes every value of every row a string, most of what reading a row costs, and
 * a binary client needs only the bytes. A row wholly inside a chunk is handed out as a view of the
 * chunk (a socket's chunks are new buffers, never reused: pg-internals.test.ts); a row split across
 * chunks is assembled in a buffer of its own. pg's parser, given whole messages only, keeps none of
 * them and so never writes into a chunk.
 */
export class RowTap {
  /** A message begun in an earlier chunk: its bytes so far, and its full length (0 until its header is whole). */
  private partial: Buffer | undefined;
  private have = 0;
  private need = 0;
  private stopped = false;

  constructor(
    private readonly row: RowSink,
    private readonly other: (bytes: Buffer) => void,
  ) {}

  feed(chunk: Buffer): void {
    if (this.stopped) return;
    let i = this.partial ? this.complete(chunk, 0) : 0;
    if (this.partial || this.stopped) return;
    const n = chunk.length;
    // Runs of other messages go to pg in one piece.
    let run = i;
    while (n - i >= 5) {
      const end = i + 1 + chunk.readUInt32BE(i + 1);
      if (end < i + 5) {
        if (run < i) this.other(chunk.subarray(run, i));
        return this.stop();
      }
      if (end > n) break;
      if (chunk[i] === D) {
        if (run < i) this.other(chunk.subarray(run, i));
        this.row(chunk, i + 5, end);
        run = end;
      }
      i = end;
    }
    if (run < i) this.other(chunk.subarray(run, i));
    if (i < n) {
      const size = n - i >= 5 ? Math.min(1 + chunk.readUInt32BE(i + 1), EAGER) : 5;
      this.partial = Buffer.allocUnsafe(Math.max(size, 5));
      this.have = 0;
      this.need = 0;
      this.complete(chunk, i);
    }
  }

  /** Adds bytes from `from` to the message begun earlier, delivering it once whole; returns where the chunk's next message starts. */
  private complete(chunk: Buffer, from: number): number {
    let i = from;
    if (this.need === 0) {
      i = this.append(chunk, i, Math.min(chunk.length, i + 5 - this.have));
      if (this.have < 5) return i;
      this.need = 1 + this.partial!.readUInt32BE(1);
      if (this.need < 5) {
        this.stop();
        return chunk.length;
      }
    }
    i = this.append(chunk, i, Math.min(chunk.length, i + this.need - this.have));
    if (this.have < this.need) return i;
    const msg = this.partial!.subarray(0, this.need);
    this.partial = undefined;
    if (msg[0] === D) this.row(msg, 5, msg.length);
    else this.other(msg);
    return i;
  }

  private append(chunk: Buffer, from: number, to: number): number {
    const total = this.have + to - from;
    let buf = this.partial!;
    if (total > buf.length) {
      // Doubling (within the message's length): bytes of a long message are copied a bounded number of times.
      let size = Math.max(buf.length * 2, total);
      if (this.need > 0) size = Math.min(size, this.need);
      const next = Buffer.allocUnsafe(size);
      buf.copy(next, 0, 0, this.have);
      this.partial = buf = next;
    }
    chunk.copy(buf, this.have, from, to);
    this.have = total;
    return to;
  }

  /** A length below its own size: PgFrames, which saw it first, ends the connection; nothing more is read. */
  private stop(): void {
    this.stopped = true;
    this.partial = undefined;
  }
}

/** The part of pg's Connection the tap replaces (not public API: pg-internals.test.ts). */
export interface TappableConnection {
  attachListeners(stream: EventEmitter): void;
}

/**
 * Makes pg's Connection read its socket (plain, or the TLS socket after the handshake) through a
 * RowTap: pg's own parser is attached to a stand-in for the socket, which emits the bytes of every
 * message but the DataRows, and the socket's end.
 */
export function tapRows(connection: TappableConnection, row: RowSink): void {
  const attach = connection.attachListeners.bind(connection);
  connection.attachListeners = (stream: EventEmitter) => {
    const others = new EventEmitter();
    const tap = new RowTap(row, (bytes) => others.emit("data", bytes));
    stream.on("data", (chunk: Buffer) => tap.feed(chunk));
    stream.on("end", () => others.emit("end"));
    attach(others);
  };
}
