import { type DescFile, type DescMethod, type DescService, type Registry } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { describe, firstSentence } from "./comments.js";
import { ref, SchemaSet, type JsonSchema } from "./schemas.js";

export interface DocumentOptions {
  /** info.version */
  version: string;
  /** Services (`pkg.Service`) or methods (`pkg.Service.Method`) callable without a token: `security: []`. */
  public: readonly string[];
  /** Message types servers attach as error details; documented so clients can decode them. */
  errorDetails: readonly string[];
}

export const DEFAULT_OPTIONS: DocumentOptions = {
  version: "v1",
  public: ["grpc.health.v1.Health"],
  errorDetails: ["sqlstudio.common.v1.ErrorInfo"],
};

/** Connect error codes with the HTTP status the Connect protocol answers them with. */
export const CONNECT_CODES: ReadonlyArray<readonly [code: string, http: number]> = [
  ["canceled", 499],
  ["unknown", 500],
  ["invalid_argument", 400],
  ["deadline_exceeded", 504],
  ["not_found", 404],
  ["already_exists", 409],
  ["permission_denied", 403],
  ["resource_exhausted", 429],
  ["failed_precondition", 400],
  ["aborted", 409],
  ["out_of_range", 400],
  ["unimplemented", 501],
  ["internal", 500],
  ["unavailable", 503],
  ["data_loss", 500],
  ["unauthenticated", 401],
];

const STREAM_KINDS: Record<string, string> = {
  server_streaming: "server streaming",
  client_streaming: "client streaming",
  bidi_streaming: "bidirectional streaming",
};

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The OpenAPI 3.1 document for the services of `files`: every unary RPC as
 * `POST /<package>.<Service>/<Method>` in its Connect-JSON form. `registry` resolves error detail types.
 */
export function buildDocument(files: readonly DescFile[], registry: Registry, options: DocumentOptions = DEFAULT_OPTIONS): Record<string, unknown> {
  const schemas = new SchemaSet();
  const services = files.flatMap((f) => f.services).sort((a, b) => byName(a.typeName, b.typeName));
  const details = options.errorDetails.filter((name) => registry.getMessage(name) !== undefined);
  for (const name of details) schemas.message(registry.getMessage(name)!);

  const usedIds = new Set<string>();
  const shortIds = new Map<string, number>();
  for (const s of services) for (const m of s.methods) shortIds.set(`${s.name}_${m.name}`, (shortIds.get(`${s.name}_${m.name}`) ?? 0) + 1);
  const operationId = (m: DescMethod) => {
    const short = `${m.parent.name}_${m.name}`;
    // <Service>_<Method>, package-qualified only when two packages share a service name.
    const id = shortIds.get(short) === 1 ? short : `${m.parent.typeName.replace(/\./g, "_")}_${m.name}`;
    if (usedIds.has(id)) throw new Error(`duplicate operationId ${id}`);
    usedIds.add(id);
    return id;
  };

  const paths: Record<string, unknown> = {};
  const tags = services.map((s) => tagFor(s));
  for (const s of services) {
    for (const m of s.methods) {
      if (m.methodKind !== "unary") continue;
      paths[`/${s.typeName}/${m.name}`] = { post: operation(m, operationId(m), schemas, options) };
    }
  }
  const sortedPaths = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => byName(a, b)));

  return {
    openapi: "3.1.0",
    info: {
      title: "SQL Studio Server API",
      version: options.version,
      description: [
        "The Connect-JSON contract of SQL Studio Server, generated from its protobuf schema.",
        "Every unary RPC is `POST /<package>.<Service>/<Method>` with the request message as JSON " +
          "(`Content-Type: application/json`); the reply is the response message as JSON, or a Connect error. " +
          "Fields at their default value are omitted from responses; 64-bit integers are strings.",
        "The same RPCs, and the streaming ones listed in each service's description, also speak gRPC, gRPC-Web " +
          "and Connect binary; gRPC server reflection lists them all.",
        "Authentication: `Authorization: Bearer <access token>` unless an operation says otherwise.",
      ].join("\n\n"),
    },
    security: [{ bearer: [] }],
    tags,
    paths: sortedPaths,
    components: {
      schemas: { ...connectErrorSchemas(details), ...schemas.toObject() },
      responses: {
        ConnectError: {
          description:
            "A Connect error. The HTTP status follows the code: " +
            CONNECT_CODES.map(([code, http]) => `${code} ${http}`).join(", ") +
            ".",
          content: { "application/json": { schema: ref("ConnectError") } },
        },
      },
      parameters: {
        ConnectProtocolVersion: {
          name: "Connect-Protocol-Version",
          in: "header",
          required: false,
          description: "The Connect protocol version; clients send 1.",
          schema: { type: "string", const: "1" },
        },
        ConnectTimeoutMs: {
          name: "Connect-Timeout-Ms",
          in: "header",
          required: false,
          description: "Deadline for the call in milliseconds; the server clamps it to its ceiling.",
          schema: { type: "string", pattern: "^[0-9]{1,10}$" },
        },
      },
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "The access token from AuthService.Login or AuthService.RefreshToken.",
        },
      },
    },
  };
}

function tagFor(s: DescService): Record<string, unknown> {
  const streaming = s.methods.filter((m) => m.methodKind !== "unary");
  const parts = [describe(s)];
  if (streaming.length > 0) {
    parts.push(
      "Streaming RPCs (not in this document: call them with gRPC, gRPC-Web or the Connect streaming protocol):\n" +
        streaming
          .map((m) => {
            const text = firstSentence(describe(m));
            return `- \`${m.name}\` (${STREAM_KINDS[m.methodKind]})${text ? `: ${text}` : ""}`;
          })
          .join("\n"),
    );
  }
  const description = parts.filter((p) => p !== "").join("\n\n");
  return description ? { name: s.typeName, description } : { name: s.typeName };
}

function isPublic(m: DescMethod, options: DocumentOptions): boolean {
  return options.public.includes(m.parent.typeName) || options.public.includes(`${m.parent.typeName}.${m.name}`);
}

function operation(m: DescMethod, operationId: string, schemas: SchemaSet, options: DocumentOptions): Record<string, unknown> {
  const path = `/${m.parent.typeName}/${m.name}`;
  const comment = describe(m);
  const readOnly = m.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS;
  const notes = [comment];
  if (readOnly) {
    notes.push(
      "Read-only (`idempotency_level = NO_SIDE_EFFECTS`): also callable with Connect GET, " +
        `\`GET ${path}?connect=v1&encoding=json&message=<URL-encoded request JSON>\`.`,
    );
  }
  if (isPublic(m, options)) notes.push("Public: no access token needed.");
  const op: Record<string, unknown> = {
    operationId,
    tags: [m.parent.typeName],
    summary: firstSentence(comment) || m.name,
    description: notes.filter((n) => n !== "").join("\n\n"),
  };
  if (m.deprecated) op.deprecated = true;
  op.parameters = [{ $ref: "#/components/parameters/ConnectProtocolVersion" }, { $ref: "#/components/parameters/ConnectTimeoutMs" }];
  op.requestBody = {
    required: true,
    description: `${m.input.typeName} as JSON.`,
    content: { "application/json": { schema: schemas.message(m.input) } },
  };
  op.responses = {
    "200": {
      description: `${m.output.typeName} as JSON.`,
      content: { "application/json": { schema: schemas.message(m.output) } },
    },
    default: { $ref: "#/components/responses/ConnectError" },
  };
  if (isPublic(m, options)) op.security = [];
  if (readOnly) op["x-connect-get"] = true;
  return op;
}

function connectErrorSchemas(details: readonly string[]): Record<string, JsonSchema> {
  const known = details.length
    ? ` Details this server sends: ${details.map((d) => `\`${d}\` (schema \`#/components/schemas/${d}\`)`).join(", ")}.`
    : "";
  return {
    ConnectCode: {
      type: "string",
      enum: CONNECT_CODES.map(([code]) => code),
      description: "A Connect error code.",
    },
    ConnectError: {
      type: "object",
      required: ["code"],
      properties: {
        code: ref("ConnectCode"),
        message: { type: "string", description: "A developer-facing message; clients branch on the code and details, never on this." },
        details: { type: "array", items: ref("ConnectErrorDetail") },
      },
      description: "The body of a Connect unary error response.",
    },
    ConnectErrorDetail: {
      type: "object",
      required: ["type", "value"],
      properties: {
        type: { type: "string", description: "Fully-qualified protobuf message name of the detail, e.g. `sqlstudio.common.v1.ErrorInfo`." },
        value: {
          type: "string",
          contentEncoding: "base64",
          description: "The detail message in protobuf binary, base64 without padding.",
        },
        debug: { description: "The detail message as JSON, for humans and debugging; may be absent." },
      },
      description: `An error detail: a protobuf message packed like google.protobuf.Any.${known}`,
    },
  };
}
