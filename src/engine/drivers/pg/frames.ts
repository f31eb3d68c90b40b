import { cellTooLarge, protocolViolation, type WireLimits } from "../../limits.js";
import { FrameWatch } from "../frames.js";

const D = 0x44; // DataRow
const E = 0x45; // ErrorResponse
const N = 0x4e; // NoticeResponse
const COPY_DATA = 0x64;

/**
 * Watches the bytes a PostgreSQL server sends, before pg's parser sees them (pg buffers a message
 * until it is whole, whatever its length prefix says), and stops the connection when a message
 * would make this process hold more than the limits allow: a row over the cell cap (the column
 * named, found from the row's own length prefixes), an error or notice over the message cap, any
 * other message over the control cap. Only message headers are read for ordinary rows; a row's
 * columns are scanned only when the row as a whole is over the cap. The failure is reported after
 * pg has parsed the chunk at hand (a row description in the same chunk names the columns).
 */
export class PgFrames extends FrameWatch {
  private readonly head = Buffer.alloc(5);
  private headLen = 0;
  /** Body bytes of the current message still to come. */
  private remaining = 0;
  private scanner: RowScanner | undefined;

  constructor(
    private readonly limits: WireLimits,
    private readonly columnName: (i: number) => string | undefined,
    fail: (err: Error) => void,
  ) {
    super(fail);
  }

  protected read(chunk: Buffer): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, n - i);
        if (this.scanner) {
          const err = this.scanner.feed(chunk, i, i + take);
          if (err) return this.stop(err);
        }
        this.remaining -= take;
        i += take;
        if (this.remaining === 0) this.scanner = undefined;
        continue;
      }
      let type: number;
      let length: number;
      if (this.headLen === 0 && n - i >= 5) {
        type = chunk[i];
        length = chunk.readUInt32BE(i + 1);
        i += 5;
      } else {
        while (this.headLen < 5 && i < n) this.head[this.headLen++] = chunk[i++];
        if (this.headLen < 5) return;
        this.headLen = 0;
        type = this.head[0];
        length = this.head.readUInt32BE(1);
      }
      const err = this.check(type, length - 4);
      if (err) return this.stop(err);
      this.remaining = length - 4;
    }
  }

  private check(type: number, body: number): (() => Error) | undefined {
    if (body < 0) return () => protocolViolation("a message length below its own size");
    const l = this.limits;
    switch (type) {
      case D:
        if (body > l.maxCellBytes) this.scanner = new RowScanner(l.maxCellBytes, this.columnName);
        return undefined;
      case E:
      case N:
        return body > l.maxMessageBytes ? () => protocolViolation(`an ${type === E ? "error" : "notice"} message of ${body} bytes (at most ${l.maxMessageBytes} are read)`) : undefined;
      case COPY_DATA:
        return body > l.maxCellBytes ? () => cellTooLarge(undefined, body, l.maxCellBytes, true) : undefined;
      default:
        return body > l.maxControlBytes ? () => protocolViolation(`a message of ${body} bytes (type ${String.fromCharCode(type)})`) : undefined;
    }
  }

}

/** Reads a DataRow's column count and length prefixes (skipping the values) until a column crosses the cap. */
class RowScanner {
  private readonly field = Buffer.alloc(4);
  private got = 0;
  private count = -1;
  private col = -1;
  private skip = 0;
  private total = 0;

  constructor(
    private readonly cap: number,
    private readonly name: (i: number) => string | undefined,
  ) {}

  feed(chunk: Buffer, from: number, to: number): (() => Error) | undefined {
    let i = from;
    while (i < to) {
      if (this.skip > 0) {
        const t = Math.min(this.skip, to - i);
        this.skip -= t;
        i += t;
        continue;
      }
      const need = this.count < 0 ? 2 : 4;
      this.field[this.got++] = chunk[i++];
      if (this.got < need) continue;
      this.got = 0;
      if (this.count < 0) {
        this.count = this.field.readInt16BE(0);
        continue;
      }
      const col = ++this.col;
      if (col >= this.count) return () => protocolViolation("a row longer than its columns");
      const len = this.field.readInt32BE(0);
      if (len <= 0) continue;
      const total = (this.total += len);
      if (len > this.cap) return () => cellTooLarge(this.name(col), len, this.cap);
      if (total > this.cap) return () => cellTooLarge(this.name(col), total, this.cap, true);
      this.skip = len;
    }
    return undefined;
  }
}
