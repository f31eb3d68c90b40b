import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { isPublic } from "../../../src/auth/interceptor.js";
import { RPC_COSTS, costOf } from "../../../src/ratelimit/classes.js";

const GEN = new URL("../../../gen/", import.meta.url).pathname;

/** Every service in the generated code (every *_pb.ts under gen/), found by its descriptor's kind. */
async function generatedServices(): Promise<DescService[]> {
  const files = (readdirSync(GEN, { recursive: true }) as string[]).filter((f) => f.endsWith("_pb.ts"));
  const out: DescService[] = [];
  for (const f of files) {
    const mod = (await import(join(GEN, f))) as Record<string, unknown>;
    for (const v of Object.values(mod)) if (v && typeof v === "object" && (v as { kind?: string }).kind === "service") out.push(v as DescService);
  }
  return out;
}

describe("every RPC has a cost class (src/ratelimit/classes.ts)", async () => {
  const services = await generatedServices();

  it("finds the services (health, reflection and the features)", () => {
    expect(services.map((s) => s.typeName)).toEqual(expect.arrayContaining(["grpc.health.v1.Health", "sqlstudio.auth.v1.AuthService", "sqlstudio.database.v1.QueryService"]));
    expect(services.length).toBeGreaterThanOrEqual(10);
  });

  it("classifies every method of every generated service", () => {
    const missing = services.flatMap((s) => s.methods.filter((m) => !costOf(s.typeName, m.name)).map((m) => `${s.typeName}/${m.name}`));
    expect(missing, "add these to RPC_COSTS").toEqual([]);
  });

  it("names no method that does not exist", () => {
    const known = new Set(services.flatMap((s) => s.methods.map((m) => `${s.typeName}/${m.name}`)));
    const stale = Object.entries(RPC_COSTS).flatMap(([svc, methods]) => Object.keys(methods).map((m) => `${svc}/${m}`)).filter((k) => !known.has(k));
    expect(stale).toEqual([]);
  });

  it("names, for every server-streaming method, the cap on how many a user holds open", () => {
    const uncapped = services.flatMap((s) => s.methods.filter((m) => m.methodKind !== "unary" && !costOf(s.typeName, m.name)?.streams).map((m) => `${s.typeName}/${m.name}`));
    expect(uncapped).toEqual([]);
  });

  it("`public` is exactly the methods callable without an account (they are limited per address)", () => {
    for (const s of services) {
      for (const m of s.methods) {
        const cls = costOf(s.typeName, m.name)?.class;
        if (cls === "exempt") continue;
        expect(cls === "public", `${s.typeName}/${m.name}`).toBe(isPublic(s.typeName, m.name));
      }
    }
  });

  it("exempts only health checks and reflection", () => {
    const exempt = Object.entries(RPC_COSTS).flatMap(([svc, methods]) => Object.entries(methods).filter(([, c]) => c.class === "exempt").map(() => svc));
    expect(new Set(exempt)).toEqual(new Set(["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]));
  });
});
