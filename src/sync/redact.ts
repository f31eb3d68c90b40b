/**
 * Redaction of secrets in SQL before it is stored in query history (DESIGN.md §6): passwords in
 * role and user statements, connection strings in literals, bearer tokens, private keys and
 * known key shapes, replaced with `***`. Literals and comments are decoded, redacted and encoded
 * again, so the SQL stays valid and redaction is idempotent. The patterns it shares with
 * connection-payload checks live in secrets.ts.
 */
import { SqlLexer } from "../common/sql-lexer.js";
import {
  BASIC_RE,
  BEARER_RE,
  isBasicCredential,
  isSecretName,
  isTokenLike,
  JSON_KV_RE,
  KEY_SHAPES,
  KV_RE,
  ORACLE_USERINFO_RE,
  PEM_RE,
  URL_USERINFO_RE,
} from "./secrets.js";

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

/** The shared lexer's tokens (dialect unknown: "any"), as the rules below read them. */
function tokenize(sql: string): Tok[] {
  const lexer = new SqlLexer(sql, "any");
  const toks: Tok[] = [];
  for (let t = lexer.next(); t; t = lexer.next()) {
    const text = lexer.textOf(t);
    if (t.kind === "space") toks.push({ kind: "ws", text });
    else if (t.kind === "comment") toks.push({ kind: "comment", text });
    else if (t.kind === "string" || (t.kind === "quoted" && t.open === '"')) {
      const open = t.open!;
      const close = !t.closed ? "" : open.startsWith("$") ? open : open.slice(-1);
      const style = open.startsWith("$") ? "dollar" : open === '"' ? "dq" : /^[Ee]/.test(open) ? "esc" : "std";
      toks.push({ kind: "str", style, open, close, body: text.slice(open.length, text.length - close.length) });
    } else if (t.kind === "quoted") toks.push({ kind: "bident", text });
    else toks.push({ kind: t.kind === "punct" ? "punct" : "word", text });
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

/** A column whose values are credentials: a secret name, or a short one (pw, pass, psw). */
function isCredentialColumn(name: string): boolean {
  return isSecretName(name) || /^(pw|pass|psw)$/i.test(name);
}

/** In comments: "password: x", "api_token : x" (a note someone left next to the SQL). */
const COLON_KV_RE = /(?<![A-Za-z0-9_.-])([A-Za-z_][A-Za-z0-9_.-]{0,63})([ \t]*:[ \t]*)([^\s,;'"]+)/g;

function redactText(text: string, comment = false): string {
  if (text.length < 5) return text; // shorter than the shortest rule ("pwd=x")
  const out = redactTokens(redactConnectionText(text));
  return comment ? out.replace(COLON_KV_RE, (m, key: string, sep: string) => (isSecretName(key) ? `${key}${sep}${MASK}` : m)) : out;
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

  const nameAt = (j: number): string | undefined => {
    const t = toks[j];
    if (t === undefined) return undefined;
    if (t.kind === "word") return t.text;
    if (t.kind === "str" && t.style === "dq") return decodeBody(t);
    if (t.kind === "bident") return t.text.slice(1, -1);
    return undefined;
  };
  /**
   * INSERT|REPLACE [INTO] table (col, …) VALUES (…), (…): the literals in the place of a
   * credential-like column (insert into creds(pw) values ('…')).
   */
  const maskInsertValues = (i: number): void => {
    let j = nextSig(i);
    if (upperWord(j) === "INTO") j = nextSig(j);
    if (nameAt(j) === undefined) return;
    j = nextSig(j);
    while (isPunct(j, ".") && nameAt(nextSig(j)) !== undefined) j = nextSig(nextSig(j));
    if (!isPunct(j, "(")) return;
    const secret: boolean[] = [];
    for (j = nextSig(j); ; j = nextSig(j)) {
      const col = nameAt(j);
      if (col === undefined) return;
      secret.push(isCredentialColumn(col));
      j = nextSig(j);
      if (isPunct(j, ")")) break;
      if (!isPunct(j, ",")) return;
    }
    if (!secret.includes(true)) return;
    j = nextSig(j);
    if (upperWord(j) !== "VALUES") return;
    for (j = nextSig(j); isPunct(j, "("); ) {
      let pos = 0;
      let depth = 0;
      let k = nextSig(j);
      for (; k < toks.length; k = nextSig(k)) {
        if (isPunct(k, "(")) depth++;
        else if (isPunct(k, ")")) {
          if (depth === 0) break;
          depth--;
        } else if (isPunct(k, ",") && depth === 0) pos++;
        else if (toks[k].kind === "str" && secret[pos]) mask(k);
      }
      j = nextSig(k);
      if (!isPunct(j, ",")) break;
      j = nextSig(j);
    }
  };

  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    const verb = upperWord(i);
    if (verb === "INSERT" || (verb === "REPLACE" && upperWord(nextSig(i)) === "INTO")) maskInsertValues(i);
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
  const again = (text: string, comment = false): string => {
    const t = redactText(text, comment);
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
      if (t.text.startsWith("--")) out += `--${again(t.text.slice(2), true)}`; // a mask never ends the line
      else out += redactBlockComment(t.text, (body) => again(body, true));
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
