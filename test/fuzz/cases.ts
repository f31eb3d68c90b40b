/**
 * The fuzz cases: every RPC of every service in gen/ (found by loading the generated files, so a
 * new RPC is fuzzed without touching this file), a minimal valid request for each built from its
 * schema, and seeded mutations of it at the protobuf level (raw wire bytes written with
 * BinaryWriter), the JSON level and the envelope level.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { create, toBinary, toJsonString, type DescField, type DescMessage, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

// ── a seeded PRNG ──────────────────────────────────────────────────────────

/** mulberry32: small, fast, good enough to pick mutations; same seed, same cases. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

// ── every RPC in gen/ ──────────────────────────────────────────────────────

const GEN = new URL("../../gen/", import.meta.url).pathname;

function pbFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...pbFiles(p));
    else if (name.endsWith("_pb.ts")) out.push(p);
  }
  return out;
}

/** Every service exported by a generated file under gen/, in a stable order. */
export async function allServices(): Promise<DescService[]> {
  const seen = new Map<string, DescService>();
  for (const file of pbFiles(GEN)) {
    const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    for (const v of Object.values(mod)) {
      const d = v as { kind?: string; typeName?: string };
      if (d && typeof d === "object" && d.kind === "service" && d.typeName) seen.set(d.typeName, v as DescService);
    }
  }
  return [...seen.values()].sort((a, b) => a.typeName.localeCompare(b.typeName));
}

export function allMethods(services: DescService[]): DescMethod[] {
  return services.flatMap((s) => s.methods);
}

export const path = (m: DescMethod) => `/${m.parent.typeName}/${m.name}`;

// ── a minimal valid request ────────────────────────────────────────────────

/** What the fuzzer knows of the server's real data, to fill ids with. */
export interface Known {
  connectionId?: string;
  userId?: string;
  sessionId?: string;
  table?: string;
}

function stringFor(field: DescField, known: Known): string {
  const n = field.name.toLowerCase();
  if (n.includes("email")) return "fuzz@example.test";
  if (n === "connection_id" && known.connectionId) return known.connectionId;
  if (n === "session_id" && known.sessionId) return known.sessionId;
  if (n === "user_id" && known.userId) return known.userId;
  if (n.includes("password")) return "Quartz-fuzz-Lantern!42";
  if (n === "sql" || n.includes("query") || n.includes("statement")) return "SELECT 1";
  if (n === "table" || n === "table_name") return known.table ?? "t";
  if (n === "schema" || n === "schema_name") return "main";
  if (n === "host") return "127.0.0.1";
  if (n.includes("token")) return "fuzz-token-0123456789";
  if (n.endsWith("id")) return "00000000-0000-4000-8000-000000000000";
  return "fuzz";
}

function scalarFor(field: DescField & { scalar?: number }, scalar: number, known: Known): unknown {
  // ScalarType: DOUBLE 1, FLOAT 2, INT64 3, UINT64 4, INT32 5, FIXED64 6, FIXED32 7, BOOL 8, STRING 9, BYTES 12, UINT32 13, SFIXED32 15, SFIXED64 16, SINT32 17, SINT64 18
  switch (scalar) {
    case 9:
      return stringFor(field, known);
    case 8:
      return false;
    case 12:
      return new Uint8Array([1, 2, 3]);
    case 3:
    case 4:
    case 6:
    case 16:
    case 18:
      return (field as { longAsString?: boolean }).longAsString ? "1" : 1n;
    default:
      return field.name.toLowerCase() === "port" ? 1 : 1;
  }
}

/** A plain init object for `schema`: every field set to something plausible, nesting to `depth`. */
function initFor(schema: DescMessage, known: Known, depth: number): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  if (depth > 3) return init;
  const oneofsDone = new Set<string>();
  for (const f of schema.fields) {
    let v: unknown;
    switch (f.fieldKind) {
      case "scalar":
        v = scalarFor(f, f.scalar, known);
        break;
      case "enum":
        v = f.enum.values.find((e) => e.number !== 0)?.number ?? 0;
        break;
      case "message":
        v = initFor(f.message, known, depth + 1);
        break;
      case "list":
        if (f.listKind === "scalar") v = [scalarFor(f, f.scalar, known)];
        else if (f.listKind === "enum") v = [f.enum.values.find((e) => e.number !== 0)?.number ?? 0];
        else v = depth < 2 ? [initFor(f.message, known, depth + 1)] : [];
        break;
      case "map": {
        const key = f.mapKey === 9 ? "k" : f.mapKey === 8 ? true : 1;
        const val = f.mapKind === "scalar" ? scalarFor(f, f.scalar, known) : f.mapKind === "enum" ? 0 : initFor(f.message, known, depth + 1);
        v = { [String(key)]: val };
        break;
      }
    }
    if (f.oneof) {
      if (oneofsDone.has(f.oneof.localName)) continue;
      oneofsDone.add(f.oneof.localName);
      init[f.oneof.localName] = { case: f.localName, value: v };
    } else init[f.localName] = v;
  }
  return init;
}

export interface ValidRequest {
  binary: Uint8Array;
  json: string;
}

/** The method's request built from its schema with create(), as protobuf and as JSON. */
export function validRequest(method: DescMethod, known: Known): ValidRequest {
  let msg;
  try {
    msg = create(method.input, initFor(method.input, known, 0) as never);
  } catch {
    msg = create(method.input);
  }
  return { binary: toBinary(method.input, msg), json: toJsonString(method.input, msg) };
}

// ── protobuf-level mutations ───────────────────────────────────────────────

function concat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

/** A field number of the schema (or a nested one), or an unused number. */
function someField(rng: Rng, schema: DescMessage): DescField | undefined {
  return schema.fields.length ? rng.pick(schema.fields) : undefined;
}

function wireTypeOf(f: DescField): WireType {
  if (f.fieldKind === "message" || f.fieldKind === "map" || (f.fieldKind === "list" && f.listKind === "message")) return WireType.LengthDelimited;
  const s = f.fieldKind === "scalar" || (f.fieldKind === "list" && f.listKind === "scalar") ? (f as { scalar: number }).scalar : 0;
  if (s === 9 || s === 12) return WireType.LengthDelimited;
  if (s === 1 || s === 6 || s === 16) return WireType.Bit64;
  if (s === 2 || s === 7 || s === 15) return WireType.Bit32;
  return WireType.Varint;
}

function writeAny(w: BinaryWriter, rng: Rng, no: number, wt: WireType): void {
  w.tag(no, wt);
  switch (wt) {
    case WireType.Varint:
      w.uint64(rng.pick(["0", "1", "18446744073709551615", "9223372036854775808", "4294967296", "2147483648"]));
      break;
    case WireType.Bit64:
      w.fixed64(rng.pick(["0", "18446744073709551615"]));
      break;
    case WireType.Bit32:
      w.fixed32(rng.pick([0, 0xffffffff, 0x7fffffff]));
      break;
    case WireType.LengthDelimited:
      w.bytes(rng.bytes(rng.int(16)));
      break;
    case WireType.StartGroup:
      w.tag(no, WireType.EndGroup);
      break;
    default:
      break;
  }
}

/** Invalid UTF-8: lone continuation, overlong, surrogate, truncated sequence, 0xFF. */
const BAD_UTF8 = [
  [0xff],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xe2, 0x82],
  [0x80, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0x61, 0xfe, 0x62],
].map((b) => new Uint8Array(b));

function stringFields(schema: DescMessage): DescField[] {
  return schema.fields.filter((f) => (f.fieldKind === "scalar" || (f.fieldKind === "list" && f.listKind === "scalar")) && (f as { scalar: number }).scalar === 9);
}

function messageFields(schema: DescMessage): (DescField & { message: DescMessage })[] {
  return schema.fields.filter((f) => f.fieldKind === "message" || (f.fieldKind === "list" && f.listKind === "message")) as never;
}

export interface Mutation {
  name: string;
  bytes: Uint8Array;
}

/** The limit of one request body on the server (READ_MAX_BYTES default). */
export const READ_MAX = 4 * 1024 * 1024;

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/**
 * Messages nested in one another through the given field numbers (outermost first), the innermost
 * empty; written in one pass from precomputed lengths (nesting by re-encoding is quadratic).
 */
function nested(numbers: number[]): Uint8Array {
  const n = numbers.length;
  const sizes = new Array<number>(n + 1);
  sizes[n] = 0;
  for (let i = n - 1; i >= 0; i--) sizes[i] = varintLength(numbers[i]! * 8 + 2) + varintLength(sizes[i + 1]!) + sizes[i + 1]!;
  const out = Buffer.alloc(sizes[0]!);
  let at = 0;
  const varint = (x: number) => {
    while (x >= 0x80) {
      out[at++] = (x % 128) | 0x80;
      x = Math.floor(x / 128);
    }
    out[at++] = x;
  };
  for (let i = 0; i < n; i++) {
    varint(numbers[i]! * 8 + 2);
    varint(sizes[i + 1]!);
  }
  return out;
}

/** Names of the protobuf-level mutations, each a function of (rng, schema, valid bytes). */
export const PB_MUTATIONS: Record<string, (rng: Rng, schema: DescMessage, valid: Uint8Array, big: boolean) => Uint8Array> = {
  valid: (_r, _s, v) => v,
  empty: () => new Uint8Array(0),
  wrongWireType(rng, schema, v) {
    const f = someField(rng, schema);
    const w = new BinaryWriter();
    const no = f?.number ?? 1;
    const right = f ? wireTypeOf(f) : WireType.Varint;
    const wrong = rng.pick([WireType.Varint, WireType.Bit64, WireType.LengthDelimited, WireType.StartGroup, WireType.Bit32].filter((t) => t !== right));
    writeAny(w, rng, no, wrong);
    return rng.chance(0.5) ? concat(v, w.finish()) : concat(w.finish(), v);
  },
  unknownFields(rng, _s, v) {
    const w = new BinaryWriter();
    for (let i = 0, n = 1 + rng.int(8); i < n; i++) writeAny(w, rng, rng.pick([1000, 5000, 536870911, 19000, 19999, 99, 2 + rng.int(200)]), rng.pick([0, 1, 2, 5, 3] as WireType[]));
    return concat(v, w.finish());
  },
  invalidUtf8(rng, schema, v) {
    const fs = stringFields(schema);
    const w = new BinaryWriter();
    const no = fs.length ? rng.pick(fs).number : (someField(rng, schema)?.number ?? 1);
    w.tag(no, WireType.LengthDelimited).bytes(concat(new TextEncoder().encode("ab"), rng.pick(BAD_UTF8), new TextEncoder().encode("cd")));
    // Also inside a nested message's string field, where there is one.
    const mf = messageFields(schema).find((f) => stringFields(f.message).length);
    if (mf && rng.chance(0.5)) {
      const inner = new BinaryWriter();
      inner.tag(stringFields(mf.message)[0]!.number, WireType.LengthDelimited).bytes(rng.pick(BAD_UTF8));
      w.tag(mf.number, WireType.LengthDelimited).bytes(inner.finish());
    }
    return concat(v, w.finish());
  },
  truncated(rng, _s, v) {
    return v.length ? v.subarray(0, rng.int(v.length)) : new Uint8Array([0x0a]);
  },
  bitFlip(rng, _s, v) {
    const b = new Uint8Array(v.length ? v : [0]);
    for (let i = 0, n = 1 + rng.int(4); i < n; i++) b[rng.int(b.length)]! ^= 1 << rng.int(8);
    return b;
  },
  randomBytes(rng) {
    return rng.bytes(rng.int(512));
  },
  badLength(rng, schema) {
    // A length-delimited field whose length runs past the end, or is absurd.
    const f = someField(rng, schema);
    const w = new BinaryWriter();
    w.tag(f?.number ?? 1, WireType.LengthDelimited).uint32(rng.pick([0x7fffffff, 0xffffffff, 1000, 5]));
    return concat(w.finish(), rng.bytes(rng.int(4)));
  },
  overlongVarint(rng, schema, v) {
    const f = someField(rng, schema);
    const tag = ((f?.number ?? 1) << 3) | 0;
    const body = new Uint8Array(11 + rng.int(8)).fill(0xff);
    return concat(v, new Uint8Array([tag & 0x7f | (tag > 0x7f ? 0x80 : 0), ...(tag > 0x7f ? [tag >> 7] : [])]), body);
  },
  badEnum(rng, schema, v) {
    const e = schema.fields.find((f) => f.fieldKind === "enum" || (f.fieldKind === "list" && f.listKind === "enum"));
    const w = new BinaryWriter();
    w.tag(e?.number ?? 1, WireType.Varint).int32(rng.pick([-1, 999, 0x7fffffff, -2147483648]));
    return concat(v, w.finish());
  },
  deepNesting(rng, schema, v, big) {
    // Where messages nest, nest them; always also deep unknown groups (a recursive skip).
    const depth = big ? 200_000 : rng.pick([100, 1_000, 10_000]);
    const mf = messageFields(schema);
    if (mf.length && rng.chance(0.5)) {
      // The first message field, inside itself: the field numbers of the nested type follow.
      let chain: { no: number; msg: DescMessage }[] = [];
      let cur: DescMessage = schema;
      for (let i = 0; i < depth; i++) {
        const m = messageFields(cur);
        if (!m.length) break;
        const f = m[0]!;
        chain.push({ no: f.number, msg: f.message });
        cur = f.message;
      }
      if (chain.length < 8) chain = Array.from({ length: depth }, () => ({ no: mf[0]!.number, msg: schema }));
      return concat(v, nested(chain.map((x) => x.no)));
    }
    const no = 1000 + rng.int(100);
    const open = new BinaryWriter().tag(no, WireType.StartGroup).finish();
    const close = new BinaryWriter().tag(no, WireType.EndGroup).finish();
    const closed = rng.chance(0.7);
    const out = Buffer.alloc(v.length + depth * open.length + (closed ? depth * close.length : 0));
    out.set(v, 0);
    let at = v.length;
    for (let i = 0; i < depth; i++, at += open.length) out.set(open, at);
    if (closed) for (let i = 0; i < depth; i++, at += close.length) out.set(close, at);
    return out;
  },
  hugeRepeated(rng, schema, v, big) {
    const list = schema.fields.filter((f) => f.fieldKind === "list" || f.fieldKind === "map");
    const f = list.length ? rng.pick(list) : someField(rng, schema);
    const n = big ? rng.pick([100_000, 1_000_000, 3_000_000]) : rng.pick([1_000, 10_000]);
    const wt = f ? wireTypeOf(f) : WireType.Varint;
    const w = new BinaryWriter();
    w.tag(f?.number ?? 1, wt);
    if (wt === WireType.LengthDelimited) w.bytes(new Uint8Array(0));
    else if (wt === WireType.Bit64) w.fixed64(0);
    else if (wt === WireType.Bit32) w.fixed32(0);
    else w.uint32(0);
    // One element, repeated n times (written in one go: the generator must not stall the test).
    const one = w.finish();
    return concat(v, Buffer.alloc(one.length * n, one));
  },
  hugeString(rng, schema, v, big) {
    const fs = stringFields(schema);
    const f = fs.length ? rng.pick(fs) : someField(rng, schema);
    const size = big ? rng.pick([READ_MAX - 64 * 1024, READ_MAX + 1024]) : rng.pick([64 * 1024, 512 * 1024]);
    const w = new BinaryWriter();
    w.tag(f?.number ?? 1, WireType.LengthDelimited).string("x".repeat(size));
    return concat(v, w.finish());
  },
};

// ── JSON-level mutations (Connect JSON) ────────────────────────────────────

export const JSON_MUTATIONS: Record<string, (rng: Rng, schema: DescMessage, valid: string, big: boolean) => Uint8Array> = {
  valid: (_r, _s, v) => Buffer.from(v),
  empty: () => new Uint8Array(0),
  wrongType(rng, schema, v) {
    const o = JSON.parse(v) as Record<string, unknown>;
    const f = someField(rng, schema);
    o[f?.jsonName ?? "x"] = rng.pick<unknown>([1, -1.5, "str", true, null, [], {}, [1, "a"], { a: 1 }, "1e400", 1e308, "NaN", "-Infinity", "18446744073709551616", -0]);
    return Buffer.from(JSON.stringify(o));
  },
  unknownField(rng, _s, v) {
    const o = JSON.parse(v) as Record<string, unknown>;
    o[rng.pick(["zzz", "__proto__", "constructor", "toString", "@type", "", "a".repeat(1000)])] = rng.pick<unknown>([1, "x", {}, { polluted: true }]);
    // __proto__ through JSON.stringify of an object literal is dropped; write it raw.
    return Buffer.from(JSON.stringify(o).replace(/^\{/, '{"__proto__":{"isAdmin":true},'));
  },
  invalidUtf8(rng, _s, v) {
    const i = v.indexOf('"', v.indexOf(":") + 1);
    const b = Buffer.from(v);
    if (i < 0) return concat(b, rng.pick(BAD_UTF8));
    return concat(b.subarray(0, i + 1), rng.pick(BAD_UTF8), b.subarray(i + 1));
  },
  badEscape(rng) {
    return Buffer.from(rng.pick(['{"a":"\\ud800"}', '{"a":"\\u00"}', '{"a":"\\x41"}', '{"a":"\u0000"}', "{\"a\":'x'}", "{a:1}", "[]", "null", "1", '"s"', "{}}", "{,}"]));
  },
  truncated(rng, _s, v) {
    return Buffer.from(v.slice(0, rng.int(Math.max(1, v.length))));
  },
  randomBytes(rng) {
    return rng.bytes(rng.int(512));
  },
  deepNesting(rng, schema, _v, big) {
    const depth = big ? 1_000_000 : rng.pick([100, 10_000, 100_000]);
    const key = someField(rng, schema)?.jsonName ?? "a";
    const open = rng.chance(0.5) ? "[".repeat(depth) : `{"${key}":`.repeat(depth);
    return Buffer.from(`{"${key}":${open}`);
  },
  hugeArray(rng, schema, _v, big) {
    const f = schema.fields.find((x) => x.fieldKind === "list") ?? someField(rng, schema);
    const n = big ? 1_000_000 : 10_000;
    return Buffer.from(`{"${f?.jsonName ?? "a"}":[${Array(n).fill(rng.pick(["0", '""', "{}", "null"])).join(",")}]}`);
  },
  hugeString(rng, schema, _v, big) {
    const fs = stringFields(schema);
    const f = fs.length ? rng.pick(fs) : someField(rng, schema);
    const size = big ? rng.pick([READ_MAX - 64 * 1024, READ_MAX + 1024]) : 256 * 1024;
    return Buffer.from(`{"${f?.jsonName ?? "a"}":"${"x".repeat(size)}"}`);
  },
  hugeNumber(rng, schema) {
    const f = someField(rng, schema);
    return Buffer.from(`{"${f?.jsonName ?? "a"}":${rng.pick(["1".repeat(400), "1e999999", "-1e-999999", "0x10", "1_000", "01"])}}`);
  },
};

// ── envelopes ──────────────────────────────────────────────────────────────

export function envelope(flags: number, body: Uint8Array, length = body.length): Uint8Array {
  const h = Buffer.alloc(5);
  h[0] = flags;
  h.writeUInt32BE(length >>> 0, 1);
  return concat(h, body);
}

/** Raw-byte mutations of the enveloped request (gRPC, gRPC-Web, Connect streaming). */
export const ENVELOPE_MUTATIONS: Record<string, (rng: Rng, body: Uint8Array, trailerFlag: number) => { bytes: Uint8Array; headers?: Record<string, string> }> = {
  ok: (_r, b) => ({ bytes: envelope(0, b) }),
  badFlags: (rng, b) => ({ bytes: envelope(rng.pick([0x04, 0x08, 0x40, 0x7f, 0xff, 0x03]), b) }),
  compressedNoEncoding: (_r, b) => ({ bytes: envelope(0x01, b) }),
  compressedBadData: (_r, b) => ({ bytes: envelope(0x01, b), headers: { "grpc-encoding": "gzip", "connect-content-encoding": "gzip" } }),
  unknownEncoding: (_r, b) => ({ bytes: envelope(0x01, b), headers: { "grpc-encoding": "br", "connect-content-encoding": "br" } }),
  lengthTooLarge: (rng, b) => ({ bytes: envelope(0, b, b.length + 1 + rng.int(1000)) }),
  lengthHuge: (rng, b) => ({ bytes: envelope(0, b, rng.pick([0xffffffff, 0x7fffffff, READ_MAX + 1])) }),
  lengthTooSmall: (rng, b) => ({ bytes: envelope(0, b, b.length ? rng.int(b.length) : 0) }),
  partialHeader: (rng) => ({ bytes: new Uint8Array([0, 0, 0].slice(0, 1 + rng.int(3))) }),
  noMessage: () => ({ bytes: new Uint8Array(0) }),
  twoMessages: (_r, b) => ({ bytes: concat(envelope(0, b), envelope(0, b)) }),
  trailersFrame: (_r, b, t) => ({ bytes: concat(envelope(0, b), envelope(t, Buffer.from("grpc-status: 0\r\n"))) }),
  onlyTrailers: (_r, _b, t) => ({ bytes: envelope(t, Buffer.from('{"error":{"code":"internal"}}')) }),
  manySmall: (rng, b) => ({ bytes: concat(Buffer.alloc(5 * (1000 + rng.int(5000))), envelope(0, b)) }),
};

export function hex(b: Uint8Array, max = 96): string {
  const h = Buffer.from(b.subarray(0, max)).toString("hex");
  return b.length > max ? `${h}… (${b.length} bytes)` : h;
}
