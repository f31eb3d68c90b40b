import { ScalarType, type DescEnum, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { describe } from "./comments.js";

/** A JSON Schema (draft 2020-12, as OpenAPI 3.1 uses it). */
export type JsonSchema = { [keyword: string]: unknown };

export const SCHEMA_REF_PREFIX = "#/components/schemas/";
export const ref = (name: string): JsonSchema => ({ $ref: SCHEMA_REF_PREFIX + name });

const FLOAT_SPECIALS = ["NaN", "Infinity", "-Infinity"];
const INT64_PATTERN = "^-?[0-9]+$";
const UINT64_PATTERN = "^[0-9]+$";

/** The proto3 JSON form of a scalar, as Connect-JSON writes it. */
export function scalarSchema(scalar: ScalarType): JsonSchema {
  switch (scalar) {
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT: {
      const format = scalar === ScalarType.DOUBLE ? "double" : "float";
      return { oneOf: [{ type: "number", format }, { type: "string", enum: FLOAT_SPECIALS }] };
    }
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { type: "string", format: "int64", pattern: INT64_PATTERN };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: "string", format: "uint64", pattern: UINT64_PATTERN };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32", minimum: -2147483648, maximum: 2147483647 };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", format: "uint32", minimum: 0, maximum: 4294967295 };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BYTES:
      return { type: "string", format: "byte", contentEncoding: "base64" };
  }
}

/** JSON object keys of a map field: always strings, spelled like the key type. */
function mapKeySchema(key: ScalarType): JsonSchema | undefined {
  switch (key) {
    case ScalarType.BOOL:
      return { enum: ["true", "false"] };
    case ScalarType.STRING:
      return undefined;
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { pattern: UINT64_PATTERN };
    default:
      return { pattern: INT64_PATTERN };
  }
}

const wrapper = (scalar: ScalarType, name: string): JsonSchema => ({
  ...scalarSchema(scalar),
  description: `google.protobuf.${name}: the wrapped value itself in JSON (an absent field means unset).`,
});

/**
 * Well-known types whose JSON form is not the plain object mapping. `deps` are other
 * well-known types the schema refers to.
 */
const WELL_KNOWN: Record<string, { schema: JsonSchema; deps?: string[] }> = {
  "google.protobuf.Timestamp": {
    schema: {
      type: "string",
      format: "date-time",
      description: 'google.protobuf.Timestamp: an RFC 3339 date-time in UTC ("Z"), with 0, 3, 6 or 9 fractional digits.',
      examples: ["2024-01-31T12:00:00Z"],
    },
  },
  "google.protobuf.Duration": {
    schema: {
      type: "string",
      pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$",
      description: 'google.protobuf.Duration: seconds with up to 9 fractional digits and an "s" suffix, e.g. "1.5s".',
      examples: ["1.5s"],
    },
  },
  "google.protobuf.Empty": {
    schema: { type: "object", properties: {}, additionalProperties: false, description: "google.protobuf.Empty: always {}." },
  },
  "google.protobuf.FieldMask": {
    schema: {
      type: "string",
      description: 'google.protobuf.FieldMask: comma-separated field paths in lowerCamelCase, e.g. "displayName,email".',
      examples: ["displayName,email"],
    },
  },
  "google.protobuf.Any": {
    schema: {
      type: "object",
      required: ["@type"],
      properties: {
        "@type": { type: "string", description: 'Type URL of the packed message, e.g. "type.googleapis.com/sqlstudio.common.v1.ErrorInfo".' },
      },
      additionalProperties: true,
      description:
        'google.protobuf.Any: "@type" plus the packed message\'s JSON fields; a packed well-known type with a special JSON form puts it in "value".',
    },
  },
  "google.protobuf.Struct": {
    schema: {
      type: "object",
      additionalProperties: ref("google.protobuf.Value"),
      description: "google.protobuf.Struct: any JSON object.",
    },
    deps: ["google.protobuf.Value"],
  },
  "google.protobuf.Value": {
    schema: {
      type: ["null", "boolean", "number", "string", "array", "object"],
      description: "google.protobuf.Value: any JSON value.",
    },
  },
  "google.protobuf.ListValue": {
    schema: { type: "array", items: ref("google.protobuf.Value"), description: "google.protobuf.ListValue: any JSON array." },
    deps: ["google.protobuf.Value"],
  },
  "google.protobuf.DoubleValue": { schema: wrapper(ScalarType.DOUBLE, "DoubleValue") },
  "google.protobuf.FloatValue": { schema: wrapper(ScalarType.FLOAT, "FloatValue") },
  "google.protobuf.Int64Value": { schema: wrapper(ScalarType.INT64, "Int64Value") },
  "google.protobuf.UInt64Value": { schema: wrapper(ScalarType.UINT64, "UInt64Value") },
  "google.protobuf.Int32Value": { schema: wrapper(ScalarType.INT32, "Int32Value") },
  "google.protobuf.UInt32Value": { schema: wrapper(ScalarType.UINT32, "UInt32Value") },
  "google.protobuf.BoolValue": { schema: wrapper(ScalarType.BOOL, "BoolValue") },
  "google.protobuf.StringValue": { schema: wrapper(ScalarType.STRING, "StringValue") },
  "google.protobuf.BytesValue": { schema: wrapper(ScalarType.BYTES, "BytesValue") },
};

/** google.protobuf.NullValue is JSON null, not a string enum. */
const NULL_VALUE = "google.protobuf.NullValue";

/**
 * The component schemas of a document: every message and enum added (and everything they
 * reach), keyed by fully-qualified proto name, in their proto3 JSON (Connect-JSON) form.
 */
export class SchemaSet {
  private readonly schemas = new Map<string, JsonSchema>();

  /** Adds a message and everything it reaches; returns a $ref to it. */
  message(desc: DescMessage): JsonSchema {
    this.addMessage(desc);
    return ref(desc.typeName);
  }

  /** Adds an enum; returns a $ref to it. */
  enum(desc: DescEnum): JsonSchema {
    this.addEnum(desc);
    return ref(desc.typeName);
  }

  has(name: string): boolean {
    return this.schemas.has(name);
  }

  get(name: string): JsonSchema | undefined {
    return this.schemas.get(name);
  }

  /** The schemas, sorted by name. */
  toObject(): Record<string, JsonSchema> {
    return Object.fromEntries([...this.schemas.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  private addMessage(desc: DescMessage): void {
    if (this.schemas.has(desc.typeName)) return;
    const wkt = WELL_KNOWN[desc.typeName];
    if (wkt) {
      this.schemas.set(desc.typeName, wkt.schema);
      for (const dep of wkt.deps ?? []) if (!this.schemas.has(dep)) this.schemas.set(dep, WELL_KNOWN[dep].schema);
      return;
    }
    // Registered before the fields so recursive messages terminate.
    const schema: JsonSchema = { type: "object" };
    this.schemas.set(desc.typeName, schema);
    const notes = desc.oneofs.map(
      (o) => `Oneof \`${o.name}\`: at most one of ${o.fields.map((f) => `\`${f.jsonName}\``).join(", ")} is set.`,
    );
    const description = [describe(desc), ...notes].filter((s) => s !== "").join("\n\n");
    if (description) schema.description = description;
    const properties: Record<string, JsonSchema> = {};
    for (const field of desc.fields) properties[field.jsonName] = this.field(field);
    schema.properties = properties;
    if (desc.deprecated) schema.deprecated = true;
  }

  private addEnum(desc: DescEnum): void {
    if (this.schemas.has(desc.typeName)) return;
    if (desc.typeName === NULL_VALUE) {
      this.schemas.set(desc.typeName, { type: "null", description: "google.protobuf.NullValue: JSON null." });
      return;
    }
    const lines = desc.values.map((v) => {
      const text = describe(v).replace(/\s*\n\s*/g, " ");
      return `- \`${v.name}\`${text ? `: ${text}` : ""}`;
    });
    const description = [describe(desc), lines.join("\n")].filter((s) => s !== "").join("\n\n");
    const schema: JsonSchema = { type: "string", enum: desc.values.map((v) => v.name) };
    if (description) schema.description = description;
    if (desc.deprecated) schema.deprecated = true;
    this.schemas.set(desc.typeName, schema);
  }

  private element(kind: "scalar" | "enum" | "message", field: { scalar?: ScalarType; enum?: DescEnum; message?: DescMessage }): JsonSchema {
    if (kind === "enum") return this.enum(field.enum!);
    if (kind === "message") return this.message(field.message!);
    return scalarSchema(field.scalar!);
  }

  private field(field: DescField): JsonSchema {
    let schema: JsonSchema;
    switch (field.fieldKind) {
      case "scalar":
      case "enum":
      case "message":
        schema = { ...this.element(field.fieldKind, field) };
        break;
      case "list":
        schema = { type: "array", items: this.element(field.listKind, field) };
        break;
      case "map": {
        schema = { type: "object", additionalProperties: this.element(field.mapKind, field) };
        const keys = mapKeySchema(field.mapKey);
        if (keys) schema.propertyNames = keys;
        break;
      }
    }
    const notes = [describe(field)];
    if (field.oneof) notes.push(`Member of oneof \`${field.oneof.name}\`: set at most one of its fields.`);
    const description = notes.filter((s) => s !== "").join("\n\n");
    if (description) schema.description = description;
    if (field.deprecated) schema.deprecated = true;
    return schema;
  }
}
