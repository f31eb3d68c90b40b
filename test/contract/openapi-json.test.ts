import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServerReflection, type ServerReflectionRequest } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ErrorInfoSchema } from "../../gen/sqlstudio/common/v1/error_pb.js";
import type { components, paths } from "../../openapi/openapi.js";
import { DOCS_CSP } from "../../src/server/docs.js";
import { resolvePointer, validate, type Schema } from "../support/json-schema.js";
import { startTestServer, type TestServer } from "../support/server.js";

type Operation = {
  operationId: string;
  tags: string[];
  security?: unknown[];
  requestBody: { content: { "application/json": { schema: Schema } } };
  responses: Record<string, { $ref?: string; content?: { "application/json": { schema: Schema } } }>;
};
type Document = { paths: Record<string, { post: Operation }>; tags: { name: string }[]; components: Record<string, unknown> };

const CHECK = "/grpc.health.v1.Health/Check";
type CheckRequest = paths[typeof CHECK]["post"]["requestBody"]["content"]["application/json"];
type CheckResponse = paths[typeof CHECK]["post"]["responses"][200]["content"]["application/json"];
type ConnectError = components["schemas"]["ConnectError"];
type ErrorInfo = components["schemas"]["sqlstudio.common.v1.ErrorInfo"];

/** Every service the server answers, and its unary RPCs as paths, from gRPC server reflection. */
async function routed(baseUrl: string): Promise<{ services: string[]; unary: string[] }> {
  const client = createClient(ServerReflection, createGrpcTransport({ baseUrl }));
  async function* one(...reqs: ServerReflectionRequest["messageRequest"][]) {
    for (const messageRequest of reqs) yield { messageRequest };
  }
  const services: string[] = [];
  for await (const res of client.serverReflectionInfo(one({ case: "listServices", value: "" }))) {
    if (res.messageResponse.case === "listServicesResponse") services.push(...res.messageResponse.value.service.map((s) => s.name));
  }
  const unary = new Set<string>();
  const asks = services.map((s) => ({ case: "fileContainingSymbol" as const, value: s }));
  for await (const res of client.serverReflectionInfo(one(...asks))) {
    if (res.messageResponse.case !== "fileDescriptorResponse") throw new Error(`reflection: ${res.messageResponse.case}`);
    for (const bytes of res.messageResponse.value.fileDescriptorProto) {
      const file = fromBinary(FileDescriptorProtoSchema, bytes);
      for (const svc of file.service) {
        const name = `${file.package}.${svc.name}`;
        if (!services.includes(name)) continue;
        for (const m of svc.method) if (!m.clientStreaming && !m.serverStreaming) unary.add(`/${name}/${m.name}`);
      }
    }
  }
  return { services: services.sort(), unary: [...unary].sort() };
}

const postJson = (url: string, body: unknown) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json", "connect-protocol-version": "1" }, body: JSON.stringify(body) });

describe("the OpenAPI contract served at /openapi.json", () => {
  let server: TestServer;
  let doc: Document;
  /** The documented schema of an operation's response (`"200"` or `"default"`), with response $refs followed. */
  const responseSchema = (path: string, status: string): Schema => {
    let res = doc.paths[path].post.responses[status];
    if (res.$ref) res = resolvePointer(doc, res.$ref) as typeof res;
    return res.content!["application/json"].schema;
  };

  beforeAll(async () => {
    server = await startTestServer();
    const res = await fetch(`${server.url}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    doc = (await res.json()) as Document;
  });
  afterAll(() => server?.stop());

  it("documents every unary RPC the server routes, and every service it answers", async () => {
    const { services, unary } = await routed(server.url);
    expect(services).toContain("grpc.health.v1.Health");
    expect(unary).toContain(CHECK);
    const tags = doc.tags.map((t) => t.name);
    for (const s of services) expect(tags, `service ${s} has no tag`).toContain(s);
    const documented = Object.keys(doc.paths);
    for (const p of unary) expect(documented, `${p} is routed but not documented`).toContain(p);
    // And per served service, exactly its unary RPCs (no streaming RPC documented as POST).
    for (const s of services) expect(documented.filter((p) => p.startsWith(`/${s}/`))).toEqual(unary.filter((p) => p.startsWith(`/${s}/`)));
    for (const [p, item] of Object.entries(doc.paths)) {
      const [, service, method] = p.split("/");
      expect(item.post.operationId).toMatch(new RegExp(`_${method}$`));
      expect(item.post.tags).toEqual([service]);
    }
  });

  it("Health.Check over plain fetch: typed request, response valid against the documented schema", async () => {
    const body: CheckRequest = { service: "" };
    const res = await postJson(`${server.url}${CHECK}`, body);
    expect(res.status).toBe(200);
    const json = (await res.json()) as CheckResponse;
    expect(validate(doc, responseSchema(CHECK, "200"), json)).toEqual([]);
    expect(json.status).toBe("SERVING");
    expect(doc.paths[CHECK].post.security).toEqual([]);
    // The checker really checks: a wrong shape is reported.
    expect(validate(doc, responseSchema(CHECK, "200"), { status: 1 })).not.toEqual([]);
  });

  it("Health.Check is Connect-GET-able as documented (NO_SIDE_EFFECTS)", async () => {
    const message = encodeURIComponent(JSON.stringify({ service: "" } satisfies CheckRequest));
    const res = await fetch(`${server.url}${CHECK}?connect=v1&encoding=json&message=${message}`);
    expect(res.status).toBe(200);
    expect(validate(doc, responseSchema(CHECK, "200"), await res.json())).toEqual([]);
    expect((doc.paths[CHECK].post as Record<string, unknown>)["x-connect-get"]).toBe(true);
  });

  it("an unknown service: HTTP 404, not_found with an ErrorInfo detail, valid against the documented error schema", async () => {
    const body: CheckRequest = { service: "nope" };
    const res = await postJson(`${server.url}${CHECK}`, body);
    expect(res.status).toBe(404);
    const err = (await res.json()) as ConnectError;
    expect(validate(doc, responseSchema(CHECK, "default"), err)).toEqual([]);
    expect(err.code).toBe("not_found");
    const detail = err.details?.find((d) => d.type === "sqlstudio.common.v1.ErrorInfo");
    expect(detail, JSON.stringify(err)).toBeDefined();
    const info = fromBinary(ErrorInfoSchema, Buffer.from(detail!.value, "base64"));
    expect(info.reason).toBe("UNKNOWN_SERVICE");
    if (detail!.debug !== undefined) {
      expect(validate(doc, { $ref: "#/components/schemas/sqlstudio.common.v1.ErrorInfo" }, detail!.debug)).toEqual([]);
      expect((detail!.debug as ErrorInfo).reason).toBe("UNKNOWN_SERVICE");
    }
    // A body that breaks the documented error shape is caught.
    expect(validate(doc, responseSchema(CHECK, "default"), { code: "NOT_FOUND" })).not.toEqual([]);
  });

  it("GET /docs is a self-contained HTML page under its own CSP", async () => {
    const res = await fetch(`${server.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toBe(DOCS_CSP);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain("unsafe");
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain('<script src="/docs/app.js"');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);

    const js = await fetch(`${server.url}/docs/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toMatch(/^text\/javascript/);
    const code = await js.text();
    expect(code).toContain('fetch("/openapi.json"');
    expect(code).not.toMatch(/https?:\/\//);
    expect(() => new Function(code)).not.toThrow();
    const css = await fetch(`${server.url}/docs/app.css`);
    expect(css.headers.get("content-type")).toMatch(/^text\/css/);

    // Every other response keeps the strict default.
    const other = await fetch(`${server.url}/openapi.json`);
    expect(other.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(other.headers.get("content-security-policy")).not.toContain("script-src");
  });
});
