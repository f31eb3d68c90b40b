import { cellTooLarge, protocolViolation, type WireLimits } from "../../limits.js";
import { FrameWatch } from "../frames.js";

const MAX_PACKET = 0xffffff;
/** Per-column length prefixes a row may add to its cells (9 bytes each at most). */
const ROW_SLACK = 64 * 1024;

/**
 * Watches the bytes a MySQL server sends, before mysql2's parser sees them (it joins a packet of
 * 16 MB pieces however many pieces follow), and stops the connection when a packet would make this
 * process hold more than the limits allow: a logical packet over the cell cap (a row: the column
 * named from the row's own length prefixes), an error packet over the message cap. Only packet
 * headers are read for ordinary packets; a packet's columns are scanned only when it is large.
 * The failure is reported after mysql2 has parsed the chunk at hand (so the result's columns are known).
 */
export class MysqlFrames extends FrameWatch {
  private readonly head = Buffer.alloc(4);
  private headLen = 0;
  private remaining = 0;
  /** Bytes of the logical packet read so far (pieces of 16 MB - 1 continue it). */
  private logical = 0;
  /** Length of its first piece. */
  private announced = 0;
  private continuing = false;
  private firstByte = false;
  private scanner: RowScanner | undefined;

  constructor(
    private readonly limits: WireLimits,
    /** The current result's column names, when a result is being read (else undefined). */
    private readonly columns: () => string[] | undefined,
    fail: (err: Error) => void,
  ) {
    super(fail);
  }

  protected read(chunk: Buffer): void {
    const n = chunk.length;
    const l = this.limits;
    let i = 0;
    while (i < n) {
      if (this.remaining > 0) {
        if (this.firstByte) {
          this.firstByte = false;
          // 0xFF starts an error packet (never a row: no length prefix starts so).
          if (chunk[i] === 0xff && this.announced > l.maxMessageBytes) return this.stop(() => protocolViolation(`an error packet of ${this.announced} bytes`));
        }
        const take = Math.min(this.remaining, n - i);
        if (this.scanner) {
          const err = this.scanner.feed(chunk, i, i + take);
          if (err) return this.stop(err);
        }
        this.remaining -= take;
        this.logical += take;
        i += take;
        // A packet of 16 MB pieces past the cap, whatever its length prefixes say.
        if (this.logical > l.maxCellBytes + ROW_SLACK) {
          const scanned = this.scanner?.column();
          const total = this.logical;
          return this.stop(() => {
            const names = this.columns();
            return names ? cellTooLarge(scanned !== undefined ? names[scanned] : undefined, total, l.maxCellBytes, true) : protocolViolation(`a packet of ${total} bytes or more`);
          });
        }
        if (this.remaining === 0 && !this.continuing) this.scanner = undefined;
        continue;
      }
      let length: number;
      if (this.headLen === 0 && n - i >= 4) {
        length = chunk[i] | (chunk[i + 1] << 8) | (chunk[i + 2] << 16);
        i += 4;
      } else {
        while (this.headLen < 4 && i < n) this.head[this.headLen++] = chunk[i++];
        if (this.headLen < 4) return;
        this.headLen = 0;
        length = this.head[0] | (this.head[1] << 8) | (this.head[2] << 16);
      }
      const first = !this.continuing;
      if (first) {
        this.logical = 0;
        this.announced = length;
        this.firstByte = length > 0;
      }
      this.continuing = length === MAX_PACKET;
      // Large packets (rows, presumably) have their columns' lengths scanned for the cell cap.
      if (first && (length > Math.min(l.maxCellBytes, l.maxControlBytes) || this.continuing)) this.scanner = new RowScanner(l.maxCellBytes, this.columns);
      this.remaining = length;
      if (length === 0 && !this.continuing) this.scanner = undefined;
    }
  }

}

/** Reads a text row's length-encoded prefixes (skipping the values) until a column crosses the cap. */
class RowScanner {
  private readonly field = Buffer.alloc(9);
  private need = 0;
  private got = 0;
  private col = -1;
  private skip = 0;
  private total = 0;

  constructor(
    private readonly cap: number,
    private readonly names: () => string[] | undefined,
  ) {}

  /** The column being read, if the row still fits its columns. */
  column(): number | undefined {
    const names = this.names();
    return this.col >= 0 && (!names || this.col < names.length) ? this.col : undefined;
  }

  feed(chunk: Buffer, from: number, to: number): (() => Error) | undefined {
    let i = from;
    while (i < to) {
      if (this.skip > 0) {
        const t = Math.min(this.skip, to - i);
        this.skip -= t;
        i += t;
        continue;
      }
      if (this.need === 0) {
        const b = chunk[i++];
        this.col++;
        if (b < 0xfb) {
          this.cell(b);
          const err = this.check();
          if (err) return err;
          continue;
        }
        if (b === 0xfb) continue; // NULL
        this.need = b === 0xfc ? 2 : b === 0xfd ? 3 : b === 0xfe ? 8 : 0;
        if (this.need === 0) return () => protocolViolation("a row with an invalid length prefix");
        this.got = 0;
        continue;
      }
      this.field[this.got++] = chunk[i++];
      if (this.got < this.need) continue;
      const len = this.need === 8 ? Number(this.field.readBigUInt64LE(0)) : this.field.readUIntLE(0, this.need);
      this.need = 0;
      this.cell(len);
      const err = this.check();
      if (err) return err;
    }
    return undefined;
  }

  private cell(len: number): void {
    this.total += len;
    this.skip = len;
    this.last = len;
  }

  private last = 0;

  private check(): (() => Error) | undefined {
    if (this.last <= this.cap && this.total <= this.cap) return undefined;
    const col = this.col;
    const bytes = this.last > this.cap ? this.last : this.total;
    const row = this.last <= this.cap;
    return () => {
      const names = this.names();
      if (names && col >= names.length) return protocolViolation("a row longer than its columns");
      return cellTooLarge(names?.[col], bytes, this.cap, row);
    };
  }
}
