import { isWordChar, SqlLexer, type Token } from "../common/sql-lexer.js";
import type { EngineName } from "./driver.js";

/** One statement of a script: its text and its words outside strings, quotes and comments. */
export interface Statement {
  sql: string;
  /** Upper-cased bare words in order (identifiers and keywords, never literals). */
  words: string[];
  /** MySQL/MariaDB: it holds an executable comment (`/*!…*∕`, `/*M!…*∕`), which a server runs or skips by its version. */
  versioned: boolean;
  /** Quoted names ("…", `…`, […]) without their quotes, upper-cased. */
  names: string[];
  /** PostgreSQL: it holds a U&"…" name, whose escapes can spell any name. */
  unicodeNames: boolean;
}

const BLOCK_OPENERS = new Set(["BEGIN", "CASE"]);
/** END IF, END LOOP … close blocks that were never counted; END CASE closes its CASE. */
const NOT_BLOCK_ENDS = new Set(["IF", "LOOP", "WHILE", "REPEAT", "FOR"]);
/** Objects whose bodies hold statements between BEGIN and END. */
const COMPOUND_KINDS = new Set(["TRIGGER", "PROCEDURE", "FUNCTION", "EVENT"]);
/** Words allowed between CREATE and the object kind: CREATE OR REPLACE TEMP / CONSTRAINT / AGGREGATE … */
const CREATE_PREFIX = new Set(["OR", "REPLACE", "TEMP", "TEMPORARY", "CONSTRAINT", "AGGREGATE"]);

/**
 * Whether the statement so far is CREATE [OR REPLACE] [DEFINER = …] [TEMP|CONSTRAINT|AGGREGATE]
 * TRIGGER|PROCEDURE|FUNCTION|EVENT, decided word by word as they come (each word is judged once).
 * Only the object kind right after CREATE and its modifiers counts: a column or alias named
 * "function" or "begin" in another CREATE statement must not turn its semicolons into body
 * semicolons (that would hide the statements after it).
 */
class CompoundCheck {
  /** undefined while the words so far could still become a compound CREATE. */
  decided: boolean | undefined;
  private count = 0;
  /** MySQL: DEFINER = user@host | 'user'@'host' | CURRENT_USER; up to two bare words are skipped. */
  private skip = 0;

  add(w: string): void {
    if (this.decided !== undefined) return;
    const first = this.count++ === 0;
    if (first) {
      if (w !== "CREATE") this.decided = false;
    } else if (COMPOUND_KINDS.has(w)) this.decided = true;
    else if (this.skip > 0) this.skip--;
    else if (w === "DEFINER") this.skip = 2;
    else if (!CREATE_PREFIX.has(w)) this.decided = false;
  }
}

function unquote(text: string, closed: boolean): string {
  const q = text[0];
  const body = text.slice(1, closed ? -1 : undefined);
  return q === "[" ? body : body.split(q + q).join(q);
}

const NO_NAMES: string[] = [];

/** Optional counters of the work done (tests check that it grows linearly). */
export interface SplitStats {
  work: number;
}

/**
 * Splits a script into statements at top-level semicolons, aware of each dialect's strings,
 * quoted identifiers, comments, PostgreSQL dollar quotes and the BEGIN…END bodies of triggers,
 * procedures and functions. Empty statements are dropped. Linear in the length of the script.
 *
 * MySQL/MariaDB executable comments (`/*!50001 … *∕`) are read as code (the server may run
 * them) and mark their statement `versioned`: whether a server runs one depends on its version,
 * which the read-only guard does not guess.
 */
export function splitStatements(script: string, engine: EngineName, stats?: SplitStats): Statement[] {
  const out: Statement[] = [];
  const lexer = new SqlLexer(script, engine);
  let start = 0;
  // Scratch lists, copied at their exact length into each statement.
  const words: string[] = [];
  let depth = 0;
  let versioned = false;
  const names: string[] = [];
  let unicodeNames = false;
  let compound = new CompoundCheck();
  /** Whether the statement has anything besides whitespace and comments (else it is dropped). */
  let code = false;
  let work = 0;
  // Upper-cased words, one string per distinct word: a long script repeats few words, and
  // keeping one copy of each keeps the work per KB flat at any size.
  const upper = new Map<string, string>();
  const wordOf = (t: Token) => {
    const text = lexer.textOf(t);
    let u = upper.get(text);
    if (u === undefined) {
      u = text.toUpperCase();
      if (upper.size < 4096) upper.set(text, u);
    }
    return u;
  };
  const flush = (end: number) => {
    const sql = script.slice(start, end).trim();
    if (code && sql !== "") out.push({ sql, words: words.slice(), versioned, names: names.length > 0 ? names.slice() : NO_NAMES, unicodeNames });
    words.length = 0;
    names.length = 0;
    unicodeNames = false;
    depth = 0;
    code = false;
    versioned = false;
    compound = new CompoundCheck();
    start = end + 1;
  };
  let ahead: Token | undefined;
  const read = () => {
    work++;
    if (ahead) {
      const t = ahead;
      ahead = undefined;
      return t;
    }
    return lexer.next();
  };
  for (let t = read(); t; t = read()) {
    switch (t.kind) {
      case "space":
      case "comment":
        break;
      case "versioned":
        versioned = true;
        break;
      case "word": {
        const word = wordOf(t);
        code = true;
        words.push(word);
        compound.add(word);
        if (compound.decided !== true) break;
        if (BLOCK_OPENERS.has(word)) depth++;
        else if (word === "END" && depth > 0) {
          // The word right after END (spaces between): END IF, END LOOP … close no counted block.
          let next = read();
          if (next?.kind === "space") next = read();
          const afterWord = next?.kind === "word" ? wordOf(next) : undefined;
          if (!afterWord || !NOT_BLOCK_ENDS.has(afterWord)) depth--;
          if (afterWord === "CASE") {
            // END CASE: the CASE closes a block, it does not open one.
            words.push(afterWord);
            compound.add(afterWord);
          } else ahead = next ? { ...next } : undefined; // the lexer reuses its token object
        }
        break;
      }
      case "punct":
        if (depth === 0 && script.charCodeAt(t.start) === 59) {
          flush(t.start);
          break;
        }
        code = true;
        break;
      case "quoted":
        code = true;
        names.push(unquote(lexer.textOf(t), t.closed === true).toUpperCase());
        // U&"…": the word U and & right before the quote.
        if (t.start >= 2 && script[t.start - 1] === "&" && (script[t.start - 2] === "U" || script[t.start - 2] === "u") && !(t.start >= 3 && isWordChar(script.charCodeAt(t.start - 3)))) unicodeNames = true;
        break;
      default:
        code = true;
    }
  }
  flush(script.length);
  if (stats) stats.work += work;
  return out;
}
