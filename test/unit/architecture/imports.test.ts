import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The layering of src/ (issue 10): every import of every file, read with a regex (static imports
 * and re-exports, side-effect imports, and import() with a literal, type-only ones included), and
 * checked against the rules below. A rule that breaks names the importing file and what it imports.
 */
const ROOT = resolve(fileURLToPathish(new URL("../../../", import.meta.url)));
const SRC = join(ROOT, "src");

/** Folders whose code holds a feature's logic: none of them knows the transport (src/server). */
const FEATURES = ["auth", "sync", "engine", "realtime", "assistant", "health"];
/** src/main.ts and src/features.ts: the composition root. */
const ENTRY = "(entry)";

function fileURLToPathish(url: URL): string {
  return decodeURIComponent(url.pathname);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) ? [path] : [];
  });
}

/** The module specifiers a file imports (comments removed first, so examples in them do not count). */
export function specifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const out: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^;'"]*?\bfrom\s*["']([^"']+)["']/g, // import x from "m", export { x } from "m"
    /\bimport\s+["']([^"']+)["']/g, // import "m"
    /\bimport\(\s*["']([^"']+)["']\s*\)/g, // import("m"), also in types
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) out.push(m[1]);
  return out;
}

/** The file of src/ a relative specifier names, or undefined (packages, node:, gen/). */
function resolveImport(from: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  const base = resolve(dirname(from), spec);
  const candidates = [base.replace(/\.js$/, ".ts"), base.replace(/\.js$/, ".tsx"), base, `${base}.ts`, join(base, "index.ts")];
  const hit = candidates.find((c) => {
    try {
      return statSync(c).isFile();
    } catch {
      return false;
    }
  });
  if (!hit) throw new Error(`${relative(ROOT, from)}: cannot resolve "${spec}"`);
  return hit.startsWith(SRC + "/") ? hit : undefined;
}

/** The top-level folder of src/ a file is in (files right in src/ are the entry). */
function folderOf(file: string): string {
  const parts = relative(SRC, file).split("/");
  return parts.length === 1 ? ENTRY : parts[0];
}

interface Edge {
  from: string;
  to: string;
}

const edges: Edge[] = sourceFiles(SRC).flatMap((from) =>
  specifiers(readFileSync(from, "utf8")).flatMap((spec) => {
    const to = resolveImport(from, spec);
    return to ? [{ from, to }] : [];
  }),
);

const show = (e: Edge) => `${relative(ROOT, e.from)} -> ${relative(ROOT, e.to)}`;

/** Edges leaving `folders` for a folder not in `allowed`. */
function breaking(folders: string[], allowed: (folder: string, target: string) => boolean): string[] {
  return edges.filter((e) => folders.includes(folderOf(e.from)) && !allowed(folderOf(e.from), folderOf(e.to))).map(show);
}

/** Strongly connected groups of more than one node (Tarjan). */
function cycles(nodes: string[], next: (n: string) => string[]): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of next(v)) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) out.push(group.sort());
    }
  };
  for (const n of nodes) if (!idx.has(n)) visit(n);
  return out;
}

describe("the imports of src/", () => {
  it("are read: the walk finds the imports it must", () => {
    // A regex that silently read nothing would pass every rule below.
    expect(edges.length).toBeGreaterThan(300);
    expect(specifiers(`import type { A,\n B } from "./a.js";\nexport * from "./b.js";\nimport "./c.js";\nlet d: import("./d.js").D;\n// import x from "./no.js"`)).toEqual([
      "./a.js",
      "./b.js",
      "./c.js",
      "./d.js",
    ]);
  });

  it("features import nothing from src/server/ nor the entry", () => {
    expect(breaking(FEATURES, (_f, to) => to !== "server" && to !== ENTRY)).toEqual([]);
  });

  it("src/common/ imports only src/common/", () => {
    expect(breaking(["common"], (_f, to) => to === "common")).toEqual([]);
  });

  it("src/config/ imports only src/config/", () => {
    expect(breaking(["config"], (_f, to) => to === "config")).toEqual([]);
  });

  it("src/db/ imports no feature (only db, config, common, observability)", () => {
    expect(breaking(["db"], (_f, to) => ["db", "config", "common", "observability"].includes(to))).toEqual([]);
  });

  it("no import cycle between the top-level folders of src/", () => {
    const between = edges.filter((e) => folderOf(e.from) !== folderOf(e.to));
    const folders = [...new Set(between.flatMap((e) => [folderOf(e.from), folderOf(e.to)]))].sort();
    const found = cycles(folders, (f) => [...new Set(between.filter((e) => folderOf(e.from) === f).map((e) => folderOf(e.to)))]);
    // Each cycle as its folder-to-folder imports, with the first file import that makes each.
    const described = found.map((group) => {
      const pairs = new Map<string, string>();
      for (const e of between) {
        const pair = `${folderOf(e.from)} -> ${folderOf(e.to)}`;
        if (group.includes(folderOf(e.from)) && group.includes(folderOf(e.to)) && !pairs.has(pair)) pairs.set(pair, show(e));
      }
      return [...pairs].map(([pair, example]) => `${pair} (${example})`).sort();
    });
    expect(described).toEqual([]);
  });

  it("no import cycle between files of src/engine/ (types included)", () => {
    const files = [...new Set(edges.flatMap((e) => [e.from, e.to]))].filter((f) => folderOf(f) === "engine");
    const found = cycles(files, (f) => edges.filter((e) => e.from === f && folderOf(e.to) === "engine").map((e) => e.to));
    expect(found.map((g) => g.map((f) => relative(ROOT, f)))).toEqual([]);
  });
});
