import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { create, ScalarType, toJsonString, type DescField, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { compileJsonWriter } from "../../../src/server/json-writer.js";
import { prng } from "../../support/prng.js";

/** Every message and service of the generated code. */
async function generated(): Promise<{ messages: DescMessage[]; services: DescService[] }> {
  const root = join(import.meta.dirname, "../../../gen");
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith("_pb.ts")) files.push(p);
    }
  };
  walk(root);
  const messages = new Map<string, DescMessage>();
  const services: DescService[] = [];
  for (const f of files) {
    const mod = (await import(`../../../gen/${relative(root, f).replace(/\.ts$/, ".js")}`)) as Record<string, { kind?: string }>;
    for (const v of Object.values(mod)) {
      if (v?.kind === "message") messages.set((v as DescMessage).typeName, v as DescMessage);
      if (v?.kind === "service") services.push(v as DescService);
    }
  }
  return { messages: [...messages.values()], services };
}

const STRINGS = ["", "a", "übung", "日本語", "😀", "\u2028\u2029", "\ud800", "\udfff x", '"quoted" \\ back', "line\nbreak\ttab\u0000", "</script>", "1", "10", "-1", "__proto__x"];
const NUMBERS = [0, -0, 1, -1, 1.5, 2 ** 31 - 1, -(2 ** 31), 1e21, 5e-324, Number.MAX_VALUE, NaN, Infinity, -Infinity];
const INTS = [0, 1, -1, 7, 2 ** 31 - 1, -(2 ** 31), 4294967295];
const LONGS = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, 123456789012345n];
const LONG_TYPES = new Set([ScalarType.INT64, ScalarType.UINT64, ScalarType.FIXED64, ScalarType.SFIXED64, ScalarType.SINT64]);
const zero = (t: ScalarType): unknown =>
  t === ScalarType.STRING ? "" : t === ScalarType.BOOL ? false : t === ScalarType.BYTES ? new Uint8Array(0) : LONG_TYPES.has(t) ? 0n : 0;
const MAP_KEYS = ["", "a", "1", "10", "2", "b", "日本", "-1", "01"];

function generator(seed: number, withInvalid: boolean) {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const scalar = (t: ScalarType): unknown => {
    switch (t) {
      case ScalarType.STRING:
        return pick(STRINGS);
      case ScalarType.BOOL:
        return r() < 0.5;
      case ScalarType.BYTES:
        return Uint8Array.from({ length: Math.floor(r() * 6) }, () => Math.floor(r() * 256));
      case ScalarType.DOUBLE:
      case ScalarType.FLOAT:
        return pick(NUMBERS);
      case ScalarType.INT64:
      case ScalarType.SINT64:
      case ScalarType.SFIXED64:
      case ScalarType.UINT64:
      case ScalarType.FIXED64:
        return pick(LONGS);
      default:
        return pick(INTS);
    }
  };
  const enumValue = (f: { enum: { values: { number: number }[] } }) => (r() < 0.15 ? 99 : pick(f.enum.values).number);
  const message = (desc: DescMessage, depth: number): unknown => {
    if (desc.typeName === "google.protobuf.Timestamp") {
      const bad = withInvalid && r() < 0.1;
      return create(desc, { seconds: bad ? 400000000000n : BigInt(Math.floor(r() * 4e9) - 1e9), nanos: pick([0, 1, 1000, 1_000_000, 123_456_789, 999_999_999]) } as never);
    }
    if (desc.typeName === "google.protobuf.Duration") {
      const seconds = pick([0n, 1n, -1n, 315576000000n, 86400n]);
      const nanos = pick([0, 1, 500_000_000, -500_000_000, 1000, -1]);
      return create(desc, { seconds, nanos: withInvalid || seconds === 0n || seconds > 0n === nanos >= 0 ? nanos : -nanos } as never);
    }
    const init: Record<string, unknown> = {};
    const oneofsDone = new Set<string>();
    for (const f of desc.fields) {
      if (r() < 0.3) continue;
      if (f.oneof) {
        if (oneofsDone.has(f.oneof.localName)) continue;
        oneofsDone.add(f.oneof.localName);
        const v = value(f, depth);
        if (v !== undefined) init[f.oneof.localName] = { case: f.localName, value: v };
        continue;
      }
      const v = value(f, depth);
      if (v !== undefined) init[f.localName] = v;
    }
    return create(desc, init as never);
  };
  const value = (f: DescField, depth: number): unknown => {
    switch (f.fieldKind) {
      case "scalar":
        // Zero values too: implicit presence leaves them out, explicit presence writes them.
        return r() < 0.2 ? zero(f.scalar) : scalar(f.scalar);
      case "enum":
        return r() < 0.2 ? f.enum.values[0]!.number : enumValue(f);
      case "message":
        return depth > 3 ? undefined : message(f.message, depth + 1);
      case "list": {
        const n = depth > 3 ? 0 : Math.floor(r() * 4);
        return Array.from({ length: n }, () => (f.listKind === "scalar" ? scalar(f.scalar) : f.listKind === "enum" ? enumValue(f) : message(f.message, depth + 1)));
      }
      case "map": {
        const o: Record<string, unknown> = {};
        const n = depth > 3 ? 0 : Math.floor(r() * 4);
        for (let i = 0; i < n; i++) o[pick(MAP_KEYS)] = f.mapKind === "scalar" ? scalar(f.scalar) : f.mapKind === "enum" ? enumValue(f) : message(f.message, depth + 1);
        return o;
      }
    }
  };
  return message;
}

/** The writer's answer and protobuf-es's: the same string, or both refuse. */
function both(desc: DescMessage, write: (m: unknown) => string, msg: unknown): { ours: string; theirs: string } {
  let ours: string;
  let theirs: string;
  try {
    ours = write(msg);
  } catch {
    ours = "(refused)";
  }
  try {
    theirs = toJsonString(desc, msg as never);
  } catch {
    theirs = "(refused)";
  }
  return { ours, theirs };
}

describe("compiled protobuf JSON writer (json-writer.ts)", async () => {
  const { messages, services } = await generated();

  it("writes every message type the API answers with (none is left to reflection)", () => {
    const outputs = new Set(services.flatMap((s) => s.methods.map((m) => m.output)));
    expect(outputs.size).toBeGreaterThan(50);
    const refused = [...outputs].filter((d) => compileJsonWriter(d) === undefined).map((d) => d.typeName);
    expect(refused).toEqual([]);
  });

  it("gives the same bytes as protobuf-es's toJsonString for random messages of every type", () => {
    const ours = messages.filter((d) => !d.typeName.startsWith("google.protobuf."));
    expect(ours.length).toBeGreaterThan(100);
    let compared = 0;
    let nonEmpty = 0;
    for (const desc of ours) {
      const write = compileJsonWriter(desc);
      if (!write) continue;
      for (let seed = 1; seed <= 40; seed++) {
        const msg = generator(seed * 7919 + desc.typeName.length, false)(desc, 0);
        const { ours: a, theirs: b } = both(desc, write, msg);
        if (a !== b) expect({ type: desc.typeName, seed, ours: a }).toEqual({ type: desc.typeName, seed, ours: b });
        compared++;
        if (b.length > 2) nonEmpty++;
      }
    }
    expect(compared).toBeGreaterThan(4000);
    expect(nonEmpty / compared).toBeGreaterThan(0.5);
  });

  it("refuses what protobuf-es refuses (bad timestamps and durations, wrong value types), so that protobuf-es answers", () => {
    let refusedBoth = 0;
    for (const desc of messages.filter((d) => !d.typeName.startsWith("google.protobuf."))) {
      const write = compileJsonWriter(desc);
      if (!write) continue;
      for (let seed = 1; seed <= 20; seed++) {
        const msg = generator(seed * 104729, true)(desc, 0);
        const { ours: a, theirs: b } = both(desc, write, msg);
        if (a === "(refused)" && b === "(refused)") refusedBoth++;
        // Ours may refuse what protobuf-es writes (the caller then asks protobuf-es); never the reverse.
        if (b === "(refused)") expect(a).toBe("(refused)");
        else if (a !== "(refused)") expect(a).toBe(b);
      }
    }
    expect(refusedBoth).toBeGreaterThan(0);
  });

  it("writes a wrong-typed value as nothing: a string in an int64 field, a number in a string field", async () => {
    const { UserSchema } = await import("../../../gen/sqlstudio/auth/v1/auth_pb.js");
    const write = compileJsonWriter(UserSchema)!;
    const user = create(UserSchema, { id: "u1" });
    (user as unknown as Record<string, unknown>).email = 42;
    expect(() => write(user)).toThrow();
    expect(() => toJsonString(UserSchema, user)).toThrow();
    expect(() => write({ ...user, $typeName: "other.Type" })).toThrow();
  });

  it("leaves a map key __proto__ out, as the object protobuf-es builds does", () => {
    const desc = messages.find((d) => d.fields.some((f) => f.fieldKind === "map" && f.mapKey === ScalarType.STRING && f.mapKind === "scalar"))!;
    const f = desc.fields.find((x) => x.fieldKind === "map" && x.mapKind === "scalar")!;
    const msg = create(desc) as unknown as Record<string, Record<string, unknown>>;
    Object.defineProperty(msg[f.localName], "__proto__", { value: "x", enumerable: true, configurable: true, writable: true });
    msg[f.localName]!["1"] = "one";
    const write = compileJsonWriter(desc)!;
    expect(write(msg)).toBe(toJsonString(desc, msg as never));
    expect(write(msg)).toContain('{"1":"one"}');
  });
});
