/**
 * "Secrets never sync" (DESIGN.md §6): pure functions, no I/O.
 *
 * - findSecret(profile) names the first field of a connection payload that carries a secret, so
 *   the push can reject it with InvalidArgument and store nothing.
 * - The patterns below are shared with redact.ts (redactSql for query history).
 *
 * Reasons (stable strings, part of the API):
 *   SECRET_IN_OPTIONS               an option KEY names a secret (password, token, sslkey, ...)
 *   CREDENTIALS_IN_HOST             the host carries a password (user:pass@host, a URL or DSN with one)
 *   CONNECTION_STRING_WITH_PASSWORD a URL/DSN with user:password@, or key=value / "key":"value" text
 *                                   whose key names a secret (Server=..;Password=..)
 *   PRIVATE_KEY                     a PEM private key block
 *   BEARER_TOKEN                    "Bearer <token>" or "Basic <base64 user:pass>"
 *   KNOWN_TOKEN_FORMAT              a well-known key shape (AWS access key id, sk-/sk_live_, GitHub,
 *                                   GitLab, Slack, Google API key, JWT)
 *   SECRET_LIKE_VALUE               a long high-entropy string (see ENTROPY_THRESHOLDS)
 */

import { R } from "../common/reasons.js";

export interface ConnectionFields {
  name: string;
  engine: string;
  host: string;
  port: number;
  database: string;
  username: string;
  sslMode: string;
  options: Record<string, string>;
  folder: string;
  color: string;
  tags: string[];
}

export type SecretReason =
  | typeof R.SECRET_IN_OPTIONS
  | typeof R.CREDENTIALS_IN_HOST
  | typeof R.CONNECTION_STRING_WITH_PASSWORD
  | typeof R.PRIVATE_KEY
  | typeof R.BEARER_TOKEN
  | typeof R.KNOWN_TOKEN_FORMAT
  | typeof R.SECRET_LIKE_VALUE;

export interface SecretFinding {
  field: string;
  reason: SecretReason;
}

// ---------------------------------------------------------------------------------------------
// Secret names (option keys, key=value keys, SQL keywords)
// ---------------------------------------------------------------------------------------------

/** Lower case, separators dropped: "AWS_Secret-Access.Key" → "awssecretaccesskey". */
export function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, "");
}

/** Words of a key: snake, kebab, dotted and camelCase split ("sslKey" → ["ssl", "key"]). */
function keyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== "");
}

/** A key containing one of these (after normalizeKey) names a secret. */
const SECRET_FRAGMENTS = [
  "password",
  "passwd",
  "passphrase",
  "secret", // secret, client_secret, aws_secret_access_key, secret_key
  "token", // token, session_token, auth_token, access_token, refresh_token
  "apikey",
  "accesskey", // access_key, secret_access_key, shared_access_key
  "privatekey",
  "accountkey",
  "signingkey",
  "masterkey",
  "encryptionkey",
  "credential", // credential, credentials
];

/** Keys that are secrets only as a whole (too short or too common to match inside other keys). */
const SECRET_EXACT = new Set([
  "pass",
  "pwd",
  "pw",
  "psw",
  "auth",
  "key", // SQLCipher's key
  "sslkey",
  "tlskey",
  "clientkey",
  "sslclientkey",
  "authorization",
  "bearer",
  "cookie",
  "jwt",
  "sig", // Azure SAS signature
]);

/** The last word of a key: db_pass, dbPwd, basic_auth, http-auth. */
const SECRET_LAST_WORDS = new Set(["pass", "pwd", "pw", "auth", "jwt", "cookie"]);

/**
 * Keys that look like secrets but configure authentication instead of carrying it (the allow-list
 * wins over every rule above; their values are still checked like any other string).
 */
const NOT_SECRET_KEYS = new Set([
  "authsource", // MongoDB
  "authmechanism", // MongoDB
  "authmechanismproperties", // MongoDB (the value is still scanned)
  "authdb",
  "authdatabase",
  "authenticationdatabase",
  "authplugin", // MySQL
  "defaultauth", // MySQL default_auth
  "authenticator", // Snowflake
  "authtype",
  "authmethod",
  "passfile", // libpq: a path to the password file, not the password
  "passwordencryption", // PostgreSQL password_encryption = scram-sha-256
]);

/**
 * Does an option key name a secret? Broad on purpose: a connection option that merely looks like
 * a credential is refused (the user renames it); only the allow-list above is let through.
 */
export function isSecretOptionKey(key: string): boolean {
  const n = normalizeKey(key);
  if (n === "" || NOT_SECRET_KEYS.has(n)) return false;
  if (SECRET_EXACT.has(n)) return true;
  if (SECRET_FRAGMENTS.some((f) => n.includes(f))) return true;
  const words = keyWords(key);
  return words.length > 0 && SECRET_LAST_WORDS.has(words[words.length - 1]);
}

/**
 * Narrower test for names met inside free text and SQL (key=value pairs, JSON, column names):
 * the name must END with a secret word, so password_changed_at, token_count or
 * secret_santa_id stay ordinary names, while db_password, aws_secret_access_key, session_token
 * and PWD are secrets (and so are password_hash and password_digest).
 */
export function isSecretName(name: string): boolean {
  const n = normalizeKey(name);
  if (n === "" || NOT_SECRET_KEYS.has(n)) return false;
  if (n === "pwd" || n === "sig") return true;
  // password, db_passwords, aws_secret_access_key, password_hash, password_digest
  return SECRET_FRAGMENTS.some((f) => ["", "s", "hash", "digest"].some((tail) => n.endsWith(f + tail)));
}

// ---------------------------------------------------------------------------------------------
// Secret-looking values
// ---------------------------------------------------------------------------------------------

/** A PEM private key (RSA, EC, DSA, OPENSSH, ENCRYPTED, PGP ... BLOCK), up to its END line. */
export const PEM_RE = /-----BEGIN ([A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?)-----([\s\S]*?)(?:(-----END \1-----)|(?=-----BEGIN )|$)/g;

/** scheme://user:password@ (postgres://, mysql://, jdbc:postgresql://, mongodb+srv://, ...). */
export const URL_USERINFO_RE = /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/)([^\s:/?#@]*):([^\s@/]+)@/gi;

/** jdbc:oracle:thin:scott/tiger@host. */
export const ORACLE_USERINFO_RE = /\b(jdbc:oracle:[a-z0-9]+:)([^\s/@:]+)\/([^\s@]+)@/gi;

/** key=value inside a connection string (ADO, ODBC, libpq keywords, URL queries). */
export const KV_RE = /(?<![A-Za-z0-9_.-])([A-Za-z_][A-Za-z0-9_.-]*)([ \t]*=[ \t]*)('(?:[^'\\]|\\.){0,1024}'|"[^"]{0,1024}"|\{[^}]{0,1024}\}|[^\s;&,]+)/g;

/** "key": "value" (JSON inside an option or a literal). */
export const JSON_KV_RE = /("([^"\\]{1,64})"\s*:\s*)"((?:[^"\\]|\\.)*)"/g;

/** Authorization schemes. */
export const BEARER_RE = /\b(Bearer)(\s+)([A-Za-z0-9\-._~+/]+=*)/gi;
export const BASIC_RE = /\b(Basic)(\s+)([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])/g;

/** Well-known key shapes. */
export const KEY_SHAPES: RegExp[] = [
  /\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b/g, // AWS key ids
  /\bsk-[A-Za-z0-9_-]{20,}/g, // sk-..., sk-proj-..., sk-ant-...
  /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}/g, // Stripe secret and restricted keys
  /\bgh[pousr]_[A-Za-z0-9]{36,}\b/g, // GitHub tokens
  /\bgithub_pat_[A-Za-z0-9_]{22,}/g, // GitHub fine-grained tokens
  /\bglpat-[A-Za-z0-9_-]{20,}/g, // GitLab personal tokens
  /\bxox[baprs]-[A-Za-z0-9-]{10,}/g, // Slack
  /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g, // Google API keys
  /\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, // JWT (header.payload.signature)
];

const UUID_RE = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;

/** A bearer token worth hiding: 12+ characters with a digit, a token68 symbol or an inner capital. */
export function isTokenLike(token: string): boolean {
  const t = token.replace(/=+$/, "");
  return t.length >= 12 && /[0-9\-._~+/]|.[A-Z]/.test(t);
}

/** Does "Basic xxx" carry base64 of "user:password"? */
export function isBasicCredential(b64: string): boolean {
  let decoded: string;
  try {
    decoded = Buffer.from(b64, "base64").toString("latin1");
  } catch {
    return false;
  }
  return /^[\x20-\x7e]+:[\x20-\x7e]+$/.test(decoded);
}

/** Shannon entropy in bits per character. */
export function shannonEntropy(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/**
 * Thresholds for SECRET_LIKE_VALUE. Measured with looksRandom on 50,000 random keys per size:
 * random base64/base64url keys are caught 98.9% of the time at 32 characters, 99.6% at 40 and
 * 99.97% at 64; random hex 100% from 40 characters (32-char hex is never flagged, on purpose).
 * Glued words such as "CustomerAnalyticsWarehouseReplica2024", "MyCompanyProductionDatabaseServer01"
 * or "ReportingDB_EU_West_1_ReadReplica_02" are not; UUIDs are removed before the test, and
 * hosts and paths split on "." ":" "/" and spaces into short pieces.
 */
export const ENTROPY_THRESHOLDS = {
  /** base64/base64url/alphanumeric run: minimum length; it needs upper + lower + digit. */
  mixedMinLength: 32,
  /** ... at least this many bits per character (random 32-char base64: 4.1 at the 0.1th percentile). */
  mixedMinBits: 4.0,
  /** ... at most this share of characters inside word-like stretches (Word, word, WORDS, 12345). */
  mixedMaxWordShare: 0.5,
  /** ... at least this share of neighbouring letters/digits changing class (a→B, B→7). */
  mixedMinSwitchRatio: 0.35,
  /** hex-only run (digits and a-f both present): minimum length; 40 = SHA-1, so MD5-sized and
   * dash-less UUIDs (32) are left alone. */
  hexMinLength: 40,
  /** ... and at least this many bits per character (random hex: about 3.7-3.9 of at most 4). */
  hexMinBits: 3.0,
} as const;

function charClass(c: string): number {
  if (c >= "a" && c <= "z") return 0;
  if (c >= "A" && c <= "Z") return 1;
  return 2;
}

/**
 * Is this run of base64/hex characters random-looking? Glued words have long stretches of one
 * class and few class changes; random keys change class about every other character.
 */
export function looksRandom(run: string): boolean {
  const t = ENTROPY_THRESHOLDS;
  const body = run.replace(/=+$/, "");
  if (/^[0-9a-f]+$/i.test(body) && /[0-9]/.test(body) && /[a-f]/i.test(body)) {
    return body.length >= t.hexMinLength && shannonEntropy(body) >= t.hexMinBits;
  }
  if (body.length < t.mixedMinLength) return false;
  if (!/[a-z]/.test(body) || !/[A-Z]/.test(body) || !/[0-9]/.test(body)) return false;
  if (shannonEntropy(body) < t.mixedMinBits) return false;
  let wordy = 0;
  for (const m of body.matchAll(/[A-Z]?[a-z]{4,}|[A-Z]{5,}|[0-9]{5,}/g)) wordy += m[0].length;
  if (wordy / body.length > t.mixedMaxWordShare) return false;
  const alnum = body.replace(/[^A-Za-z0-9]/g, "");
  let switches = 0;
  for (let i = 1; i < alnum.length; i++) if (charClass(alnum[i]) !== charClass(alnum[i - 1])) switches++;
  return switches / (alnum.length - 1) >= t.mixedMinSwitchRatio;
}

function hasHighEntropyRun(s: string): boolean {
  // UUIDs are identifiers, not secrets; paths and hosts split on "/" "." ":" into short pieces.
  const cleaned = s.replace(UUID_RE, " ");
  for (const run of cleaned.split(/[^A-Za-z0-9+/_=-]+/)) {
    if (run.length < 32) continue;
    if (looksRandom(run)) return true;
    // A path-like run ("a/b/c") is judged piece by piece.
    if (run.includes("/") && run.split("/").some((piece) => piece.length >= 32 && looksRandom(piece))) return true;
  }
  return false;
}

function test(re: RegExp, s: string): boolean {
  re.lastIndex = 0;
  const hit = re.test(s);
  re.lastIndex = 0;
  return hit;
}

function hasSecretKeyValue(s: string): boolean {
  for (const m of s.matchAll(KV_RE)) {
    const value = m[3].replace(/^['"{]|['"}]$/g, "");
    if (value !== "" && isSecretName(m[1])) return true;
  }
  for (const m of s.matchAll(JSON_KV_RE)) {
    if (m[3] !== "" && isSecretName(m[2])) return true;
  }
  return false;
}

/** The reason a free-text value looks like it carries a secret, or undefined. */
export function classifyValue(s: string): SecretReason | undefined {
  if (s === "") return undefined;
  if (test(PEM_RE, s)) return R.PRIVATE_KEY;
  if (test(URL_USERINFO_RE, s) || test(ORACLE_USERINFO_RE, s)) return R.CONNECTION_STRING_WITH_PASSWORD;
  if (hasSecretKeyValue(s)) return R.CONNECTION_STRING_WITH_PASSWORD;
  for (const m of s.matchAll(BEARER_RE)) if (isTokenLike(m[3])) return R.BEARER_TOKEN;
  for (const m of s.matchAll(BASIC_RE)) if (isBasicCredential(m[3])) return R.BEARER_TOKEN;
  if (KEY_SHAPES.some((re) => test(re, s))) return R.KNOWN_TOKEN_FORMAT;
  if (hasHighEntropyRun(s)) return R.SECRET_LIKE_VALUE;
  return undefined;
}

/** A colour as clients write it: #rgb[a], #rrggbb[aa], a CSS name, rgb()/hsl(). */
const COLOR_RE = /^(#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})|[a-z]{3,30}|(?:rgb|rgba|hsl|hsla)\([0-9\s.,%/+-]{1,60}\))$/i;
/**
 * Symbols typical of passwords and rare in names, labels and settings (not _ - . @ \ / : + , %
 * which user names, hosts, tags and times use).
 */
const PASSWORD_SYMBOL = /[!"#$&'()*;<=>?[\]^`{|}~]/;

/**
 * A password pasted where a short name or label belongs: one "word" of 8-128 characters with
 * letters, digits and a password symbol (P@ssw0rd! has "!", Tr0ub4dor&3 has "&"); user names,
 * labels and settings have spaces, or none of those symbols, or no digits; URLs and paths pass.
 */
export function looksLikePassword(s: string): boolean {
  if (s.length < 8 || s.length > 128 || /\s/.test(s) || /:\/\/|^[/~.]/.test(s)) return false; // URLs and paths name places
  return /[A-Za-z]/.test(s) && /[0-9]/.test(s) && PASSWORD_SYMBOL.test(s);
}

/**
 * user:password@host or user/password@host (Oracle EZConnect) in a host field. "user@host",
 * "host:port", "[::1]:5432" and file paths are fine.
 */
function hostHasUserinfoPassword(host: string): boolean {
  const at = host.lastIndexOf("@");
  if (at < 0) return false;
  const userinfo = host.slice(0, at).replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  if (userinfo.startsWith("/") || userinfo.startsWith("~") || /^[A-Za-z]:\\/.test(userinfo)) return false;
  return /^[^\s:/@]*[:/][^\s]+$/.test(userinfo);
}

/**
 * The first field of a connection payload that carries a secret, as a path in proto field names
 * (options.password, host, tags.2), with its reason; undefined when the payload is clean.
 */
export function findSecret(p: ConnectionFields): SecretFinding | undefined {
  const check = (field: string, value: string): SecretFinding | undefined => {
    const reason = classifyValue(value);
    return reason ? { field, reason } : undefined;
  };

  let hit = check("name", p.name) ?? check("engine", p.engine);
  if (hit) return hit;

  if (hostHasUserinfoPassword(p.host)) return { field: "host", reason: R.CREDENTIALS_IN_HOST };
  const hostReason = classifyValue(p.host);
  if (hostReason) {
    return { field: "host", reason: hostReason === R.CONNECTION_STRING_WITH_PASSWORD ? R.CREDENTIALS_IN_HOST : hostReason };
  }

  hit = check("database", p.database) ?? check("username", p.username) ?? check("ssl_mode", p.sslMode);
  if (hit) return hit;
  // Short free-text fields hold names and labels: a password-shaped value there was pasted.
  const pasted = (field: string, value: string): SecretFinding | undefined => (looksLikePassword(value) ? { field, reason: R.SECRET_LIKE_VALUE } : undefined);
  hit = pasted("username", p.username);
  if (hit) return hit;

  for (const [key, value] of Object.entries(p.options ?? {})) {
    const field = `options.${key}`;
    if (isSecretOptionKey(key)) return { field, reason: R.SECRET_IN_OPTIONS };
    hit = check(field, key) ?? check(field, value) ?? pasted(field, value);
    if (hit) return hit;
  }

  hit = check("folder", p.folder) ?? check("color", p.color);
  if (hit) return hit;
  if (p.color && !COLOR_RE.test(p.color) && looksLikePassword(p.color)) return { field: "color", reason: R.SECRET_LIKE_VALUE };

  const tags = p.tags ?? [];
  for (let i = 0; i < tags.length; i++) {
    hit = check(`tags.${i}`, tags[i]) ?? pasted(`tags.${i}`, tags[i]);
    if (hit) return hit;
  }
  return undefined;
}
