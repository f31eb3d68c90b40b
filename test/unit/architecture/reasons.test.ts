import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../../gen/sqlstudio/common/v1/error_pb.js";
import { fail, invalidArgument, R, type Reason } from "../../../src/common/errors.js";
import { CATALOG, perCall, type ReasonSpec } from "../../../src/common/reasons.js";

/**
 * The error catalog (issue 10 item 2): every reason the server answers with is declared once in
 * src/common/reasons.ts, no call site spells one as a string, and docs/errors.md is the catalog.
 * `WRITE_DOCS=1 npx vitest run test/unit/architecture/reasons.test.ts` rewrites docs/errors.md.
 */
const ROOT = decodeURIComponent(new URL("../../../", import.meta.url).pathname);
const SRC = join(ROOT, "src");
const CATALOG_FILE = join(SRC, "common/reasons.ts");
const DOC = join(ROOT, "docs/errors.md");
const names = Object.keys(CATALOG) as Reason[];
const specs = CATALOG as Record<string, ReasonSpec>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) ? [path] : [];
  });
}
/** The server's code (src/client is code for clients: it reads reasons, it makes none). */
const files = sourceFiles(SRC)
  .filter((f) => f !== CATALOG_FILE && !f.startsWith(join(SRC, "client/")))
  .map((f) => ({ file: relative(ROOT, f), code: readFileSync(f, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "") }));

/** What makes an error or a rejected change from a reason. */
const CONSTRUCTORS = /\b(fail|invalidArgument|resourceExhausted|limitExceeded|unauthenticated|EngineError|reject)\(/g;
const UPPER_LITERAL = /["'`]([A-Z][A-Z0-9_]{2,})["'`]/g;

/** The argument text of each constructor call (balanced parentheses), with where it is. */
function constructorCalls(code: string): { name: string; args: string; line: number }[] {
  const out: { name: string; args: string; line: number }[] = [];
  for (const m of code.matchAll(CONSTRUCTORS)) {
    let depth = 1;
    let i = m.index + m[0].length;
    for (; i < code.length && depth > 0; i++) {
      if (code[i] === "(") depth++;
      else if (code[i] === ")") depth--;
    }
    out.push({ name: m[1], args: code.slice(m.index + m[0].length, i - 1), line: code.slice(0, m.index).split("\n").length });
  }
  return out;
}

export function renderDoc(): string {
  const codeName = (c: Code) => Code[c].replace(/^./, (x) => x.toUpperCase());
  const cell = (s: string) => s.replace(/\|/g, "\\|");
  const rows = names.map((name) => {
    const s = specs[name];
    const code = s.code === undefined ? "— (a rejected change only)" : [s.code, s.alsoCode].filter((c) => c !== undefined).map((c) => codeName(c!)).join(", ");
    const field = s.field === undefined ? "—" : perCall(s.field) ? cell(s.field.slice(1, -1)) : `\`${s.field}\``;
    return `| \`${name}\` | ${code} | ${field} | ${cell(s.meaning)} |`;
  });
  return [
    "# Error reasons",
    "",
    "Every error of the API carries a Connect code and a `sqlstudio.common.v1.ErrorInfo` detail whose `reason` is",
    "one of these names (clients branch on them: they never change), and `field` names the request field at",
    "fault where the table says so (a path in proto names: `changes.3.record_id`). Rate limits add `retryAfter`",
    "(and a `retry-after` header); configured caps name their variable in `metadata.limit` and its value in",
    "`metadata.max`; what a user's database answered carries its SQLSTATE in `metadata.sqlstate`. A change that",
    "PushChanges rejects carries one of these reasons too, with the field relative to the change.",
    "",
    "This page is generated from the catalog, `src/common/reasons.ts`, by",
    "`WRITE_DOCS=1 npx vitest run test/unit/architecture/reasons.test.ts`; the same test fails when it is stale.",
    "",
    "| reason | code | field | meaning |",
    "|---|---|---|---|",
    ...rows,
    "",
  ].join("\n");
}

describe("the error catalog", () => {
  it("is read: the scan finds the constructor calls it must", () => {
    const calls = files.flatMap((f) => constructorCalls(f.code));
    expect(calls.length).toBeGreaterThan(150);
    expect(constructorCalls(`x; throw fail(R.A, "m", { field: f(1) }); invalidArgument("f", "m", "NOT_THERE")`)).toEqual([
      { name: "fail", args: `R.A, "m", { field: f(1) }`, line: 1 },
      { name: "invalidArgument", args: `"f", "m", "NOT_THERE"`, line: 1 },
    ]);
  });

  it("no call site spells a reason as a string: every reason comes from the catalog (R.NAME)", () => {
    const spelled = files.flatMap(({ file, code }) =>
      constructorCalls(code).flatMap((c) =>
        // (`metadata.limit` names a configuration variable, not a reason.)
        [...c.args.matchAll(UPPER_LITERAL)].filter((m) => !/\blimit:\s*$/.test(c.args.slice(0, m.index))).map((m) => `${file}:${c.line} ${c.name}(… "${m[1]}" …)${m[1] in CATALOG ? "" : " NOT IN THE CATALOG"}`),
      ),
    );
    expect(spelled).toEqual([]);
  });

  it("no reason of the catalog is spelled as a string anywhere else in src/ (types included)", () => {
    const spelled = files.flatMap(({ file, code }) =>
      [...code.matchAll(UPPER_LITERAL)].filter((m) => m[1] in CATALOG).map((m) => `${file}:${code.slice(0, m.index).split("\n").length} "${m[1]}"`),
    );
    expect(spelled).toEqual([]);
  });

  it("every R.NAME used in src/ is in the catalog, and every reason of the catalog is used", () => {
    const used = new Set(files.flatMap(({ code }) => [...code.matchAll(/\bR\.([A-Z][A-Z0-9_]+)/g)].map((m) => m[1])));
    // The defaults of invalidArgument and resourceExhausted are in src/common/errors.ts, which the scan reads too.
    expect([...used].filter((n) => !(n in CATALOG)).sort()).toEqual([]);
    expect(names.filter((n) => !used.has(n))).toEqual([]);
  });

  it("declares each reason with a code or as a rejected change only, and fields as paths or <per call>", () => {
    for (const name of names) {
      const s = specs[name];
      expect(s.meaning.length, name).toBeGreaterThan(10);
      if (s.field !== undefined && !perCall(s.field)) expect(s.field, name).toMatch(/^[a-z_]+(\.[a-z_]+)*$/);
      if (s.field !== undefined && perCall(s.field)) expect(s.field, name).toMatch(/^<.+>$/);
      expect(name).toMatch(/^[A-Z][A-Z0-9_]+$/);
    }
  });

  it("builds errors with the catalog's code and field, and refuses what the catalog does not declare", () => {
    const info = (e: ConnectError) => e.findDetails(ErrorInfoSchema)[0];
    const e = fail(R.SESSION_NOT_FOUND, "session not found");
    expect([e.code, info(e).reason, info(e).field]).toEqual([Code.NotFound, "SESSION_NOT_FOUND", "session_id"]);
    const t = invalidArgument("token", "is not a token this server issued", R.INVALID_TOKEN);
    expect([t.code, info(t).reason, info(t).field]).toEqual([Code.InvalidArgument, "INVALID_TOKEN", "token"]);
    expect(fail(R.INVALID_TOKEN, "expired").code).toBe(Code.Unauthenticated);
    expect(() => fail("NOT_A_REASON" as Reason, "m")).toThrow(/not in the catalog/);
    expect(() => fail(R.SESSION_NOT_FOUND, "m", { field: "id" })).toThrow(/names session_id, not id/);
    expect(() => invalidArgument("x", "m", R.SESSION_NOT_FOUND)).toThrow(/not declared with code/);
    expect(() => fail(R.RECORD_LIMIT, "m")).toThrow(/only a rejected change/);
    expect(() => fail("toString" as Reason, "m")).toThrow(/not in the catalog/);
  });

  it("is documented: docs/errors.md lists exactly the catalog", () => {
    const want = renderDoc();
    if (process.env.WRITE_DOCS) writeFileSync(DOC, want);
    let have = "";
    try {
      have = readFileSync(DOC, "utf8");
    } catch {
      /* missing: the comparison says so */
    }
    expect(have, "docs/errors.md is stale: WRITE_DOCS=1 npx vitest run test/unit/architecture/reasons.test.ts").toBe(want);
  });
});
