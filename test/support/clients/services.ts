/**
 * The services the contract suite calls, by path. No test-runner imports: the browser bundle
 * uses this file too. A new feature service is added here (and to REQUIRED_SERVICES in expect.ts).
 */
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Health } from "../../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection as ReflectionV1 } from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1alpha } from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";

export const SERVICES: readonly DescService[] = [Health, ReflectionV1, ReflectionV1alpha];

/** `/<package>.<Service>/<Method>` → the method's descriptor. */
export function methodByPath(path: string): DescMethod {
  for (const s of SERVICES) for (const m of s.methods) if (`/${s.typeName}/${m.name}` === path) return m;
  throw new Error(`no method at ${path}`);
}
