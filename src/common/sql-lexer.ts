/**
 * The one SQL lexer: cuts text into tokens (spaces, comments, words, numbers, strings, quoted
 * names, punctuation) the way each dialect does, in one pass over the text. The statement
 * splitter (engine/split.ts), the read-only guard and the history redactor (sync/redact.ts) read
 * its tokens; it knows no statement, keyword or feature, and imports nothing.
 *
 * Every branch moves forward by at least one character and never looks back more than one, so
 * the work is linear in the length of the text whatever it holds (unclosed quotes and comments
 * end at the end of the text).
 */

/** "any": SQL of an unknown dialect (query history): PostgreSQL's quoting plus backticks. */
export type SqlDialect = "postgresql" | "mysql" | "sqlite" | "any";

export type TokenKind =
  | "space"
  | "comment"
  /** MySQL/MariaDB `/*!NNNNN` or `/*M!NNNNNN` opener: the server runs the text after it (up to its `*∕`) as code. */
  | "versioned"
  | "word"
  | "number"
  /** '…', E'…', N'…', $tag$…$tag$, and MySQL "…". */
  | "string"
  /** Quoted names: "…", `…`, […]. */
  | "quoted"
  | "punct";

export interface Token {
  kind: TokenKind;
  start: number;
  /** Exclusive. */
  end: number;
  /** string / quoted: the opening delimiter as written ("'", "E'", "N'", "$fn$", '"', "`", "["). */
  open?: string;
  /** string / quoted: false when the text ended before the closing delimiter. */
  closed?: boolean;
  /** string: backslash escapes apply (MySQL, E'…'). */
  backslash?: boolean;
  /** versioned: the version digits ("" for `/*!`), and whether it is MariaDB's `/*M!`. */
  version?: string;
  mariadb?: boolean;
}

interface Rules {
  hashComments: boolean;
  /** MySQL: "--" starts a comment only before a space or control character (5--2 is 5 - -2). */
  dashNeedsSpace: boolean;
  versioned: boolean;
  nestedComments: boolean;
  /** Backslash escapes in every '…' and "…" (MySQL). */
  backslash: boolean;
  /** "…" is a string (MySQL), not a name. */
  doubleQuoteString: boolean;
  eStrings: boolean;
  nStrings: boolean;
  backticks: boolean;
  brackets: boolean;
  dollarQuotes: boolean;
  /** A word may start with a digit (1abc is one word). */
  digitWords: boolean;
  /** Unicode spaces (JS \s) are spaces; else only ASCII ones (the engines read U+00A0 as a name character). */
  unicodeSpaces: boolean;
}

const RULES: Record<SqlDialect, Rules> = {
  postgresql: rules({ nestedComments: true, eStrings: true, dollarQuotes: true }),
  mysql: rules({ hashComments: true, dashNeedsSpace: true, versioned: true, backslash: true, doubleQuoteString: true, backticks: true }),
  sqlite: rules({ backticks: true, brackets: true }),
  any: rules({ nestedComments: true, eStrings: true, nStrings: true, backticks: true, dollarQuotes: true, digitWords: true, unicodeSpaces: true }),
};

function rules(on: Partial<Rules>): Rules {
  return {
    hashComments: false,
    dashNeedsSpace: false,
    versioned: false,
    nestedComments: false,
    backslash: false,
    doubleQuoteString: false,
    eStrings: false,
    nStrings: false,
    backticks: false,
    brackets: false,
    dollarQuotes: false,
    digitWords: false,
    unicodeSpaces: false,
    ...on,
  };
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const isLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
/** Name characters: letters, digits, _, $ and everything from U+0080 on. */
export const isWordChar = (c: number) => isLetter(c) || isDigit(c) || c === 95 || c === 36 || c >= 0x80;
const isWordStart = (c: number) => isLetter(c) || c === 95 || c >= 0x80;
const isAsciiSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);
const UNICODE_SPACE = /\s/;

/**
 * Reads tokens one at a time. The token answered is one object, reused by the next call (a long
 * text makes no garbage per token): copy what must outlive the next call.
 */
export class SqlLexer {
  private i = 0;
  private readonly tok: Token = { kind: "space", start: 0, end: 0, open: undefined, closed: undefined, backslash: undefined, version: undefined, mariadb: undefined };
  private readonly n: number;
  private readonly r: Rules;

  constructor(
    readonly text: string,
    dialect: SqlDialect,
  ) {
    this.n = text.length;
    this.r = RULES[dialect];
  }

  /** The next token, or undefined at the end of the text. */
  next(): Token | undefined {
    const s = this.text;
    const n = this.n;
    const start = this.i;
    if (start >= n) return undefined;
    const c = s.charCodeAt(start);
    const d = start + 1 < n ? s.charCodeAt(start + 1) : -1;
    const r = this.r;
    if (this.isSpace(c, start)) {
      let j = start + 1;
      while (j < n && this.isSpace(s.charCodeAt(j), j)) j++;
      return this.emit("space", start, j);
    }
    // --
    if (c === 45 && d === 45 && (!r.dashNeedsSpace || start + 2 >= n || s.charCodeAt(start + 2) <= 32)) return this.emit("comment", start, this.lineEnd(start));
    // #
    if (c === 35 && r.hashComments) return this.emit("comment", start, this.lineEnd(start));
    // /*
    if (c === 47 && d === 42) {
      const bang = start + 2 < n ? s.charCodeAt(start + 2) : -1;
      const mariadb = bang === 77 && start + 3 < n && s.charCodeAt(start + 3) === 33; // /*M!
      if (r.versioned && (bang === 33 || mariadb)) {
        let j = start + (mariadb ? 4 : 3);
        const from = j;
        while (j < n && isDigit(s.charCodeAt(j))) j++;
        const t = this.emit("versioned", start, j);
        t.version = s.slice(from, j);
        t.mariadb = mariadb;
        return t;
      }
      return this.emit("comment", start, this.blockCommentEnd(start));
    }
    // '…'
    if (c === 39) return this.quoted(start, start, "'", r.backslash, "string");
    if (c === 34) return this.quoted(start, start, '"', r.backslash && r.doubleQuoteString, r.doubleQuoteString ? "string" : "quoted");
    if (c === 96 && r.backticks) return this.quoted(start, start, "`", false, "quoted");
    if (c === 91 && r.brackets) {
      const end = s.indexOf("]", start + 1);
      return this.emitQuoted("quoted", start, end === -1 ? n : end + 1, { open: "[", closed: end !== -1, backslash: false });
    }
    if (c === 36 && r.dollarQuotes && !(start > 0 && isWordChar(s.charCodeAt(start - 1)))) {
      // $$ or $tag$ (a tag: a letter or _, then letters, digits, _; at most 62 characters).
      let k = start + 1;
      if (k < n && (isLetter(s.charCodeAt(k)) || s.charCodeAt(k) === 95)) {
        k++;
        while (k < n && k < start + 63 && (isLetter(s.charCodeAt(k)) || isDigit(s.charCodeAt(k)) || s.charCodeAt(k) === 95)) k++;
      }
      if (k < n && s.charCodeAt(k) === 36) {
        const tag = s.slice(start, k + 1);
        const close = s.indexOf(tag, k + 1);
        const end = close === -1 ? n : close + tag.length;
        return this.emitQuoted("string", start, end, { open: tag, closed: close !== -1, backslash: false });
      }
      return this.emit("punct", start, start + 1);
    }
    if (isWordStart(c) || (r.digitWords && isDigit(c))) {
      let j = start + 1;
      while (j < n && isWordChar(s.charCodeAt(j))) j++;
      // E'…' (backslash escapes) and N'…': the prefix is the whole word.
      if (j < n && s.charCodeAt(j) === 39 && j === start + 1) {
        const p = c | 0x20;
        if ((p === 101 && r.eStrings) || (p === 110 && r.nStrings)) return this.quoted(start, j, `${s[start]}'`, p === 101 || r.backslash, "string");
      }
      return this.emit("word", start, j);
    }
    if (isDigit(c)) {
      let j = start + 1;
      while (j < n && isDigit(s.charCodeAt(j))) j++;
      return this.emit("number", start, j);
    }
    return this.emit("punct", start, start + 1);
  }

  /** The text of a token. */
  textOf(t: Token): string {
    return this.text.slice(t.start, t.end);
  }

  private emit(kind: TokenKind, start: number, end: number): Token {
    this.i = end;
    const out = this.tok;
    out.kind = kind;
    out.start = start;
    out.end = end;
    out.open = undefined;
    out.closed = undefined;
    out.backslash = undefined;
    out.version = undefined;
    out.mariadb = undefined;
    return out;
  }

  /** A string or quoted name: its delimiter, whether it closed, whether backslashes escape. */
  private emitQuoted(kind: TokenKind, start: number, end: number, quote: { open: string; closed: boolean; backslash: boolean }): Token {
    const t = this.emit(kind, start, end);
    t.open = quote.open;
    t.closed = quote.closed;
    t.backslash = quote.backslash;
    return t;
  }

  private isSpace(c: number, at: number): boolean {
    if (isAsciiSpace(c)) return true;
    return this.r.unicodeSpaces && c >= 0x80 && UNICODE_SPACE.test(this.text[at]);
  }

  /** A line comment runs up to (not including) the end of its line. */
  private lineEnd(i: number): number {
    const end = this.text.indexOf("\n", i);
    return end === -1 ? this.n : end;
  }

  private blockCommentEnd(i: number): number {
    const s = this.text;
    const n = this.n;
    const nested = this.r.nestedComments;
    let depth = 0;
    let j = i;
    while (j < n) {
      const c = s.charCodeAt(j);
      if (c === 47 && j + 1 < n && s.charCodeAt(j + 1) === 42 && (nested || depth === 0)) {
        depth++;
        j += 2;
      } else if (c === 42 && j + 1 < n && s.charCodeAt(j + 1) === 47) {
        depth--;
        j += 2;
        if (depth === 0) return j;
      } else j++;
    }
    return n;
  }

  /** A quoted token from `start`; its opening quote is at `quoteAt` (after a prefix). */
  private quoted(start: number, quoteAt: number, open: string, backslash: boolean, kind: "string" | "quoted"): Token {
    const s = this.text;
    const n = this.n;
    const q = s.charCodeAt(quoteAt);
    let j = quoteAt + 1;
    while (j < n) {
      const c = s.charCodeAt(j);
      if (backslash && c === 92) j += 2;
      else if (c === q) {
        if (j + 1 < n && s.charCodeAt(j + 1) === q) j += 2;
        else return this.emitQuoted(kind, start, j + 1, { open, closed: true, backslash });
      } else j++;
    }
    return this.emitQuoted(kind, start, n, { open, closed: false, backslash });
  }
}

/** Every token of a text, in order. */
export function tokenize(text: string, dialect: SqlDialect): { lexer: SqlLexer; tokens: Token[] } {
  const lexer = new SqlLexer(text, dialect);
  const tokens: Token[] = [];
  for (let t = lexer.next(); t; t = lexer.next()) tokens.push({ ...t });
  return { lexer, tokens };
}
