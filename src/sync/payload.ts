import { fromJsonString, toJsonString } from "@bufbuild/protobuf";
import {
  ConnectionProfileSchema,
  HistoryEntrySchema,
  RecordKind,
  SavedQuerySchema,
  type Change,
  type Record as SyncRecord,
} from "../../gen/sqlstudio/sync/v1/sync_pb.js";
import { R, type Reason } from "../common/reasons.js";
import type { CheckedChange } from "./push.js";
import { redactSql } from "./redact.js";
import { classifyValue, findSecret } from "./secrets.js";
import type { Kind } from "./store.js";

export const ENGINES = new Set(["postgresql", "mysql", "mariadb", "sqlite"]);
export const MAX_PAYLOAD_BYTES = 256 * 1024;

export const kindToProto: Record<Kind, RecordKind> = {
  connection: RecordKind.CONNECTION,
  saved_query: RecordKind.SAVED_QUERY,
  history: RecordKind.HISTORY,
};

type Payload = Change["payload"];

/** The stored JSON (proto3 JSON of the payload message) and its kind. */
export function encodePayload(p: Payload): { kind: Kind; json: string } | undefined {
  switch (p.case) {
    case "connection":
      return { kind: "connection", json: toJsonString(ConnectionProfileSchema, p.value) };
    case "savedQuery":
      return { kind: "saved_query", json: toJsonString(SavedQuerySchema, p.value) };
    case "history":
      return { kind: "history", json: toJsonString(HistoryEntrySchema, p.value) };
    default:
      return undefined;
  }
}

export function decodePayload(kind: Kind, json: string | null): SyncRecord["payload"] {
  if (json === null) return { case: undefined };
  switch (kind) {
    case "connection":
      return { case: "connection", value: fromJsonString(ConnectionProfileSchema, json) };
    case "saved_query":
      return { case: "savedQuery", value: fromJsonString(SavedQuerySchema, json) };
    case "history":
      return { case: "history", value: fromJsonString(HistoryEntrySchema, json) };
  }
}

const tooLong = (s: string, max: number) => s.length > max;

/**
 * The field named in a rejection is stored (sync_mutations) and answered: an option whose key
 * itself carries the secret ("password=…", a token pasted as a key) is named "options" alone.
 */
function fieldWithoutSecret(field: string): string {
  return field.startsWith("options.") && classifyValue(field.slice("options.".length)) !== undefined ? "options" : field;
}

/**
 * Checks one change's content: a rejected change names its reason and field (relative to the
 * change, proto names). Connection payloads carrying a secret are rejected; history SQL is
 * redacted in place, in `c` itself, before it is stored.
 */
export function checkAndRedactChange(c: Change): CheckedChange {
  const base = { mutationId: c.mutationId, recordId: c.recordId };
  const reject = (reason: Reason, field: string): CheckedChange => ({ ok: false, ...base, reason, field });
  if (c.baseVersion < 0n) return reject(R.INVALID_BASE_VERSION, "base_version");
  const baseVersion = Number(c.baseVersion);
  if (c.delete) {
    if (c.payload.case !== undefined) return reject(R.PAYLOAD_WITH_DELETE, c.payload.case === "savedQuery" ? "saved_query" : c.payload.case);
    return { ok: true, ...base, baseVersion, delete: true, payload: null };
  }
  const p = c.payload;
  switch (p.case) {
    case undefined:
      return reject(R.PAYLOAD_REQUIRED, "payload");
    case "connection": {
      const v = p.value;
      if (v.name.trim() === "") return reject(R.FIELD_REQUIRED, "connection.name");
      if (tooLong(v.name, 200)) return reject(R.FIELD_TOO_LONG, "connection.name");
      if (!ENGINES.has(v.engine)) return reject(R.UNKNOWN_ENGINE, "connection.engine");
      if (v.port < 0 || v.port > 65535) return reject(R.INVALID_PORT, "connection.port");
      const secret = findSecret(v);
      if (secret) return reject(secret.reason, `connection.${fieldWithoutSecret(secret.field)}`);
      break;
    }
    case "savedQuery": {
      const v = p.value;
      if (v.title.trim() === "") return reject(R.FIELD_REQUIRED, "saved_query.title");
      if (tooLong(v.title, 200)) return reject(R.FIELD_TOO_LONG, "saved_query.title");
      break;
    }
    case "history": {
      p.value.sql = redactSql(p.value.sql);
      p.value.errorMessage = redactSql(p.value.errorMessage);
      break;
    }
  }
  const encoded = encodePayload(p)!;
  if (Buffer.byteLength(encoded.json) > MAX_PAYLOAD_BYTES) return reject(R.PAYLOAD_TOO_LARGE, "payload");
  return { ok: true, ...base, baseVersion, delete: false, kind: encoded.kind, payload: encoded.json };
}
