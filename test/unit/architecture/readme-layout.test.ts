import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/** README's Layout section describes the folders of src/ that exist, and only those (issue 10 item 9). */
const ROOT = decodeURIComponent(new URL("../../../", import.meta.url).pathname);
const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const layout = /## Layout\n\n```\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";

describe("README's layout", () => {
  it("is found", () => {
    expect(layout).toContain("src/main.ts");
  });

  it("names every top-level folder and file of src/", () => {
    const features = /src\/<feature>\/\s+([a-z, ]+):/.exec(layout)?.[1].split(/,\s*/) ?? [];
    const named = new Set([...layout.matchAll(/\bsrc\/([a-z-]+)(\/|\.ts)/g)].map((m) => m[1]).concat(features));
    const present = readdirSync(join(ROOT, "src")).map((n) => n.replace(/\.ts$/, ""));
    expect(present.filter((n) => !named.has(n)).sort()).toEqual([]);
  });

  it("names no path that does not exist", () => {
    const paths = [...layout.matchAll(/^([a-z][\w./-]*\/)\s/gm), ...layout.matchAll(/\b((?:src|test|web|docs|scripts)\/[\w.-]+(?:\/[\w.-]+)*)/g)]
      .map((m) => m[1])
      .filter((p) => !p.includes("<"));
    const missing = [...new Set(paths)].filter((p) => !existsSync(join(ROOT, p)));
    expect(missing).toEqual([]);
    const features = /src\/<feature>\/\s+([a-z, ]+):/.exec(layout)?.[1].split(/,\s*/) ?? [];
    expect(features.filter((f) => !existsSync(join(ROOT, "src", f)) || !statSync(join(ROOT, "src", f)).isDirectory())).toEqual([]);
  });
});
