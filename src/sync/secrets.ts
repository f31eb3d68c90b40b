/**
 * "Secrets never sync" (DESIGN.md §6): pure functions, no I/O.
 *
 * - findSecret(profile) names the first field of a connection payload that carries a secret, so
 *   the push can reject it with InvalidArgument and store nothing.
 * - redactSql(sql) replaces secrets in SQL with '***' before it is stored in query history.
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
  | "SECRET_IN_OPTIONS"
  | "CREDENTIALS_IN_HOST"
  | "CONNECTION_STRING_WITH_PASSWORD"
  | "PRIVATE_KEY"
  | "BEARER_TOKEN"
  | "KNOWN_TOKEN_FORMAT"
  | "SECRET_LIKE_VALUE";

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
const PEM_RE = /-----BEGIN ([A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?)-----([\s\S]*?)(?:(-----END \1-----)|(?=-----BEGIN )|$)/g;

/** scheme://user:password@ (postgres://, mysql://, jdbc:postgresql://, mongodb+srv://, ...). */
const URL_USERINFO_RE = /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/)([^\s:/?#@]*):([^\s@/]+)@/gi;

/** jdbc:oracle:thin:scott/tiger@host. */
const ORACLE_USERINFO_RE = /\b(jdbc:oracle:[a-z0-9]+:)([^\s/@:]+)\/([^\s@]+)@/gi;

/** key=value inside a connection string (ADO, ODBC, libpq keywords, URL queries). */
const KV_RE = /(?<![A-Za-z0-9_.-])([A-Za-z_][A-Za-z0-9_.-]*)([ \t]*=[ \t]*)('(?:[^'\\]|\\.){0,1024}'|"[^"]{0,1024}"|\{[^}]{0,1024}\}|[^\s;&,]+)/g;

/** "key": "value" (JSON inside an option or a literal). */
const JSON_KV_RE = /("([^"\\]{1,64})"\s*:\s*)"((?:[^"\\]|\\.)*)"/g;

/** Authorization schemes. */
const BEARER_RE = /\b(Bearer)(\s+)([A-Za-z0-9\-._~+/]+=*)/gi;
const BASIC_RE = /\b(Basic)(\s+)([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])/g;

/** Well-known key shapes. */
const KEY_SHAPES: RegExp[] = [
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
function isTokenLike(token: string): boolean {
  const t = token.replace(/=+$/, "");
  return t.length >= 12 && /[0-9\-._~+/]|.[A-Z]/.test(t);
}

/** Does "Basic xxx" carry base64 of "user:password"? */
function isBasicCredential(b64: string): boolean {
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
  if (test(PEM_RE, s)) return "PRIVATE_KEY";
  if (test(URL_USERINFO_RE, s) || test(ORACLE_USERINFO_RE, s)) return "CONNECTION_STRING_WITH_PASSWORD";
  if (hasSecretKeyValue(s)) return "CONNECTION_STRING_WITH_PASSWORD";
  for (const m of s.matchAll(BEARER_RE)) if (isTokenLike(m[3])) return "BEARER_TOKEN";
  for (const m of s.matchAll(BASIC_RE)) if (isBasicCredential(m[3])) return "BEARER_TOKEN";
  if (KEY_SHAPES.some((re) => test(re, s))) return "KNOWN_TOKEN_FORMAT";
  if (hasHighEntropyRun(s)) return "SECRET_LIKE_VALUE";
  return undefined;
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

  if (hostHasUserinfoPassword(p.host)) return { field: "host", reason: "CREDENTIALS_IN_HOST" };
  const hostReason = classifyValue(p.host);
  if (hostReason) {
    return { field: "host", reason: hostReason === "CONNECTION_STRING_WITH_PASSWORD" ? "CREDENTIALS_IN_HOST" : hostReason };
  }

  hit = check("database", p.database) ?? check("username", p.username) ?? check("ssl_mode", p.sslMode);
  if (hit) return hit;

  for (const [key, value] of Object.entries(p.options ?? {})) {
    const field = `options.${key}`;
    if (isSecretOptionKey(key)) return { field, reason: "SECRET_IN_OPTIONS" };
    hit = check(field, key) ?? check(field, value);
    if (hit) return hit;
  }

  hit = check("folder", p.folder) ?? check("color", p.color);
  if (hit) return hit;

  const tags = p.tags ?? [];
  for (let i = 0; i < tags.length; i++) {
    hit = check(`tags.${i}`, tags[i]);
    if (hit) return hit;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// SQL redaction
// ---------------------------------------------------------------------------------------------

const MASK = "***";

type Tok =
  | { kind: "ws" | "word" | "punct" | "bident"; text: string }
  | { kind: "comment"; text: string }
  | {
      kind: "str";
      /** "std" '..' with '' escapes; "esc" E'..' with backslash escapes; "dollar" $tag$..$tag$; "dq" ".." */
      style: "std" | "esc" | "dollar" | "dq";
      open: string; // e.g. "'", "E'", "N'", "$fn$", '"'
      close: string; // "" when the literal is unterminated
      body: string; // raw text between open and close
    };

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;

function tokenize(sql: string): Tok[] {
  const toks: Tok[] = [];
  const n = sql.length;
  let i = 0;
  const quoted = (start: number, q: string, backslash: boolean): { body: string; closed: boolean; end: number } => {
    let j = start;
    while (j < n) {
      const c = sql[j];
      if (backslash && c === "\\") {
        j += 2;
        continue;
      }
      if (c === q) {
        if (sql[j + 1] === q) {
          j += 2;
          continue;
        }
        return { body: sql.slice(start, j), closed: true, end: j + 1 };
      }
      j++;
    }
    return { body: sql.slice(start, n), closed: false, end: n };
  };
  while (i < n) {
    const c = sql[i];
    const prev = i > 0 ? sql[i - 1] : "";
    if (/\s/.test(c)) {
      let j = i + 1;
      while (j < n && /\s/.test(sql[j])) j++;
      toks.push({ kind: "ws", text: sql.slice(i, j) });
      i = j;
    } else if (c === "-" && sql[i + 1] === "-") {
      let j = sql.indexOf("\n", i);
      if (j < 0) j = n;
      toks.push({ kind: "comment", text: sql.slice(i, j) });
      i = j;
    } else if (c === "/" && sql[i + 1] === "*") {
      let depth = 1;
      let j = i + 2;
      while (j < n && depth > 0) {
        if (sql[j] === "/" && sql[j + 1] === "*") {
          depth++;
          j += 2;
        } else if (sql[j] === "*" && sql[j + 1] === "/") {
          depth--;
          j += 2;
        } else j++;
      }
      toks.push({ kind: "comment", text: sql.slice(i, j) });
      i = j;
    } else if (c === "'") {
      const q = quoted(i + 1, "'", false);
      toks.push({ kind: "str", style: "std", open: "'", close: q.closed ? "'" : "", body: q.body });
      i = q.end;
    } else if (c === '"') {
      const q = quoted(i + 1, '"', false);
      toks.push({ kind: "str", style: "dq", open: '"', close: q.closed ? '"' : "", body: q.body });
      i = q.end;
    } else if (c === "`") {
      const q = quoted(i + 1, "`", false);
      toks.push({ kind: "bident", text: sql.slice(i, q.end) });
      i = q.end;
    } else if (c === "$" && !WORD_CHAR.test(prev)) {
      const m = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64));
      if (m) {
        const tag = m[0];
        const bodyStart = i + tag.length;
        const end = sql.indexOf(tag, bodyStart);
        const closed = end >= 0;
        const bodyEnd = closed ? end : n;
        toks.push({ kind: "str", style: "dollar", open: tag, close: closed ? tag : "", body: sql.slice(bodyStart, bodyEnd) });
        i = closed ? end + tag.length : n;
      } else {
        toks.push({ kind: "punct", text: c });
        i++;
      }
    } else if (WORD_START.test(c) || /[0-9]/.test(c)) {
      let j = i + 1;
      while (j < n && WORD_CHAR.test(sql[j])) j++;
      const word = sql.slice(i, j);
      if (sql[j] === "'" && /^[EeNn]$/.test(word)) {
        const esc = word === "E" || word === "e";
        const q = quoted(j + 1, "'", esc);
        toks.push({ kind: "str", style: esc ? "esc" : "std", open: `${word}'`, close: q.closed ? "'" : "", body: q.body });
        i = q.end;
      } else {
        toks.push({ kind: "word", text: word });
        i = j;
      }
    } else {
      toks.push({ kind: "punct", text: c });
      i++;
    }
  }
  return toks;
}

function tokText(t: Tok): string {
  return t.kind === "str" ? t.open + t.body + t.close : t.text;
}

// --- decoding and encoding literal bodies, so text-level redaction never breaks the quoting ---

function decodeEscapes(body: string): string {
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === "'" && body[i + 1] === "'") {
      out += "'";
      i++;
      continue;
    }
    if (c !== "\\" || i + 1 >= body.length) {
      out += c;
      continue;
    }
    const d = body[++i];
    const simple: Record<string, string> = { b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
    if (d in simple) out += simple[d];
    else if (/[0-7]/.test(d)) {
      const m = /^[0-7]{1,3}/.exec(body.slice(i, i + 3))![0];
      out += String.fromCharCode(parseInt(m, 8));
      i += m.length - 1;
    } else if (d === "x" && /^[0-9a-fA-F]/.test(body[i + 1] ?? "")) {
      const m = /^[0-9a-fA-F]{1,2}/.exec(body.slice(i + 1, i + 3))![0];
      out += String.fromCharCode(parseInt(m, 16));
      i += m.length;
    } else if ((d === "u" || d === "U") && /^[0-9a-fA-F]{4}/.test(body.slice(i + 1, i + 5))) {
      const len = d === "u" ? 4 : 8;
      const m = /^[0-9a-fA-F]+/.exec(body.slice(i + 1, i + 1 + len))![0];
      out += String.fromCodePoint(Math.min(parseInt(m, 16), 0x10ffff));
      i += m.length;
    } else out += d;
  }
  return out;
}

function encodeEscapes(text: string): string {
  return text.replace(/[\\'\n\r\t]/g, (c) => ({ "\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t" })[c]!);
}

function decodeBody(t: Extract<Tok, { kind: "str" }>): string {
  switch (t.style) {
    case "std":
      return t.body.replace(/''/g, "'");
    case "dq":
      return t.body.replace(/""/g, '"');
    case "esc":
      return decodeEscapes(t.body);
    case "dollar":
      return t.body;
  }
}

function encodeBody(t: Extract<Tok, { kind: "str" }>, text: string): string {
  switch (t.style) {
    case "std":
      return text.replace(/'/g, "''");
    case "dq":
      return text.replace(/"/g, '""');
    case "esc":
      return encodeEscapes(text);
    case "dollar":
      return text.includes(t.open) ? MASK : text;
  }
}

// --- text-level rules ---

/**
 * Key shapes, PEM private keys and Authorization values. In code (outside literals and comments)
 * a match is widened to the end of its word, so no "$" or letter left behind can glue to the mask
 * and change how the statement tokenizes.
 */
function redactTokens(text: string, inCode = false): string {
  let out = inCode ? text : text.replace(PEM_RE, (_m, label: string, _body: string, end: string | undefined) => `-----BEGIN ${label}-----${MASK}${end ?? ""}`);
  out = out.replace(inCode ? BEARER_CODE_RE : BEARER_RE, (m, scheme: string, sp: string, token: string) => (isTokenLike(token) ? `${scheme}${sp}${MASK}` : m));
  out = out.replace(BASIC_RE, (m, scheme: string, sp: string, b64: string) => (isBasicCredential(b64) ? `${scheme}${sp}${MASK}` : m));
  if (!inCode) for (const re of KEY_SHAPES) out = out.replace(re, MASK);
  // In code, "/" + "***" would open a comment: keep them apart.
  else for (const re of KEY_SHAPES_IN_CODE) out = out.replace(re, (_m, offset: number, whole: string) => (whole[offset - 1] === "/" ? ` ${MASK}` : MASK));
  return out;
}

const BEARER_CODE_RE = new RegExp(`${BEARER_RE.source}[A-Za-z0-9_$]*`, "gi");
const KEY_SHAPES_IN_CODE = KEY_SHAPES.map((re) => new RegExp(`(?:${re.source})[A-Za-z0-9_$]*`, "g"));

/**
 * Complete PEM private key blocks, on the raw SQL before it is tokenized: a key pasted outside a
 * literal spans lines a "--" comment would cut. The body never crosses a quote or a "$", so a
 * block never reaches from one literal into another, nor another BEGIN line (which keeps the scan
 * linear).
 */
const PEM_RAW_RE = /-----BEGIN ([A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?)-----(?:(?!-----BEGIN )[^'"`$])*?-----END \1-----/g;

/** Connection strings: user:pass@ in URLs, key=value and "key":"value" pairs naming a secret. */
function redactConnectionText(text: string): string {
  let out = text.replace(URL_USERINFO_RE, (_m, scheme: string, user: string) => `${scheme}${user}:${MASK}@`);
  out = out.replace(ORACLE_USERINFO_RE, (_m, prefix: string, user: string) => `${prefix}${user}/${MASK}@`);
  out = out.replace(KV_RE, (m, key: string, eq: string, value: string) => {
    const bare = value.replace(/^['"{]|['"}]$/g, "");
    if (bare === "" || !isSecretName(key)) return m;
    // A quoted value keeps its quotes, so text glued after it stays where it was.
    const q = /^'.*'$|^".*"$|^\{.*\}$/s.test(value) && value.length >= 2 ? [value[0], value[value.length - 1]] : ["", ""];
    return `${key}${eq}${q[0]}${MASK}${q[1]}`;
  });
  out = out.replace(JSON_KV_RE, (m, head: string, key: string, value: string) =>
    value !== "" && isSecretName(key) ? `${head}"${MASK}"` : m,
  );
  return out;
}

function redactText(text: string): string {
  if (text.length < 5) return text; // shorter than the shortest rule ("pwd=x")
  return redactTokens(redactConnectionText(text));
}

/** Words followed by a literal that is a password: PASSWORD('x'), OLD_PASSWORD('x'), crypt('x', ...). */
const PASSWORD_FUNCTIONS = new Set(["PASSWORD", "OLD_PASSWORD", "CRYPT"]);
/** SQLCipher: PRAGMA key = 'x', PRAGMA rekey = 'x', ATTACH DATABASE 'f' AS a KEY 'x'. */
const SQLCIPHER_KEYS = new Set(["KEY", "REKEY", "HEXKEY", "HEXREKEY", "TEXTKEY"]);
/** How deep literals and comments are read again as SQL (dblink_exec('... PASSWORD ''x'''), DO $$ ... $$). */
const MAX_NESTING = 3;

/**
 * Replaces secrets in SQL with '***' before it is stored in query history, keeping the statement
 * readable and its quoting intact. Idempotent: redactSql(redactSql(x)) === redactSql(x).
 *
 * Keyword rules (on tokens, so a column named password in SELECT password ... or
 * WHERE password = ? stays):
 * - <secret name> [=] <literal>: PASSWORD 'x', WITH [ENCRYPTED] PASSWORD 'x', PASSWORD = N'x',
 *   OPTIONS (user 'u', password 'x'), SECRET 'x', "password" = 'x', session_token = 'x',
 *   password_hash = 'x' (a name ENDING with a secret word, see isSecretName; password_changed_at
 *   stays). Literals: '..' (with ''), E'..' (with backslashes), N'..', $$..$$, $tag$..$tag$.
 * - IDENTIFIED [WITH plugin] BY|AS [PASSWORD|VALUES] <literal | "quoted" | Oracle bare word>
 *   (IDENTIFIED BY RANDOM PASSWORD stays), and REPLACE '<current password>'.
 * - SET PASSWORD [FOR user] = <literal>, PASSWORD('x'), OLD_PASSWORD('x'), crypt('x', ...).
 * - SQLCipher PRAGMA [schema.]key|rekey|hexkey = 'x' and ATTACH ... KEY 'x'.
 * Text rules (inside literals and comments; key shapes and Authorization values everywhere):
 * - scheme://user:***@host and jdbc:oracle:thin:user/***@host (user and host kept);
 * - key=*** (key='***' when quoted) and "key":"***" for keys naming a secret (libpq/ADO/ODBC/URL query/JSON);
 * - Bearer ***, Basic *** (when the base64 decodes to user:password);
 * - PEM private keys keep their BEGIN/END lines around ***; AWS key ids, sk-/sk_live_/rk_ keys,
 *   GitHub, GitLab, Slack, Google API keys and JWTs become ***.
 * Literals and comments are then read again as SQL (up to MAX_NESTING deep), so
 * dblink_exec('ALTER ROLE r PASSWORD ''x''') and -- ALTER ROLE r PASSWORD 'x' are redacted too;
 * there the Oracle bare-word and REPLACE rules are off, as prose would trip them.
 * Not covered: positional values (INSERT INTO users (name, password) VALUES ('a', 'x')) and
 * high-entropy strings without a known shape (they are too often ordinary data in SQL).
 */
export function redactSql(sql: string): string {
  return redactSqlAt(sql, 0);
}

function redactSqlAt(sql: string, depth: number): string {
  if (sql === "") return sql;
  const nested = depth > 0;
  const toks = tokenize(sql.replace(PEM_RAW_RE, (_m, label: string) => `-----BEGIN ${label}-----${MASK}-----END ${label}-----`));
  const masked = new Set<number>(); // literal tokens replaced whole

  const nextSig = (i: number): number => {
    let j = i + 1;
    while (j < toks.length && (toks[j].kind === "ws" || toks[j].kind === "comment")) j++;
    return j;
  };
  const prevSig = (i: number): number => {
    let j = i - 1;
    while (j >= 0 && (toks[j].kind === "ws" || toks[j].kind === "comment")) j--;
    return j;
  };
  const isStr = (j: number, dq = false): boolean => {
    const t = toks[j];
    return t !== undefined && t.kind === "str" && (dq || t.style !== "dq");
  };
  const isPunct = (j: number, p: string) => {
    const t = toks[j];
    return t !== undefined && t.kind === "punct" && t.text === p;
  };
  const upperWord = (j: number): string | undefined => {
    const t = toks[j];
    return t !== undefined && t.kind === "word" ? t.text.toUpperCase() : undefined;
  };
  const mask = (j: number) => {
    const t = toks[j];
    if (t.kind === "str") {
      t.body = MASK;
      masked.add(j);
    } else if (t.kind === "word") {
      t.text = MASK;
    }
  };
  /** name [=] 'literal' */
  const maskValueAfter = (i: number) => {
    let j = nextSig(i);
    if (isPunct(j, "=")) j = nextSig(j);
    if (isStr(j)) mask(j);
  };

  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    let name: string | undefined;
    if (t.kind === "word") name = t.text;
    else if (t.kind === "str" && t.style === "dq") name = decodeBody(t);
    else if (t.kind === "bident") name = t.text.slice(1, -1);
    if (name === undefined) continue;
    const upper = t.kind === "word" ? name.toUpperCase() : "";

    if (upper === "IDENTIFIED") {
      // IDENTIFIED [WITH plugin] BY|AS [PASSWORD|VALUES] <secret>
      let j = nextSig(i);
      if (upperWord(j) === "WITH") j = nextSig(nextSig(j));
      const by = upperWord(j);
      if (by !== "BY" && by !== "AS") continue;
      j = nextSig(j);
      const w = upperWord(j);
      if (w === "RANDOM") continue;
      if (w === "PASSWORD" || w === "VALUES") j = nextSig(j);
      const value = upperWord(j);
      if (isStr(j, true)) mask(j);
      else if (!nested && value !== undefined && !/^[0-9]/.test(value)) mask(j); // Oracle: BY tiger
      continue;
    }
    if (upper === "PASSWORD" && upperWord(prevSig(i)) === "SET" && !isPunct(nextSig(i), "=") && !isStr(nextSig(i))) {
      // SET PASSWORD FOR user = 'x' | = PASSWORD('x')
      // FOR 'user'@'host' is a few tokens; the bound keeps the scan linear on hostile input.
      let j = nextSig(i);
      for (let steps = 0; steps < 32 && j < toks.length && !isPunct(j, "=") && !isPunct(j, ";"); steps++) j = nextSig(j);
      if (isPunct(j, "=") && isStr(nextSig(j))) mask(nextSig(j));
      continue;
    }
    if (PASSWORD_FUNCTIONS.has(upper) && isPunct(nextSig(i), "(")) {
      const j = nextSig(nextSig(i));
      if (isStr(j)) mask(j);
      continue;
    }
    if (upper === "REPLACE") {
      // ALTER USER ... IDENTIFIED BY 'new' REPLACE 'current' (the REPLACE() function has a parenthesis)
      if (!nested && isStr(nextSig(i))) mask(nextSig(i));
      continue;
    }
    if (SQLCIPHER_KEYS.has(upper)) {
      const j = nextSig(i);
      if (isStr(j)) mask(j); // ATTACH ... KEY 'x'
      else {
        let p = prevSig(i);
        if (isPunct(p, ".")) p = prevSig(prevSig(p));
        if (upperWord(p) === "PRAGMA") maskValueAfter(i);
      }
      continue;
    }
    if (isSecretName(name)) maskValueAfter(i);
  }

  // Text rules inside literals and comments (then read again as SQL); key shapes in code as well.
  const again = (text: string): string => {
    const t = redactText(text);
    // Nested keyword rules only ever mask a literal, so text without a quote has nothing for them.
    return depth < MAX_NESTING && t.length >= 5 && /['"$]/.test(t) ? redactSqlAt(t, depth + 1) : t;
  };
  let out = "";
  let code = "";
  const flush = () => {
    if (code !== "") out += redactTokens(code, true);
    code = "";
  };
  toks.forEach((t, idx) => {
    if (t.kind === "str") {
      flush();
      if (!masked.has(idx)) {
        const decoded = decodeBody(t);
        const redacted = again(decoded);
        if (redacted !== decoded) t.body = encodeBody(t, redacted);
      }
      out += tokText(t);
    } else if (t.kind === "comment") {
      flush();
      if (t.text.startsWith("--")) out += `--${again(t.text.slice(2))}`; // a mask never ends the line
      else out += redactBlockComment(t.text, again);
    } else if (t.kind === "bident") {
      flush(); // `identifiers` are names, kept as they are
      out += t.text;
    } else {
      code += tokText(t);
    }
  });
  flush();
  return out;
}

/**
 * A block comment's text, redacted, still one comment: a mask next to "/" could open or close a
 * (nested) comment. Masks touching "/" are moved apart; if the comment still would not tokenize
 * as itself, its whole text becomes the mask.
 */
function redactBlockComment(text: string, redact: (body: string) => string): string {
  const closed = text.length >= 4 && text.endsWith("*/");
  const body = text.slice(2, closed ? -2 : undefined);
  const redacted = redact(body);
  if (redacted === body) return text;
  const wrap = (b: string) => `/*${b}${closed ? "*/" : ""}`;
  const count = (t: string, d: string) => t.split(d).length - 1;
  // Same delimiters inside as before (whether the dialect nests comments or not), and one token.
  const ok = (b: string) => {
    if (count(b, "/*") !== count(body, "/*") || count(b, "*/") !== count(body, "*/")) return false;
    const toks = tokenize(wrap(b));
    return toks.length === 1 && toks[0].kind === "comment";
  };
  if (ok(redacted)) return wrap(redacted);
  const spaced = redacted.replace(/\/(?=\*\*\*)/g, "/ ").replace(/\*\*\*(?=\/)/g, `${MASK} `);
  if (ok(spaced)) return wrap(spaced);
  return wrap(` ${MASK} `);
}
