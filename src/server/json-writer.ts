import { ScalarType, type DescEnum, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { base64Encode } from "@bufbuild/protobuf/wire";

/**
 * Protobuf JSON of a message type as a function made once per type: the string protobuf-es's
 * `toJsonString(schema, message)` returns with the default write options, byte for byte, without
 * its reflection (a reflect object per message, a field lookup per value, an intermediate JSON
 * value and `JSON.stringify` over it), which cost more per RPC than the rest of our fast path.
 *
 * What it cannot write exactly it does not try: a type that reaches a well-known type other than
 * Timestamp, Duration or Empty, a map with other than string keys or a proto2 required field gets
 * no writer (undefined), and a value protobuf-es would refuse (a wrong type, a timestamp out of
 * range) makes the writer throw, so that the caller asks protobuf-es, which answers with its own
 * error. Tests compare both on random messages of every type the API answers with.
 */
export type JsonWriter = (message: unknown) => string;

/** Thrown by a writer for a value only protobuf-es knows how to refuse. */
class NotWritable extends Error {}
const NOT_WRITABLE = new NotWritable("not writable here");

type Write = (value: unknown) => string;

const IMPLICIT = 2;
const LEGACY_REQUIRED = 3;
const MIN_TIMESTAMP_MS = Date.parse("0001-01-01T00:00:00Z");
const MAX_TIMESTAMP_MS = Date.parse("9999-12-31T23:59:59Z");
const hasOwn = Object.prototype.hasOwnProperty;
const quote = (s: string) => JSON.stringify(s);

/** The writer of a message type, or undefined when it reaches something only protobuf-es writes. */
export function compileJsonWriter(desc: DescMessage): JsonWriter | undefined {
  const writers = new Map<DescMessage, Write | null>();
  const write = messageWriter(desc, writers);
  return write ?? undefined;
}

function messageWriter(desc: DescMessage, writers: Map<DescMessage, Write | null>): Write | null {
  // Made already, refused already, or being made (a type that contains itself).
  if (writers.has(desc)) return writers.get(desc)!;
  switch (desc.typeName) {
    case "google.protobuf.Timestamp":
      return timestamp;
    case "google.protobuf.Duration":
      return duration;
  }
  if (desc.typeName.startsWith("google.protobuf.") && desc.typeName !== "google.protobuf.Empty") return null;
  // Recursion: a placeholder that calls the finished writer.
  let finished: Write | undefined;
  const self: Write = (v) => finished!(v);
  writers.set(desc, self);
  const fields: { test: (m: Record<string, unknown>) => boolean; get: (m: Record<string, unknown>) => unknown; key: string; write: Write }[] = [];
  for (const f of [...desc.fields].sort((a, b) => a.number - b.number)) {
    if (f.presence === LEGACY_REQUIRED) return fail(desc, writers);
    const w = fieldWriter(f, writers);
    if (w === null) return fail(desc, writers);
    fields.push({ ...access(f), key: `${quote(f.jsonName)}:`, write: w });
  }
  const typeName = desc.typeName;
  const n = fields.length;
  finished = (v) => {
    const m = v as Record<string, unknown> | undefined;
    if (typeof m !== "object" || m === null || m.$typeName !== typeName) throw NOT_WRITABLE;
    let out = "{";
    for (let i = 0; i < n; i++) {
      const f = fields[i]!;
      if (!f.test(m)) continue;
      const value = f.write(f.get(m));
      // protobuf-es leaves out what converts to undefined (an empty list or map).
      if (value === "") continue;
      out += out.length === 1 ? f.key + value : "," + f.key + value;
    }
    return out + "}";
  };
  writers.set(desc, finished);
  return finished;
}

function fail(desc: DescMessage, writers: Map<DescMessage, Write | null>): null {
  writers.set(desc, null);
  return null;
}

/** Whether a field is set (protobuf-es's unsafeIsSet) and its value (unsafeGet). */
function access(f: DescField): { test: (m: Record<string, unknown>) => boolean; get: (m: Record<string, unknown>) => unknown } {
  const name = f.localName;
  if (f.oneof) {
    const oneof = f.oneof.localName;
    return {
      test: (m) => (m[oneof] as { case?: string } | undefined)?.case === name,
      get: (m) => (m[oneof] as { value: unknown }).value,
    };
  }
  const get = (m: Record<string, unknown>) => m[name];
  if (f.presence !== IMPLICIT) return { test: (m) => m[name] !== undefined && hasOwn.call(m, name), get };
  switch (f.fieldKind) {
    case "list":
      return { test: (m) => (m[name] as unknown[]).length > 0, get };
    case "map":
      return { test: (m) => Object.keys(m[name] as object).length > 0, get };
    case "scalar": {
      const t = f.scalar;
      if (t === ScalarType.STRING) return { test: (m) => m[name] !== "", get };
      if (t === ScalarType.BOOL) return { test: (m) => m[name] !== false, get };
      if (t === ScalarType.BYTES) return { test: (m) => !((m[name] as unknown) instanceof Uint8Array && !(m[name] as Uint8Array).byteLength), get };
      if (t === ScalarType.DOUBLE || t === ScalarType.FLOAT) return { test: (m) => !Object.is(m[name], 0), get };
      // Loose comparison, as protobuf-es: 0n, 0 and "0" are all zero.
      return { test: (m) => (m[name] as number) != 0, get };
    }
    case "enum": {
      const zero = f.enum.values[0]!.number;
      return { test: (m) => m[name] !== zero, get };
    }
    default:
      return { test: () => true, get };
  }
}

function fieldWriter(f: DescField, writers: Map<DescMessage, Write | null>): Write | null {
  switch (f.fieldKind) {
    case "scalar":
      return scalarWriter(f.scalar);
    case "enum":
      return enumWriter(f.enum);
    case "message":
      return messageWriter(f.message, writers);
    case "list": {
      const item = f.listKind === "scalar" ? scalarWriter(f.scalar) : f.listKind === "enum" ? enumWriter(f.enum) : messageWriter(f.message, writers);
      if (item === null) return null;
      return (v) => {
        if (!Array.isArray(v)) throw NOT_WRITABLE;
        if (v.length === 0) return "";
        let out = "[" + item(v[0]);
        for (let i = 1; i < v.length; i++) out += "," + item(v[i]);
        return out + "]";
      };
    }
    case "map": {
      if (f.mapKey !== ScalarType.STRING) return null;
      const value = f.mapKind === "scalar" ? scalarWriter(f.scalar) : f.mapKind === "enum" ? enumWriter(f.enum) : messageWriter(f.message, writers);
      if (value === null) return null;
      return (v) => {
        if (typeof v !== "object" || v === null) throw NOT_WRITABLE;
        const o = v as Record<string, unknown>;
        let out = "";
        // Object.keys' order is the order JSON.stringify gives the object protobuf-es builds. A key
        // "__proto__" never becomes a property of that object, so it is not written.
        for (const k of Object.keys(o)) {
          if (k === "__proto__") continue;
          out += (out === "" ? "{" : ",") + quote(k) + ":" + value(o[k]);
        }
        return out === "" ? "{}" : out + "}";
      };
    }
  }
}

function enumWriter(e: DescEnum): Write {
  if (e.typeName === "google.protobuf.NullValue") {
    return (v) => {
      if (typeof v !== "number") throw NOT_WRITABLE;
      return "null";
    };
  }
  const names = new Map(e.values.map((x) => [x.number, quote(x.name)]));
  return (v) => {
    if (typeof v !== "number") throw NOT_WRITABLE;
    // An unknown value is written as its number.
    return names.get(v) ?? JSON.stringify(v);
  };
}

function scalarWriter(t: ScalarType): Write {
  switch (t) {
    case ScalarType.INT32:
    case ScalarType.SFIXED32:
    case ScalarType.SINT32:
    case ScalarType.FIXED32:
    case ScalarType.UINT32:
      return (v) => {
        if (typeof v !== "number") throw NOT_WRITABLE;
        return JSON.stringify(v);
      };
    case ScalarType.FLOAT:
    case ScalarType.DOUBLE:
      return (v) => {
        if (typeof v !== "number") throw NOT_WRITABLE;
        if (Number.isNaN(v)) return '"NaN"';
        if (v === Infinity) return '"Infinity"';
        if (v === -Infinity) return '"-Infinity"';
        return JSON.stringify(v);
      };
    case ScalarType.STRING:
      return (v) => {
        if (typeof v !== "string") throw NOT_WRITABLE;
        return quote(v);
      };
    case ScalarType.BOOL:
      return (v) => {
        if (typeof v !== "boolean") throw NOT_WRITABLE;
        return v ? "true" : "false";
      };
    case ScalarType.BYTES:
      return (v) => {
        if (!(v instanceof Uint8Array)) throw NOT_WRITABLE;
        return quote(base64Encode(v));
      };
    default:
      // 64-bit integers: a decimal string. Held as strings or numbers (other than by our generated
      // code), protobuf-es's own conversions decide.
      return (v) => {
        if (typeof v !== "bigint") throw NOT_WRITABLE;
        return `"${v.toString()}"`;
      };
  }
}

/** google.protobuf.Timestamp as protobuf-es writes it (RFC 3339, Z, 0, 3, 6 or 9 fraction digits). */
function timestamp(v: unknown): string {
  const t = v as { $typeName?: string; seconds: bigint; nanos: number };
  if (typeof t !== "object" || t === null || t.$typeName !== "google.protobuf.Timestamp") throw NOT_WRITABLE;
  const ms = Number(t.seconds) * 1000;
  if (!(ms >= MIN_TIMESTAMP_MS && ms <= MAX_TIMESTAMP_MS) || !(t.nanos >= 0 && t.nanos <= 999999999)) throw NOT_WRITABLE;
  let z = "Z";
  if (t.nanos > 0) {
    const nanos = (t.nanos + 1000000000).toString().substring(1);
    z = nanos.substring(3) === "000000" ? `.${nanos.substring(0, 3)}Z` : nanos.substring(6) === "000" ? `.${nanos.substring(0, 6)}Z` : `.${nanos}Z`;
  }
  return `"${new Date(ms).toISOString().replace(".000Z", z)}"`;
}

/** google.protobuf.Duration as protobuf-es writes it ("1.5s"). */
function duration(v: unknown): string {
  const d = v as { $typeName?: string; seconds: bigint; nanos: number };
  if (typeof d !== "object" || d === null || d.$typeName !== "google.protobuf.Duration") throw NOT_WRITABLE;
  const seconds = Number(d.seconds);
  const nanos = d.nanos;
  if (!(seconds <= 315576000000 && seconds >= -315576000000) || (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) throw NOT_WRITABLE;
  let text = d.seconds.toString();
  if (nanos !== 0) {
    let digits = Math.abs(nanos).toString();
    digits = "0".repeat(9 - digits.length) + digits;
    if (digits.substring(3) === "000000") digits = digits.substring(0, 3);
    else if (digits.substring(6) === "000") digits = digits.substring(0, 6);
    text += "." + digits;
    if (nanos < 0 && seconds == 0) text = "-" + text;
  }
  return `"${text}s"`;
}
