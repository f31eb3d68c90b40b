import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/**
 * No constructor or function of src/ takes more than five positional parameters (issue 10): past
 * that, callers pass an options object, whose names say at the call what each value is. Read with
 * the TypeScript compiler's parser: declarations, methods, arrows, function expressions and
 * function types (a callback's type counts too).
 */
const ROOT = decodeURIComponent(new URL("../../../", import.meta.url).pathname);
const SRC = join(ROOT, "src");
export const MAX_POSITIONAL = 5;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** `file:line name (n)` for every function-like node of `source` with more than `max` parameters. */
export function longSignatures(file: string, source: string, max = MAX_POSITIONAL): string[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, file.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node)) {
      // `this` is a type annotation, not a positional parameter.
      const params = node.parameters.filter((p) => !(ts.isIdentifier(p.name) && p.name.text === "this"));
      if (params.length > max) {
        const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
        const name = ts.isConstructorDeclaration(node) ? "constructor" : node.name ? node.name.getText(sf) : "(anonymous)";
        out.push(`${file}:${line} ${name} (${params.length})`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

describe("positional parameters in src/", () => {
  it("are found: the walk sees constructors, methods, arrows and function types", () => {
    const sample = [
      "class A { constructor(a, b, c, d, e, f) {} m(a, b, c, d, e, f) {} }",
      "function g(a, b, c, d, e, f) {}",
      "const h = (a, b, c, d, e, f) => 0;",
      "type T = (a: 1, b: 1, c: 1, d: 1, e: 1, f: 1) => void;",
      "function ok(this: unknown, a, b, c, d, e) {}",
      "const fine = ({ a, b, c, d, e, f }) => 0;",
    ].join("\n");
    expect(longSignatures("x.ts", sample).map((s) => s.replace(/^x\.ts:\d+ /, ""))).toEqual([
      "constructor (6)",
      "m (6)",
      "g (6)",
      "(anonymous) (6)",
      "(anonymous) (6)",
    ]);
  });

  it(`are at most ${MAX_POSITIONAL} per constructor or function (more: an options object)`, () => {
    const files = sourceFiles(SRC);
    expect(files.length).toBeGreaterThan(100);
    const found = files.flatMap((f) => longSignatures(relative(ROOT, f), readFileSync(f, "utf8")));
    expect(found).toEqual([]);
  });
});
