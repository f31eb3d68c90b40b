/**
 * A small JSON Schema (2020-12 subset) checker for the contract tests: enough for the schemas
 * openapi/plugin emits. `$ref`s are JSON pointers into `root` (the OpenAPI document). A keyword
 * it does not implement throws, so a test can never pass because a constraint was skipped.
 */
export type Schema = boolean | { [keyword: string]: unknown };

const ANNOTATIONS = new Set(["description", "title", "examples", "deprecated", "format", "contentEncoding", "$comment", "default", "readOnly", "writeOnly"]);
const IMPLEMENTED = new Set([
  "$ref", "type", "enum", "const", "properties", "required", "additionalProperties", "items", "oneOf", "anyOf", "allOf",
  "pattern", "minimum", "maximum", "propertyNames",
]);

export function resolvePointer(root: unknown, ref: string): unknown {
  if (!ref.startsWith("#/")) throw new Error(`only local $refs are supported: ${ref}`);
  let node: unknown = root;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (node === null || typeof node !== "object" || !(key in node)) throw new Error(`unresolvable $ref ${ref}`);
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

const typeOf = (v: unknown): string =>
  v === null ? "null" : Array.isArray(v) ? "array" : typeof v === "number" ? (Number.isInteger(v) ? "integer" : "number") : typeof v;

const matchesType = (v: unknown, t: string) => typeOf(v) === t || (t === "number" && typeOf(v) === "integer");

/** Every violation of `schema` by `value`, as "<path>: <problem>"; empty when it conforms. */
export function validate(root: unknown, schema: Schema, value: unknown, path = "$"): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${path}: no value allowed here`];
  for (const k of Object.keys(schema)) {
    if (!IMPLEMENTED.has(k) && !ANNOTATIONS.has(k) && !k.startsWith("x-")) throw new Error(`json-schema checker: keyword "${k}" not implemented (at ${path})`);
  }
  const errors: string[] = [];
  const s = schema as Record<string, unknown>;
  if (typeof s.$ref === "string") errors.push(...validate(root, resolvePointer(root, s.$ref) as Schema, value, path));
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((t) => matchesType(value, t))) errors.push(`${path}: expected ${types.join("|")}, got ${typeOf(value)}`);
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    errors.push(`${path}: ${JSON.stringify(value)} not in enum ${JSON.stringify(s.enum)}`);
  }
  if ("const" in s && JSON.stringify(s.const) !== JSON.stringify(value)) errors.push(`${path}: expected ${JSON.stringify(s.const)}`);
  if (typeof value === "string" && typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(value)) {
    errors.push(`${path}: "${value}" does not match /${s.pattern}/`);
  }
  if (typeof value === "number") {
    if (typeof s.minimum === "number" && value < s.minimum) errors.push(`${path}: ${value} < ${s.minimum}`);
    if (typeof s.maximum === "number" && value > s.maximum) errors.push(`${path}: ${value} > ${s.maximum}`);
  }
  if (Array.isArray(value) && s.items !== undefined) {
    value.forEach((item, i) => errors.push(...validate(root, s.items as Schema, item, `${path}[${i}]`)));
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, Schema>;
    for (const r of (s.required ?? []) as string[]) if (!(r in obj)) errors.push(`${path}: missing required "${r}"`);
    for (const [k, v] of Object.entries(obj)) {
      if (s.propertyNames !== undefined) errors.push(...validate(root, s.propertyNames as Schema, k, `${path}{${k}}`));
      if (k in props) errors.push(...validate(root, props[k], v, `${path}.${k}`));
      else if (s.additionalProperties !== undefined) errors.push(...validate(root, s.additionalProperties as Schema, v, `${path}.${k}`));
    }
  }
  if (Array.isArray(s.allOf)) for (const sub of s.allOf) errors.push(...validate(root, sub as Schema, value, path));
  if (Array.isArray(s.anyOf) && !s.anyOf.some((sub) => validate(root, sub as Schema, value, path).length === 0)) {
    errors.push(`${path}: matches none of anyOf`);
  }
  if (Array.isArray(s.oneOf)) {
    const n = s.oneOf.filter((sub) => validate(root, sub as Schema, value, path).length === 0).length;
    if (n !== 1) errors.push(`${path}: matches ${n} of oneOf (exactly 1 required)`);
  }
  return errors;
}
