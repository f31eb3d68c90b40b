import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { create, fromBinary } from "@bufbuild/protobuf";
import { CodeGeneratorRequestSchema, CodeGeneratorResponse_Feature, FileDescriptorSetSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { HealthCheckResponseSchema } from "../../gen/grpc/health/v1/health_pb.js";
import { ErrorInfoSchema } from "../../gen/sqlstudio/common/v1/error_pb.js";
import { generate, openapiPlugin, OUTPUT_FILE } from "../../openapi/plugin/plugin.js";
import { SchemaSet, type JsonSchema } from "../../openapi/plugin/schemas.js";
import { ROOT } from "../support/server.js";
import { validate } from "../support/json-schema.js";

const BUF = join(ROOT, "node_modules/.bin/buf");

/** A package that uses every JSON mapping the plugin knows. */
const FIXTURE = `syntax = "proto3";

package fixture.v1;

import "google/protobuf/any.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

// Color is a color.
enum Color {
  // Not set.
  COLOR_UNSPECIFIED = 0;
  // Red, like a stop sign.
  COLOR_RED = 1;
  COLOR_GREEN = 2;
}

// Scalars holds one field of every scalar type.
message Scalars {
  int64 big = 1; // A trailing comment.
  uint64 ubig = 2;
  fixed64 fbig = 3;
  sint64 sbig = 4;
  int32 small = 5;
  uint32 usmall = 6;
  double dbl = 7;
  float flt = 8;
  bytes blob = 9;
  bool flag = 10;
  string created_at = 11;
  string renamed = 12 [json_name = "otherName"];
  int32 old = 13 [deprecated = true];
}

// Shapes covers enums, lists, maps, oneofs, optional fields and recursion.
message Shapes {
  Color color = 1;
  repeated Color colors = 2;
  repeated string tags = 3;
  repeated Scalars rows = 4;
  map<string, Scalars> by_name = 5;
  map<int64, string> by_id = 6;
  map<bool, int32> by_flag = 7;
  // What to look at.
  oneof target {
    // By its name.
    string name = 8;
    // By its id.
    int64 id = 9;
  }
  optional string note = 10;
  Shapes child = 11;
  repeated Shapes children = 12;
}

// Wkt uses every well-known type.
message Wkt {
  google.protobuf.Timestamp at = 1;
  google.protobuf.Duration took = 2;
  google.protobuf.Struct attrs = 3;
  google.protobuf.Value any_value = 4;
  google.protobuf.ListValue list = 5;
  google.protobuf.Empty nothing = 6;
  google.protobuf.FieldMask mask = 7;
  google.protobuf.Any packed = 8;
  google.protobuf.Int64Value maybe_big = 9;
  google.protobuf.BoolValue maybe_flag = 10;
  google.protobuf.DoubleValue maybe_dbl = 11;
  google.protobuf.BytesValue maybe_blob = 12;
  google.protobuf.NullValue null_value = 13;
}

// GetThingRequest asks for a thing.
message GetThingRequest {
  // The thing's id.
  string id = 1;
}

// GetThingResponse answers GetThingRequest.
message GetThingResponse {
  Scalars scalars = 1;
  Shapes shapes = 2;
  Wkt wkt = 3;
}

// ThingService serves things.
service ThingService {
  // GetThing returns one thing. It never changes anything.
  //
  // A second paragraph.
  rpc GetThing(GetThingRequest) returns (GetThingResponse) {
    option idempotency_level = NO_SIDE_EFFECTS;
  }
  // PutThing stores a thing.
  rpc PutThing(GetThingRequest) returns (google.protobuf.Empty);
  // WatchThings streams things as they change.
  rpc WatchThings(GetThingRequest) returns (stream GetThingResponse);
  rpc UploadThings(stream GetThingRequest) returns (GetThingResponse);
  rpc SyncThings(stream GetThingRequest) returns (stream GetThingResponse);
}

// OnlyStreams has no unary RPCs.
service OnlyStreams {
  // Tail follows the log.
  rpc Tail(GetThingRequest) returns (stream GetThingResponse);
}
`;

/** buf build → the FileDescriptorProtos of a module in `dir` (imports included, with source info). */
function buildImage(dir: string): FileDescriptorProto[] {
  const out = join(mkdtempSync(join(tmpdir(), "openapi-image-")), "image.binpb");
  try {
    execFileSync(BUF, ["build", dir, "-o", out], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    return fromBinary(FileDescriptorSetSchema, readFileSync(out)).file;
  } finally {
    rmSync(join(out, ".."), { recursive: true, force: true });
  }
}

function runPlugin(files: FileDescriptorProto[], toGenerate: string[], parameter = "") {
  const res = generate(create(CodeGeneratorRequestSchema, { fileToGenerate: toGenerate, protoFile: files, parameter }));
  expect(res.error ?? "").toBe("");
  expect(res.file.map((f) => f.name)).toEqual([OUTPUT_FILE]);
  return res;
}

type Doc = {
  info: Record<string, unknown>;
  tags: { name: string; description?: string }[];
  paths: Record<string, { post: Record<string, any> }>;
  components: { schemas: Record<string, JsonSchema & { properties?: Record<string, JsonSchema> }>; securitySchemes: Record<string, unknown> };
  security: unknown;
};

describe("protoc-gen-openapi on a fixture module", () => {
  let dir: string;
  let files: FileDescriptorProto[];
  let text: string;
  let doc: Doc;
  let S: Doc["components"]["schemas"];
  const prop = (msg: string, field: string) => S[`fixture.v1.${msg}`].properties![field];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "openapi-fixture-"));
    writeFileSync(join(dir, "buf.yaml"), "version: v2\n");
    mkdirSync(join(dir, "fixture/v1"), { recursive: true });
    writeFileSync(join(dir, "fixture/v1/fixture.proto"), FIXTURE);
    files = buildImage(dir);
    text = runPlugin(files, ["fixture/v1/fixture.proto"], "public=fixture.v1.ThingService.GetThing,version=9.9.9").file[0].content;
    doc = JSON.parse(text);
    S = doc.components.schemas;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes one deterministic, 2-space JSON file with a trailing newline", () => {
    expect(text.endsWith("}\n")).toBe(true);
    expect(text).toBe(JSON.stringify(doc, null, 2) + "\n");
    const again = runPlugin(files, ["fixture/v1/fixture.proto"], "public=fixture.v1.ThingService.GetThing,version=9.9.9").file[0].content;
    expect(again).toBe(text);
    const names = Object.keys(S);
    expect(names).toEqual([...names].sort());
    expect(Object.keys(doc.paths)).toEqual([...Object.keys(doc.paths)].sort());
  });

  it("declares proto3 optional and editions support", () => {
    const res = runPlugin(files, ["fixture/v1/fixture.proto"]);
    const features = Number(res.supportedFeatures);
    expect(features & CodeGeneratorResponse_Feature.PROTO3_OPTIONAL).toBeTruthy();
    expect(openapiPlugin.name).toBe("protoc-gen-openapi");
  });

  it("has the document header, bearer security scheme and options", () => {
    expect(doc.info.title).toBe("SQL Studio Server API");
    expect(doc.info.version).toBe("9.9.9");
    expect(doc.security).toEqual([{ bearer: [] }]);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer", bearerFormat: "JWT" });
  });

  it("documents unary RPCs only, as POST /<package>.<Service>/<Method>", () => {
    expect(Object.keys(doc.paths)).toEqual(["/fixture.v1.ThingService/GetThing", "/fixture.v1.ThingService/PutThing"]);
    const get = doc.paths["/fixture.v1.ThingService/GetThing"].post;
    expect(get.operationId).toBe("ThingService_GetThing");
    expect(get.tags).toEqual(["fixture.v1.ThingService"]);
    expect(get.summary).toBe("GetThing returns one thing.");
    expect(get.description).toContain("A second paragraph.");
    expect(get.requestBody.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/fixture.v1.GetThingRequest" });
    expect(get.responses["200"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/fixture.v1.GetThingResponse" });
    expect(get.responses.default).toEqual({ $ref: "#/components/responses/ConnectError" });
  });

  it("notes Connect GET for NO_SIDE_EFFECTS RPCs and public ones with security: []", () => {
    const get = doc.paths["/fixture.v1.ThingService/GetThing"].post;
    const put = doc.paths["/fixture.v1.ThingService/PutThing"].post;
    expect(get.description).toContain("Connect GET");
    expect(get["x-connect-get"]).toBe(true);
    expect(put.description).not.toContain("Connect GET");
    expect(put["x-connect-get"]).toBeUndefined();
    expect(get.security).toEqual([]);
    expect(put.security).toBeUndefined();
  });

  it("lists streaming RPCs in the service tag instead of documenting them", () => {
    const tag = doc.tags.find((t) => t.name === "fixture.v1.ThingService")!;
    expect(tag.description).toContain("ThingService serves things.");
    expect(tag.description).toContain("`WatchThings` (server streaming): WatchThings streams things as they change.");
    expect(tag.description).toContain("`UploadThings` (client streaming)");
    expect(tag.description).toContain("`SyncThings` (bidirectional streaming)");
    expect(doc.tags.map((t) => t.name)).toEqual(["fixture.v1.OnlyStreams", "fixture.v1.ThingService"]);
    expect(JSON.stringify(doc.paths)).not.toContain("Tail");
  });

  it("maps scalars to their proto3 JSON form", () => {
    expect(prop("Scalars", "big")).toMatchObject({ type: "string", format: "int64", description: "A trailing comment." });
    expect(prop("Scalars", "ubig")).toMatchObject({ type: "string", format: "uint64" });
    expect(prop("Scalars", "fbig")).toMatchObject({ type: "string", format: "uint64" });
    expect(prop("Scalars", "sbig")).toMatchObject({ type: "string", format: "int64" });
    expect(prop("Scalars", "small")).toMatchObject({ type: "integer", format: "int32" });
    expect(prop("Scalars", "usmall")).toMatchObject({ type: "integer", minimum: 0 });
    expect(prop("Scalars", "dbl")).toEqual({ oneOf: [{ type: "number", format: "double" }, { type: "string", enum: ["NaN", "Infinity", "-Infinity"] }] });
    expect(prop("Scalars", "flt")).toMatchObject({ oneOf: [{ type: "number", format: "float" }, expect.anything()] });
    expect(prop("Scalars", "blob")).toMatchObject({ type: "string", contentEncoding: "base64" });
    expect(prop("Scalars", "flag")).toEqual({ type: "boolean" });
    expect(prop("Scalars", "old")).toMatchObject({ deprecated: true });
  });

  it("uses lowerCamel JSON names, honouring json_name", () => {
    expect(Object.keys(S["fixture.v1.Scalars"].properties!)).toContain("createdAt");
    expect(Object.keys(S["fixture.v1.Scalars"].properties!)).toContain("otherName");
    expect(Object.keys(S["fixture.v1.Scalars"].properties!)).not.toContain("created_at");
    expect(Object.keys(S["fixture.v1.Shapes"].properties!)).toEqual(
      ["color", "colors", "tags", "rows", "byName", "byId", "byFlag", "name", "id", "note", "child", "children"],
    );
  });

  it("maps enums to string enums of their value names", () => {
    expect(S["fixture.v1.Color"]).toMatchObject({ type: "string", enum: ["COLOR_UNSPECIFIED", "COLOR_RED", "COLOR_GREEN"] });
    expect(S["fixture.v1.Color"].description).toContain("- `COLOR_RED`: Red, like a stop sign.");
    expect(prop("Shapes", "color")).toEqual({ $ref: "#/components/schemas/fixture.v1.Color" });
    expect(prop("Shapes", "colors")).toEqual({ type: "array", items: { $ref: "#/components/schemas/fixture.v1.Color" } });
  });

  it("maps repeated to arrays and maps to objects with additionalProperties", () => {
    expect(prop("Shapes", "tags")).toEqual({ type: "array", items: { type: "string" } });
    expect(prop("Shapes", "rows")).toEqual({ type: "array", items: { $ref: "#/components/schemas/fixture.v1.Scalars" } });
    expect(prop("Shapes", "byName")).toEqual({ type: "object", additionalProperties: { $ref: "#/components/schemas/fixture.v1.Scalars" } });
    expect(prop("Shapes", "byId")).toEqual({ type: "object", additionalProperties: { type: "string" }, propertyNames: { pattern: "^-?[0-9]+$" } });
    expect(prop("Shapes", "byFlag")).toMatchObject({ propertyNames: { enum: ["true", "false"] } });
  });

  it("makes oneof members optional properties and describes the oneof", () => {
    const shapes = S["fixture.v1.Shapes"];
    expect(shapes.required).toBeUndefined();
    expect(shapes.description).toContain("Oneof `target`: at most one of `name`, `id` is set.");
    expect(prop("Shapes", "name").description).toBe("By its name.\n\nMember of oneof `target`: set at most one of its fields.");
    expect(prop("Shapes", "id")).toMatchObject({ type: "string", format: "int64" });
    // proto3 optional is a synthetic oneof: a plain optional property.
    expect(prop("Shapes", "note")).toEqual({ type: "string" });
    expect(shapes.description).not.toContain("_note");
  });

  it("handles recursive messages", () => {
    expect(prop("Shapes", "child")).toEqual({ $ref: "#/components/schemas/fixture.v1.Shapes" });
    expect(prop("Shapes", "children")).toEqual({ type: "array", items: { $ref: "#/components/schemas/fixture.v1.Shapes" } });
  });

  it("maps well-known types to their JSON forms", () => {
    expect(S["google.protobuf.Timestamp"]).toMatchObject({ type: "string", format: "date-time" });
    expect(S["google.protobuf.Duration"]).toMatchObject({ type: "string", examples: ["1.5s"] });
    expect(S["google.protobuf.Struct"]).toMatchObject({ type: "object", additionalProperties: { $ref: "#/components/schemas/google.protobuf.Value" } });
    expect(S["google.protobuf.Value"].type).toEqual(["null", "boolean", "number", "string", "array", "object"]);
    expect(S["google.protobuf.ListValue"]).toMatchObject({ type: "array" });
    expect(S["google.protobuf.Empty"]).toMatchObject({ type: "object", additionalProperties: false });
    expect(S["google.protobuf.FieldMask"]).toMatchObject({ type: "string" });
    expect(S["google.protobuf.Any"]).toMatchObject({ type: "object", required: ["@type"] });
    expect(S["google.protobuf.Int64Value"]).toMatchObject({ type: "string", format: "int64" });
    expect(S["google.protobuf.BoolValue"]).toMatchObject({ type: "boolean" });
    expect(S["google.protobuf.DoubleValue"].oneOf).toBeDefined();
    expect(S["google.protobuf.BytesValue"]).toMatchObject({ type: "string", contentEncoding: "base64" });
    expect(S["google.protobuf.NullValue"]).toMatchObject({ type: "null" });
    expect(prop("Wkt", "at")).toEqual({ $ref: "#/components/schemas/google.protobuf.Timestamp" });
    // Only what is reachable: no unused well-known types.
    expect(S["google.protobuf.UInt32Value"]).toBeUndefined();
  });

  it("documents the Connect error body", () => {
    const err = S.ConnectError as { properties: Record<string, unknown>; required: string[] };
    expect(err.required).toEqual(["code"]);
    expect(S.ConnectCode.enum).toHaveLength(16);
    expect(S.ConnectCode.enum).toContain("not_found");
    expect(S.ConnectErrorDetail.properties).toHaveProperty("debug");
  });

  it("its schemas accept what protobuf-es writes as JSON", () => {
    const sample = {
      scalars: { big: "-9007199254740993", ubig: "18446744073709551615", small: -3, dbl: "NaN", flt: 1.5, blob: "AAE", createdAt: "x", otherName: "y" },
      shapes: { color: "COLOR_RED", byId: { "-1": "a" }, byFlag: { true: 1 }, id: "7", child: { colors: ["COLOR_GREEN"] } },
      wkt: { at: "2024-01-31T12:00:00Z", took: "1.500s", attrs: { a: [1, { b: null }] }, anyValue: 3, nothing: {}, mask: "a,b.c", maybeBig: "5", nullValue: null },
    };
    const ref = { $ref: "#/components/schemas/fixture.v1.GetThingResponse" };
    expect(validate(doc, ref, sample)).toEqual([]);
    expect(validate(doc, ref, { scalars: { big: 5 } })).toEqual(["$.scalars.big: expected string, got integer"]);
    expect(validate(doc, ref, { shapes: { color: 1 } })[0]).toContain("$.shapes.color");
    expect(validate(doc, ref, { wkt: { took: "1.5" } })[0]).toContain("does not match");
  });

  it("refuses unknown options", () => {
    expect(() => generate(create(CodeGeneratorRequestSchema, { fileToGenerate: ["fixture/v1/fixture.proto"], protoFile: files, parameter: "nope=1" }))).toThrow(/unknown option/);
    expect(() =>
      generate(create(CodeGeneratorRequestSchema, { fileToGenerate: ["fixture/v1/fixture.proto"], protoFile: files, parameter: "error_detail=x.y.Z" })),
    ).toThrow(/unknown message x.y.Z/);
  });
});

describe("protoc-gen-openapi on this repository", () => {
  it("maps generated descriptors from gen/ (enum → value names, Duration → string)", () => {
    const set = new SchemaSet();
    expect(set.message(HealthCheckResponseSchema)).toEqual({ $ref: "#/components/schemas/grpc.health.v1.HealthCheckResponse" });
    expect(set.get("grpc.health.v1.HealthCheckResponse.ServingStatus")).toMatchObject({ type: "string", enum: ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"] });
    set.message(ErrorInfoSchema);
    expect(set.get("sqlstudio.common.v1.ErrorInfo")!.properties).toMatchObject({
      retryAfter: { $ref: "#/components/schemas/google.protobuf.Duration" },
      metadata: { type: "object", additionalProperties: { type: "string" } },
    });
    expect(set.get("google.protobuf.Duration")).toMatchObject({ type: "string" });
  });

  it("committed openapi/openapi.json is what the plugin makes from proto/ with buf.gen.yaml's options", () => {
    const plugin = (parseYaml(readFileSync(join(ROOT, "buf.gen.yaml"), "utf8")).plugins as { local: unknown; opt?: string[] }[]).find(
      (p) => Array.isArray(p.local) && p.local.includes("openapi/plugin/protoc-gen-openapi.ts"),
    );
    expect(plugin).toBeDefined();
    const protoDir = join(ROOT, "proto");
    const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
    const own = walk(protoDir).filter((f) => f.endsWith(".proto")).map((f) => relative(protoDir, f));
    const image = buildImage(ROOT);
    const content = runPlugin(image, own, (plugin!.opt ?? []).join(",")).file[0].content;
    expect(content, "openapi/openapi.json is stale: run `npm run generate`").toBe(readFileSync(join(ROOT, "openapi/openapi.json"), "utf8"));
  });
});
