/**
 * Reading a model's answer: the SQL in its fenced blocks, the explanation around them, and which of
 * the connection's tables the SQL names. Pure.
 */

const FENCE = /```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n([\s\S]*?)(?:```|$)/g;
const SQL_LANGS = new Set(["", "sql", "postgresql", "postgres", "pgsql", "psql", "mysql", "mariadb", "sqlite", "plpgsql", "tsql"]);
const SQL_START = /^\s*(SELECT|WITH|INSERT|UPDATE|DELETE|MERGE|CREATE|ALTER|DROP|EXPLAIN|VALUES|TABLE|SHOW|REPLACE|TRUNCATE)\b/i;

/** Every fenced SQL block of a text, in order. */
export function sqlBlocks(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(FENCE)) {
    if (!SQL_LANGS.has(m[1].toLowerCase())) continue;
    const sql = m[2].trim();
    if (sql !== "") out.push(sql);
  }
  return out;
}

/** The first SQL block and the explanation (the text without the blocks). A bare SQL answer is all SQL. */
export function parseAnswer(text: string): { sql: string; explanation: string } {
  const blocks = sqlBlocks(text);
  if (blocks.length > 0) {
    const explanation = text.replace(FENCE, (all, lang: string) => (SQL_LANGS.has(lang.toLowerCase()) ? "" : all)).replace(/\n{3,}/g, "\n\n").trim();
    return { sql: blocks[0], explanation };
  }
  if (SQL_START.test(text)) return { sql: text.trim(), explanation: "" };
  return { sql: "", explanation: text.trim() };
}

/**
 * The identifiers of SQL outside strings and comments, as written: bare words (case kept) and
 * quoted names ("x", `x`, [x]), each dotted path split into its parts.
 */
export function identifiers(sql: string): { name: string; quoted: boolean }[] {
  const out: { name: string; quoted: boolean }[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    if (c === "'" ) {
      i++;
      while (i < n && !(sql[i] === "'" && sql[i + 1] !== "'")) i += sql[i] === "'" ? 2 : 1;
      i++;
    } else if (c === "-" && sql[i + 1] === "-") {
      while (i < n && sql[i] !== "\n") i++;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === '"' || c === "`" || c === "[") {
      const close = c === "[" ? "]" : c;
      let j = i + 1;
      let name = "";
      while (j < n) {
        if (sql[j] === close) {
          if (sql[j + 1] === close && close !== "]") {
            name += close;
            j += 2;
            continue;
          }
          break;
        }
        name += sql[j++];
      }
      out.push({ name, quoted: true });
      i = j + 1;
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[j])) j++;
      out.push({ name: sql.slice(i, j), quoted: false });
      i = j;
    } else i++;
  }
  return out;
}

/**
 * Keys of the tables the SQL names, in order of first mention: a bare name matches any case, a
 * quoted one exactly. `byName` maps lower-cased table names to their keys.
 */
export function tablesIn(sql: string, byName: Map<string, string[]>, exact: (key: string) => string): string[] {
  const seen = new Set<string>();
  for (const id of identifiers(sql)) {
    const keys = byName.get(id.name.toLowerCase()) ?? [];
    for (const k of keys) {
      if (id.quoted && exact(k) !== id.name) continue;
      seen.add(k);
    }
  }
  return [...seen];
}
