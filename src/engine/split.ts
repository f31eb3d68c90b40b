import type { EngineName } from "./driver.js";

/** One statement of a script: its text and its words outside strings, quotes and comments. */
export interface Statement {
  sql: string;
  /** Upper-cased bare words in order (identifiers and keywords, never literals). */
  words: string[];
}

const BLOCK_OPENERS = new Set(["BEGIN", "CASE"]);
const NOT_BLOCK_ENDS = new Set(["IF", "LOOP", "WHILE", "REPEAT"]);

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
  const flush = (end: number) => {
    const sql = script.slice(start, end).trim();
    if (words.length > 0 || sql.replace(/;/g, "").trim() !== "") {
      if (sql !== "") out.push({ sql, words });
    }
    words = [];
    depth = 0;
    start = end + 1;
  };
  const compound = () => words[0] === "CREATE" && words.some((w) => w === "TRIGGER" || w === "PROCEDURE" || w === "FUNCTION" || w === "EVENT");
  while (i < n) {
    const c = script[i];
    const next = script[i + 1];
    if (c === "-" && next === "-") {
      i = lineEnd(script, i);
    } else if (c === "#" && mysql) {
      i = lineEnd(script, i);
    } else if (c === "/" && next === "*") {
      i = blockCommentEnd(script, i, engine === "postgresql");
    } else if (c === "'" ) {
      const backslash = mysql || (engine === "postgresql" && /[eE]$/.test(script.slice(Math.max(0, i - 1), i)) && !/[\w$]/.test(script[i - 2] ?? ""));
      i = quotedEnd(script, i, "'", backslash);
    } else if (c === '"') {
      i = quotedEnd(script, i, '"', mysql);
    } else if (c === "`" && engine !== "postgresql") {
      i = quotedEnd(script, i, "`", false);
    } else if (c === "[" && engine === "sqlite") {
      const end = script.indexOf("]", i + 1);
      i = end === -1 ? n : end + 1;
    } else if (c === "$" && engine === "postgresql" && !/[\w$]/.test(script[i - 1] ?? "")) {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(script.slice(i, i + 64));
      if (m) {
        const end = script.indexOf(m[0], i + m[0].length);
        i = end === -1 ? n : end + m[0].length;
      } else i++;
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(script[j])) j++;
      const word = script.slice(i, j).toUpperCase();
      if (compound()) {
        if (BLOCK_OPENERS.has(word)) depth++;
        else if (word === "END" && depth > 0) {
          const after = /^\s*([A-Za-z]+)/.exec(script.slice(j, j + 20))?.[1]?.toUpperCase();
          if (!after || !NOT_BLOCK_ENDS.has(after)) depth--;
        }
      }
      words.push(word);
      i = j;
    } else if (c === ";" && depth === 0) {
      flush(i);
      i++;
    } else {
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
