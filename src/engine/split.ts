import type { EngineName } from "./driver.js";

/** One statement of a script: its text and its words outside strings, quotes and comments. */
export interface Statement {
  sql: string;
  /** Upper-cased bare words in order (identifiers and keywords, never literals). */
  words: string[];
}

const BLOCK_OPENERS = new Set(["BEGIN", "CASE"]);
/** END IF, END LOOP … close blocks that were never counted; END CASE closes its CASE. */
const NOT_BLOCK_ENDS = new Set(["IF", "LOOP", "WHILE", "REPEAT", "FOR"]);
/** Objects whose bodies hold statements between BEGIN and END. */
const COMPOUND_KINDS = new Set(["TRIGGER", "PROCEDURE", "FUNCTION", "EVENT"]);
/** Words allowed between CREATE and the object kind: CREATE OR REPLACE TEMP / CONSTRAINT / AGGREGATE … */
const CREATE_PREFIX = new Set(["OR", "REPLACE", "TEMP", "TEMPORARY", "CONSTRAINT", "AGGREGATE"]);
const WORD_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;

/**
 * Whether the statement so far is CREATE [OR REPLACE] [DEFINER = …] [TEMP|CONSTRAINT|AGGREGATE]
 * TRIGGER|PROCEDURE|FUNCTION|EVENT. Only the object kind right after CREATE and its modifiers
 * counts: a column or alias named "function" or "begin" in another CREATE statement must not turn
 * its semicolons into body semicolons (that would hide the statements after it).
 */
function isCompound(words: string[]): boolean {
  if (words[0] !== "CREATE") return false;
  for (let i = 1; i < words.length; i++) {
    const w = words[i];
    if (COMPOUND_KINDS.has(w)) return true;
    if (w === "DEFINER") {
      // MySQL: DEFINER = user@host | 'user'@'host' | CURRENT_USER; bare user and host names are words.
      let skip = 0;
      while (skip < 2 && i + 1 < words.length && !COMPOUND_KINDS.has(words[i + 1])) {
        i++;
        skip++;
      }
      continue;
    }
    if (!CREATE_PREFIX.has(w)) return false;
  }
  return false;
}

/**
 * Splits a script into statements at top-level semicolons, aware of each dialect's strings,
 * quoted identifiers, comments, PostgreSQL dollar quotes and the BEGIN…END bodies of triggers,
 * procedures and functions. Empty statements are dropped.
 */
export function splitStatements(script: string, engine: EngineName): Statement[] {
  const out: Statement[] = [];
  const mysql = engine === "mysql";
  let start = 0;
  let words: string[] = [];
  let depth = 0;
  let i = 0;
  const n = script.length;
  /** Whether the statement has anything besides whitespace and comments (else it is dropped). */
  let code = false;
  const flush = (end: number) => {
    const sql = script.slice(start, end).trim();
    if (code && sql !== "") out.push({ sql, words });
    words = [];
    depth = 0;
    code = false;
    start = end + 1;
  };
  while (i < n) {
    const c = script[i];
    const next = script[i + 1];
    if (c === "-" && next === "-" && (!mysql || i + 2 >= n || /[\x00-\x20]/.test(script[i + 2]))) {
      // MySQL: "--" starts a comment only before a space or control character (5--2 is 5 - -2).
      i = lineEnd(script, i);
    } else if (c === "#" && mysql) {
      i = lineEnd(script, i);
    } else if (c === "/" && next === "*" && mysql && /^\/\*M?!/.test(script.slice(i, i + 4))) {
      // MySQL/MariaDB executable comments /*! … */, /*!50001 … */, /*M!100100 … */: the server runs
      // their text, so it is read as code (its closing */ is skipped as punctuation below).
      i += script[i + 2] === "M" ? 4 : 3;
      while (i < n && /[0-9]/.test(script[i])) i++;
    } else if (c === "/" && next === "*") {
      i = blockCommentEnd(script, i, engine === "postgresql");
    } else if (c === "'" ) {
      code = true;
      // E'…' takes backslash escapes, unless the e ends a longer name (some'…' is a typed literal).
      const backslash = mysql || (engine === "postgresql" && /[eE]$/.test(script.slice(Math.max(0, i - 1), i)) && !WORD_CHAR.test(script[i - 2] ?? ""));
      i = quotedEnd(script, i, "'", backslash);
    } else if (c === '"') {
      code = true;
      i = quotedEnd(script, i, '"', mysql);
    } else if (c === "`" && engine !== "postgresql") {
      code = true;
      i = quotedEnd(script, i, "`", false);
    } else if (c === "[" && engine === "sqlite") {
      code = true;
      const end = script.indexOf("]", i + 1);
      i = end === -1 ? n : end + 1;
    } else if (c === "$" && engine === "postgresql" && !/[\w$]/.test(script[i - 1] ?? "")) {
      code = true;
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(script.slice(i, i + 64));
      if (m) {
        const end = script.indexOf(m[0], i + m[0].length);
        i = end === -1 ? n : end + m[0].length;
      } else i++;
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(script[j])) j++;
      const word = script.slice(i, j).toUpperCase();
      code = true;
      words.push(word);
      if (isCompound(words)) {
        if (BLOCK_OPENERS.has(word)) depth++;
        else if (word === "END" && depth > 0) {
          const after = /^(\s*)([A-Za-z]+)(?![A-Za-z0-9_$\u0080-\uffff])/.exec(script.slice(j, j + 40));
          const afterWord = after?.[2].toUpperCase();
          if (!afterWord || !NOT_BLOCK_ENDS.has(afterWord)) depth--;
          if (afterWord === "CASE") {
            // END CASE: the CASE closes a block, it does not open one.
            words.push(afterWord);
            j += after![0].length;
          }
        }
      }
      i = j;
    } else if (c === ";" && depth === 0) {
      flush(i);
      i++;
    } else {
      if (!/\s/.test(c)) code = true;
      i++;
    }
  }
  flush(n);
  return out;
}

function lineEnd(s: string, i: number): number {
  const end = s.indexOf("\n", i);
  return end === -1 ? s.length : end + 1;
}

function blockCommentEnd(s: string, i: number, nested: boolean): number {
  let depth = 0;
  while (i < s.length) {
    if (s[i] === "/" && s[i + 1] === "*" && (nested || depth === 0)) {
      depth++;
      i += 2;
    } else if (s[i] === "*" && s[i + 1] === "/") {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else i++;
  }
  return s.length;
}

function quotedEnd(s: string, i: number, q: string, backslash: boolean): number {
  i++;
  while (i < s.length) {
    const c = s[i];
    if (backslash && c === "\\") i += 2;
    else if (c === q) {
      if (s[i + 1] === q) i += 2;
      else return i + 1;
    } else i++;
  }
  return s.length;
}
