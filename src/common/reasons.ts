import { Code } from "@connectrpc/connect";

/**
 * Every machine-readable `reason` the server answers with (ErrorInfo.reason, and the reason of a
 * change PushChanges rejects), declared once: its Connect code, the field it names and what it
 * means. Clients branch on these names: never rename one. docs/errors.md is this table
 * (test/unit/architecture/reasons.test.ts writes and checks it).
 */
export interface ReasonSpec {
  /** The Connect code; absent for a reason that is only ever a rejected change of PushChanges. */
  code?: Code;
  /** A reason of a token used two ways: the code of its other use (see `meaning`). */
  alsoCode?: Code;
  /**
   * The field ErrorInfo names (proto names, dotted path from the request): a fixed path, or in
   * angle brackets the field the call names; absent when it names none.
   */
  field?: string;
  /** What happened and what the client may do. */
  meaning: string;
}

/** A field named by each call, not by the catalog. */
export const perCall = (field?: string): boolean => field?.startsWith("<") ?? false;

const AT_FAULT = "<the field at fault>";
const IA = Code.InvalidArgument;
const RE = Code.ResourceExhausted;
const FP = Code.FailedPrecondition;

export const CATALOG = {
  // Any RPC
  INVALID_ARGUMENT: { code: IA, field: AT_FAULT, meaning: "a field of the request is not acceptable; the message says why" },
  INVALID_PAGE_TOKEN: { code: IA, field: "page_token", meaning: "the page token is not one this server issued for this list (and its filters)" },
  RATE_LIMITED: { code: RE, meaning: "too many requests of this kind; retry after `retryAfter`" },
  SHUTTING_DOWN: { code: Code.Unavailable, meaning: "the server is shutting down; retry on another instance" },
  APP_DATABASE_BUSY: { code: Code.Unavailable, meaning: "the server's database stayed locked longer than a write waits (another writer); nothing was written; retry after `retryAfter`" },
  APP_DATABASE_FULL: { code: Code.Unavailable, meaning: "the server's database is out of disk space; nothing was written; retry later" },
  APP_DATABASE_UNAVAILABLE: { code: Code.Unavailable, meaning: "the server's database cannot be read or written (read-only, I/O error, unreachable); retry later" },
  STREAMING_RPC_NEEDS_STREAM_CONTENT_TYPE: {
    code: IA,
    field: "<content-type: the HTTP header, not a field of the request>",
    meaning: "a streaming RPC called with a unary Connect content type: send application/connect+json (`metadata.use`) with enveloped messages (HTTP 415)",
  },
  INTERNAL: { code: Code.Internal, meaning: "a bug: logged with its cause on the server, nothing of it in the answer" },
  UNKNOWN_SERVICE: { code: Code.NotFound, meaning: "Health.Check/Watch named a service this server does not serve" },

  // Accounts and sessions (auth)
  MISSING_TOKEN: { code: Code.Unauthenticated, meaning: "no `Authorization: Bearer <access token>` header" },
  INVALID_TOKEN: {
    code: Code.Unauthenticated,
    alsoCode: IA,
    field: AT_FAULT,
    meaning: "Unauthenticated: the access token is invalid or expired (refresh it); InvalidArgument: a token field of the request (a link's token, a refresh token) is not one this server issues, the field named",
  },
  SESSION_REVOKED: { code: Code.Unauthenticated, meaning: "the session has ended (logout, revoked, password changed): sign in again" },
  TOKEN_EXPIRED: { code: Code.Unauthenticated, meaning: "the access token of a Subscribe stream expired: subscribe again with a fresh one" },
  INVALID_CREDENTIALS: { code: Code.Unauthenticated, meaning: "unknown user or wrong password (the same answer for both)" },
  INVALID_REFRESH_TOKEN: { code: Code.Unauthenticated, meaning: "the refresh token is invalid or expired: sign in again" },
  REFRESH_TOKEN_REUSED: { code: Code.Unauthenticated, meaning: "a replaced refresh token was used again: the session is revoked (a security event)" },
  NOT_SIGNED_IN: { code: Code.Unauthenticated, meaning: "RefreshToken from the browser without the refresh cookie" },
  EMAIL_NOT_VERIFIED: { code: FP, meaning: "REQUIRE_VERIFIED_EMAIL: verify the address before calling anything outside AuthService" },
  LOGIN_LOCKED: { code: RE, meaning: "too many failed logins for this account; retry after `retryAfter`" },
  LOGIN_THROTTLED: { code: RE, meaning: "too many failed logins from this address; retry after `retryAfter`" },
  MAIL_RATE_LIMITED: { code: RE, meaning: "too many emails for this account or address (MAIL_MAX_PER_*_PER_HOUR); retry after `retryAfter`" },
  TOKEN_INVALID_OR_USED: { code: FP, field: "token", meaning: "the emailed link is invalid, expired or already used" },
  SESSION_NOT_FOUND: { code: Code.NotFound, field: "session_id", meaning: "not a session of the caller" },
  EXPORT_TOO_LARGE: { code: FP, meaning: "ExportMyData would not fit one response: remove old query history and try again" },
  WRONG_PASSWORD: { code: IA, field: "current_password", meaning: "current_password is not the account's password" },
  PASSWORD_REQUIRED: { code: IA, field: "current_password", meaning: "changing the email needs current_password" },
  PASSWORD_UNCHANGED: { code: IA, field: "new_password", meaning: "the new password is the current one" },
  PASSWORD_TOO_SHORT: { code: IA, field: AT_FAULT, meaning: "the password is shorter than the minimum" },
  PASSWORD_TOO_LONG: { code: IA, field: AT_FAULT, meaning: "the password is longer than the maximum" },
  PASSWORD_TOO_WEAK: { code: IA, field: AT_FAULT, meaning: "the password is too common or easy to guess" },
  EMAIL_TAKEN: { code: Code.AlreadyExists, field: "email", meaning: "another account has this email address" },
  USERNAME_TAKEN: { code: Code.AlreadyExists, field: "username", meaning: "another account has this username" },
  INVALID_EMAIL: { code: IA, field: AT_FAULT, meaning: "not an email address" },
  INVALID_USERNAME: { code: IA, field: AT_FAULT, meaning: "a username is 3-32 characters of a-z, 0-9, '_', '.', '-'" },
  INVALID_ID: { code: IA, field: AT_FAULT, meaning: "not an id of this server (a UUID)" },

  // Shared by request fields and synced payloads
  FIELD_REQUIRED: { code: IA, field: AT_FAULT, meaning: "the field is required (also a rejected change)" },
  FIELD_TOO_LONG: { code: IA, field: AT_FAULT, meaning: "the field is too long (also a rejected change)" },
  INVALID_CHARACTERS: { code: IA, field: AT_FAULT, meaning: "the field holds control characters" },

  // Sync
  INVALID_DEVICE_ID: { code: IA, field: "device_id", meaning: "device_id is required: 1-128 characters of A-Z a-z 0-9 _ . : -" },
  INVALID_MUTATION_ID: { code: IA, field: "<changes.N.mutation_id>", meaning: "a change's mutation_id is required: 1-128 characters of A-Z a-z 0-9 _ . : -" },
  INVALID_RECORD_ID: { code: IA, field: "<changes.N.record_id>", meaning: "a change's record_id must be a UUID" },
  TOO_MANY_CHANGES: { code: IA, field: "changes", meaning: "more changes than SYNC_MAX_CHANGES_PER_PUSH: split the push" },
  PUSH_TOO_LARGE: { code: IA, field: "changes", meaning: "more payload bytes than SYNC_MAX_PUSH_BYTES: split the push" },
  SYNC_QUOTA_EXCEEDED: {
    code: RE,
    field: "changes",
    meaning: "the push would take the user over SYNC_QUOTA_BYTES (`metadata.limit`, `metadata.max`); nothing was written",
  },
  RESOLUTION_REQUIRED: { code: IA, field: "resolution", meaning: "ResolveConflict needs keep_server, keep_client, keep_both or merged" },
  CONFLICT_NOT_FOUND: { code: Code.NotFound, field: "conflict_id", meaning: "not an open conflict of the caller" },
  CONFLICT_ALREADY_RESOLVED: {
    code: FP,
    field: "conflict_id",
    meaning: "the conflict was resolved with another choice: `metadata` names it (resolution, resolved_at, record_id, record_version, copy_id); the same choice again answers OK",
  },
  RECORD_NOT_FOUND: {
    code: Code.NotFound,
    field: "<conflict_id; record_id of a rejected change>",
    meaning: "the record no longer exists (ResolveConflict; a rejected change deleting an unknown record)",
  },
  KIND_MISMATCH: {
    code: IA,
    field: "<merged.payload; payload of a rejected change>",
    meaning: "the payload is of another kind than the record",
  },
  INVALID_BASE_VERSION: { code: IA, field: "<base_version>", meaning: "a rejected change: base_version is negative (also a merged payload)" },
  PAYLOAD_WITH_DELETE: { code: IA, field: AT_FAULT, meaning: "a rejected change: a delete carries a payload" },
  PAYLOAD_REQUIRED: { code: IA, field: AT_FAULT, meaning: "a rejected change: no payload" },
  PAYLOAD_TOO_LARGE: { code: IA, field: AT_FAULT, meaning: "a rejected change: the payload is over 256 KB" },
  UNKNOWN_ENGINE: { code: IA, field: AT_FAULT, meaning: "a rejected change: the connection names an unknown engine" },
  INVALID_PORT: { code: IA, field: AT_FAULT, meaning: "a rejected change: the connection's port is not 0-65535" },
  SECRET_IN_OPTIONS: { code: IA, field: AT_FAULT, meaning: "a rejected change: a connection option's key names a secret (synced profiles carry none)" },
  CREDENTIALS_IN_HOST: { code: IA, field: AT_FAULT, meaning: "a rejected change: the connection's host carries credentials" },
  CONNECTION_STRING_WITH_PASSWORD: { code: IA, field: AT_FAULT, meaning: "a rejected change: a value is a connection string with a password" },
  PRIVATE_KEY: { code: IA, field: AT_FAULT, meaning: "a rejected change: a value holds a private key" },
  BEARER_TOKEN: { code: IA, field: AT_FAULT, meaning: "a rejected change: a value holds a bearer token" },
  KNOWN_TOKEN_FORMAT: { code: IA, field: AT_FAULT, meaning: "a rejected change: a value looks like a known API token format" },
  SECRET_LIKE_VALUE: { code: IA, field: AT_FAULT, meaning: "a rejected change: a value looks like a password" },
  RECORD_LIMIT: { meaning: "a rejected change only: the user holds SYNC_MAX_RECORDS_PER_USER live records" },
  OPEN_CONFLICTS_PER_RECORD_LIMIT: { field: "base_version", meaning: "a rejected change only: the record has SYNC_MAX_OPEN_CONFLICTS_PER_RECORD open conflicts" },
  OPEN_CONFLICTS_PER_USER_LIMIT: { field: "base_version", meaning: "a rejected change only: the user has SYNC_MAX_OPEN_CONFLICTS_PER_USER open conflicts" },

  // Realtime
  TOO_MANY_SUBSCRIPTIONS: {
    code: RE,
    meaning: "the user holds REALTIME_MAX_SUBSCRIPTIONS_PER_USER subscriptions on this instance (`metadata.limit`, `metadata.max`): close one",
  },
  TOO_SLOW: { code: RE, meaning: "events arrived faster than the stream was read: pull, then subscribe again" },

  // Database engine: connections
  CONNECTION_NOT_FOUND: { code: Code.NotFound, field: "connection_id", meaning: "not a connection of the caller" },
  CONNECTION_EXISTS: { code: Code.AlreadyExists, field: "id", meaning: "a connection with this id exists" },
  TOO_MANY_CONNECTIONS: { code: RE, meaning: "the user has ENGINE_MAX_CONNECTIONS_PER_USER connection profiles" },
  PASSWORD_UNREADABLE: { code: FP, field: "password", meaning: "the stored password cannot be decrypted (ENGINE_SECRET_KEY changed?): set it again" },
  HOST_REFUSED: { code: Code.PermissionDenied, field: "<host or spec.host>", meaning: "the network policy refuses this host (private address, not on the allow-list)" },
  SQLITE_PATH_REFUSED: { code: Code.PermissionDenied, field: "<host or spec.host>", meaning: "the SQLite file is outside the user's folder" },
  CONNECTION_FAILED: { code: FP, meaning: "the database refused the profile's credentials or database" },
  DATABASE_UNREACHABLE: { code: Code.Unavailable, meaning: "the database cannot be reached (`metadata.sqlstate`)" },
  TOO_MANY_POOLS: { code: RE, meaning: "the user has ENGINE_POOLS_PER_USER connections in use at once; retry after `retryAfter`" },
  TOO_MANY_STREAMS: { code: RE, meaning: "ENGINE_MAX_STREAMS_PER_USER streams already run (`metadata.limit`, `metadata.max`); retry after `retryAfter`" },
  TOO_MANY_DATABASE_CONNECTIONS: {
    code: RE,
    meaning: "the user holds ENGINE_MAX_OPEN_CONNECTIONS_PER_USER database connections (`metadata.limit`, `metadata.max`); retry after `retryAfter`",
  },
  TOO_MANY_HOST_CONNECTIONS: {
    code: RE,
    meaning: "this database host has ENGINE_MAX_CONNECTIONS_PER_HOST connections (`metadata.limit`, `metadata.max`); retry after `retryAfter`",
  },

  // Database engine: statements and what the database answered
  SQL_ERROR: { code: IA, meaning: "the database refused the statement (`metadata.sqlstate`, the database's message)" },
  CONSTRAINT_VIOLATION: { code: FP, meaning: "a constraint of the database refused the write (`metadata.sqlstate`)" },
  READ_ONLY: { code: Code.PermissionDenied, field: "<sql, table.connection_id, or none>", meaning: "a write on a read-only connection or transaction" },
  SQLITE_NOT_AUTHORIZED: { code: Code.PermissionDenied, field: "sql", meaning: "SQLite refused to compile the statement on this server (files, extensions, ATTACH)" },
  STATEMENT_REFUSED: { code: IA, field: "sql", meaning: "the statement is not allowed here (the message says which and why)" },
  SQL_TOO_LARGE: { code: IA, field: "sql", meaning: "the SQL is longer than ENGINE_MAX_SQL_BYTES" },
  QUERY_RUNNING: { code: Code.AlreadyExists, field: "query_id", meaning: "a query of the caller with this id is running" },
  QUERY_NOT_FOUND: { code: Code.NotFound, field: "query_id", meaning: "no running query of the caller has this id" },
  QUERY_TIMEOUT: { code: Code.DeadlineExceeded, meaning: "the query ran out of time and was stopped in the database" },
  QUERY_CANCELED: { code: Code.Canceled, meaning: "the query was canceled and stopped in the database" },
  CELL_TOO_LARGE: { code: RE, field: "<the column, when known>", meaning: "a value or row is over ENGINE_MAX_CELL_BYTES: select less of it" },
  RESULT_TOO_LARGE: { code: RE, meaning: "a small result (a page, a catalog answer) is over what one read may hold (`metadata.max`): ask for less" },
  DATABASE_PROTOCOL_VIOLATION: { code: Code.Unavailable, meaning: "the database broke its protocol; the connection was closed" },
  PASSWORD_NOT_SENT: { code: FP, field: "ssl_mode", meaning: "the password would leave readable or crackable: use verified TLS or SCRAM" },
  TLS_VERIFY_FAILED: { code: FP, field: "ssl_mode", meaning: "ssl_mode verify-ca / verify-full: the server's certificate was not verified" },
  LOCAL_INFILE_REFUSED: { code: FP, meaning: "the server asked for a local file (LOAD DATA LOCAL INFILE): refused" },
  CONNECTION_CLOSED: { code: Code.Unavailable, meaning: "the connection closed under the statement (profile changed or deleted, shutdown)" },

  // Database engine: schema and rows
  TABLE_NOT_FOUND: { code: Code.NotFound, field: "<table (DescribeTable) or table.table (TableService)>", meaning: "no such table or view" },
  UNKNOWN_COLUMN: { code: IA, field: AT_FAULT, meaning: "the table has no column of this name" },
  NO_PRIMARY_KEY: { code: IA, field: AT_FAULT, meaning: "the table has no primary key: its rows cannot be edited by key" },
  INVALID_KEY: { code: IA, field: AT_FAULT, meaning: "a row key must hold exactly the primary key columns, none NULL" },
  ROW_NOT_FOUND: { code: Code.NotFound, field: "<updates.N.key or deletes.N.key>", meaning: "no row has this key" },
  ROW_CHANGED: { code: Code.Aborted, field: "<updates.N.expected or deletes.N.expected>", meaning: "the row no longer has the expected values" },

  // AI assistant
  ASSISTANT_NOT_CONFIGURED: { code: FP, meaning: "no AI_PROVIDER (every RPC but GetStatus)" },
  ASSISTANT_PROVIDER_REJECTED: { code: FP, meaning: "the provider answered 401/403 to the server's key (logged without the key)" },
  ASSISTANT_MODEL_NOT_FOUND: { code: FP, meaning: "the provider answered 404 (unknown model)" },
  ASSISTANT_REQUEST_REFUSED: { code: FP, meaning: "another 4xx from the provider (e.g. the prompt is too long for the model)" },
  ASSISTANT_PROVIDER_RATE_LIMITED: { code: RE, meaning: "the provider answered 429; `retryAfter` is the provider's" },
  ASSISTANT_PROVIDER_UNAVAILABLE: { code: Code.Unavailable, meaning: "5xx, timeouts or connection errors after the SDK's retries" },
  ASSISTANT_RATE_LIMITED: { code: RE, meaning: "over AI_REQUESTS_PER_MINUTE; retry after `retryAfter`" },
  ASSISTANT_TOKEN_QUOTA_EXCEEDED: { code: RE, meaning: "over AI_TOKENS_PER_DAY; `retryAfter` until the next UTC day" },
  CONVERSATION_NOT_FOUND: { code: Code.NotFound, field: "<id, or conversation_id (Chat)>", meaning: "not a conversation of the caller" },
  MODEL_NOT_ALLOWED: { code: IA, field: "model", meaning: "`model` is not one of AI_MODEL / AI_MODELS" },
} as const satisfies Record<string, ReasonSpec>;

export type Reason = keyof typeof CATALOG;

/** Each reason by its name: call sites write `R.TABLE_NOT_FOUND`, never the string. */
export const R = Object.fromEntries(Object.keys(CATALOG).map((k) => [k, k])) as { readonly [K in Reason]: K };

/** The catalog's entry of a reason; an Error (a bug: Internal) for a name it does not declare. */
export function specOf(reason: string): ReasonSpec {
  const spec = (CATALOG as Record<string, ReasonSpec>)[reason];
  if (!Object.hasOwn(CATALOG, reason) || !spec) throw new Error(`reason ${JSON.stringify(reason)} is not in the catalog (src/common/reasons.ts)`);
  return spec;
}
