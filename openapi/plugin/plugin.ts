import { create, createFileRegistry } from "@bufbuild/protobuf";
import {
  CodeGeneratorResponse_Feature,
  CodeGeneratorResponseSchema,
  Edition,
  FileDescriptorSetSchema,
  type CodeGeneratorRequest,
  type CodeGeneratorResponse,
} from "@bufbuild/protobuf/wkt";
import type { Plugin } from "@bufbuild/protoplugin";
import { buildDocument, DEFAULT_OPTIONS, type DocumentOptions } from "./document.js";

export const OUTPUT_FILE = "openapi.json";

/**
 * Plugin options, comma-separated (`opt:` in buf.gen.yaml):
 *   version=<info.version>   public=<pkg.Service | pkg.Service.Method> (repeatable)
 *   error_detail=<message type attached to errors> (repeatable; replaces the default)
 */
export function parseOptions(parameter: string): DocumentOptions & { explicitDetails: boolean } {
  const options = { ...DEFAULT_OPTIONS, public: [...DEFAULT_OPTIONS.public] };
  const details: string[] = [];
  for (const pair of parameter.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const eq = pair.indexOf("=");
    const key = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? "" : pair.slice(eq + 1);
    if (value === "") throw new Error(`option ${key} needs a value`);
    if (key === "version") options.version = value;
    else if (key === "public") options.public.push(value);
    else if (key === "error_detail") details.push(value);
    else throw new Error(`unknown option "${key}" (known: version, public, error_detail)`);
  }
  if (details.length > 0) options.errorDetails = details;
  return { ...options, explicitDetails: details.length > 0 };
}

/** CodeGeneratorRequest → one file, openapi.json. */
export function generate(request: CodeGeneratorRequest): CodeGeneratorResponse {
  const options = parseOptions(request.parameter);
  // Files to generate come with source-retention options in source_file_descriptors; prefer those.
  const protos = request.protoFile.map((p) => request.sourceFileDescriptors.find((s) => s.name === p.name) ?? p);
  const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: protos }));
  const files = [...registry.files].filter((f) => request.fileToGenerate.includes(f.proto.name));
  // The default detail type is documented when present; named ones must exist.
  if (options.explicitDetails) {
    const missing = options.errorDetails.filter((name) => registry.getMessage(name) === undefined);
    if (missing.length) throw new Error(`error_detail: unknown message ${missing.join(", ")}`);
  }
  const content = JSON.stringify(buildDocument(files, registry, options), null, 2) + "\n";
  return create(CodeGeneratorResponseSchema, {
    supportedFeatures: BigInt(CodeGeneratorResponse_Feature.PROTO3_OPTIONAL | CodeGeneratorResponse_Feature.SUPPORTS_EDITIONS),
    minimumEdition: Edition.EDITION_PROTO2,
    maximumEdition: Edition.EDITION_2023,
    file: [{ name: OUTPUT_FILE, content }],
  });
}

export const openapiPlugin: Plugin = {
  name: "protoc-gen-openapi",
  version: "v1.0.0",
  run: generate,
};
