import { describe, expect, it } from "vitest";
import { checkRow, rowStrings, rowValues } from "../../../src/engine/drivers/pg/datarow.js";
import { RowTap } from "../../../src/engine/drivers/pg/tap.js";

/** A backend message: type, int32 length (itself included), body. */
function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = type.charCodeAt(0);
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
/** A DataRow body: int16 count, then int32 length (-1 NULL) and bytes per value. */
function rowBody(values: (Buffer | string | null)[]): Buffer {
  const parts = [Buffer.from([values.length >> 8, values.length & 0xff])];
  for (const v of values) {
    const len = Buffer.alloc(4);
    if (v === null) len.writeInt32BE(-1);
    else len.writeInt32BE(Buffer.byteLength(v));
    parts.push(len);
    if (v !== null) parts.push(Buffer.from(v));
  }
  return Buffer.concat(parts);
}

describe("RowTap", () => {
  const rows = [["1", "abc", null], ["2", "é".repeat(3000), ""], ["3", "x", "y"]];
  const stream = Buffer.concat([
    message("T", Buffer.from("row description")),
    ...rows.map((r) => message("D", rowBody(r))),
    message("C", Buffer.from("SELECT 3\0")),
    message("D", rowBody(["4", null, null])),
    message("Z", Buffer.from("I")),
  ]);
  /** What a consumer sees: rows as their decoded values, other bytes as they were given. */
  function run(chunks: Buffer[]) {
    const events: string[] = [];
    const others: Buffer[] = [];
    const tap = new RowTap(
      (buf, start, end) => {
        expect(checkRow(buf, start, end, 3)).toBeUndefined();
        events.push(`row ${JSON.stringify(rowStrings(buf, start, 3))}`);
      },
      (bytes) => {
        others.push(Buffer.from(bytes));
        events.push(`other ${bytes.length}`);
      },
    );
    for (const c of chunks) tap.feed(c);
    // Runs of other messages are merged differently per chunking: compare what is in them, in order.
    const merged: string[] = [];
    for (const e of events) {
      const last = merged[merged.length - 1];
      if (e.startsWith("other") && last?.startsWith("other")) merged[merged.length - 1] = `other ${Number(last.slice(6)) + Number(e.slice(6))}`;
      else merged.push(e);
    }
    return { events: merged, others: Buffer.concat(others).toString("latin1") };
  }
  const whole = run([stream]);

  it("hands out the rows in order and passes every other message on whole", () => {
    expect(whole.events).toEqual([
      "other 20",
      ...rows.map((r) => `row ${JSON.stringify(r)}`),
      "other 14",
      `row ${JSON.stringify(["4", null, null])}`,
      "other 6",
    ]);
    expect(whole.others).toBe(Buffer.concat([message("T", Buffer.from("row description")), message("C", Buffer.from("SELECT 3\0")), message("Z", Buffer.from("I"))]).toString("latin1"));
  });

  it("gives the same result however the bytes are split", () => {
    for (const size of [1, 2, 3, 4, 5, 6, 7, 11, 64, 1000, 4096]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) chunks.push(Buffer.from(stream.subarray(i, i + size)));
      expect(run(chunks), `chunks of ${size}`).toEqual(whole);
    }
    for (let cut = 1; cut < stream.length; cut += 7) expect(run([stream.subarray(0, cut), stream.subarray(cut)]), `cut at ${cut}`).toEqual(whole);
  });

  it("allocates nothing for a huge length prefix beyond the bytes that came", () => {
    const tap = new RowTap(() => expect.fail("no row"), () => expect.fail("nothing whole"));
    const head = Buffer.from([0x44, 0x7f, 0xff, 0xff, 0xff, 0, 1]);
    tap.feed(head);
    tap.feed(Buffer.alloc(1000));
    const partial = (tap as unknown as { partial: Buffer }).partial;
    expect(partial.length).toBeLessThanOrEqual(1 << 20);
  });

  it("stops at a length below its own size", () => {
    const seen: string[] = [];
    const tap = new RowTap(() => seen.push("row"), () => seen.push("other"));
    tap.feed(Buffer.concat([message("Z", Buffer.from("I")), Buffer.from([0x44, 0, 0, 0, 2]), message("D", rowBody([]))]));
    tap.feed(message("D", rowBody([])));
    expect(seen).toEqual(["other"]);
  });
});

describe("DataRow bodies", () => {
  it("are checked against the columns", () => {
    const b = rowBody(["1", null, "abc"]);
    expect(checkRow(b, 0, b.length, 3)).toBeUndefined();
    expect(checkRow(b, 0, b.length, 2)).toBe("a row of 3 values for 2 columns");
    expect(checkRow(b, 0, b.length - 1, 3)).toBe("a row shorter than its columns");
    expect(checkRow(Buffer.concat([b, Buffer.from([0])]), 0, b.length + 1, 3)).toBe("a row longer than its columns");
    expect(checkRow(b, 0, 1, 3)).toBe("a row without its column count");
    const neg = rowBody(["x"]);
    neg.writeInt32BE(-2, 2);
    expect(checkRow(neg, 0, neg.length, 1)).toBe("a value of length -2");
    const long = rowBody(["x"]);
    long.writeInt32BE(0x7fffffff, 2);
    expect(checkRow(long, 0, long.length, 1)).toBe("a row shorter than its columns");
  });

  it("are read as text as pg read them, and as bytes only when the bytes are UTF-8", () => {
    const latin1 = Buffer.from("café", "latin1");
    const values = ["1", null, "", "Ünïcødé 🦄", "y".repeat(100), latin1, Buffer.concat([Buffer.from("z".repeat(70)), latin1])];
    const body = Buffer.concat([Buffer.from("junk"), rowBody(values)]);
    const strings = rowStrings(body, 4, values.length);
    expect(strings).toEqual(values.map((v) => (v === null ? null : Buffer.from(v).toString("utf8"))));
    const raw = rowValues(body, 4, values.length);
    expect(raw.map((v) => (v === null ? null : typeof v === "string" ? `text:${v}` : Buffer.from(v).toString("utf8")))).toEqual([
      "1", null, "", "Ünïcødé 🦄", "y".repeat(100), `text:${strings[5]}`, `text:${strings[6]}`,
    ]);
    // Views, not copies.
    expect((raw[0] as Uint8Array).buffer).toBe(body.buffer);
  });
});
