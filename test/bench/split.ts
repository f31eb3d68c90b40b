/**
 * Splitter benchmark (issue 18.2): the time to split hostile SQL of 10 KB, 100 KB and 1 MB, per KB.
 * The reference is the same splitter on the 10 KB text in the same run: a linear splitter keeps
 * the time per KB at 1 MB within 2× of the time per KB at 10 KB.
 * Run: npm run bench -- --only split
 */
import type { EngineName } from "../../src/engine/driver.js";
import { splitStatements } from "../../src/engine/split.js";

const SIZES = [10 * 1024, 100 * 1024, 1024 * 1024];

/** Each kind of hostile text, grown to `bytes` from a repeated piece (and its engine). */
const KINDS: { name: string; engine: EngineName; make: (bytes: number) => string }[] = [
  { name: "`CREATE OR OR … x` (one statement)", engine: "mysql", make: (b) => `CREATE ${"OR ".repeat(Math.floor((b - 9) / 3))}x` },
  { name: "an unclosed quote full of '' and ;", engine: "postgresql", make: (b) => `select '${"a'';".repeat(Math.floor((b - 8) / 4))}` },
  {
    name: "nested comments, 1,000 deep, repeated",
    engine: "postgresql",
    make: (b) => fill(b, `${"/* ".repeat(1_000)}x${" */".repeat(1_000)} select 1;`),
  },
  { name: "dollar tags, closed and one unclosed", engine: "postgresql", make: (b) => `${fill(b - 8, "select $q$;'$$$q$, $a$ $b$ $a$; ")}$open$ x` },
  { name: "versioned comments /*!…*/ and /*M!…*/", engine: "mysql", make: (b) => fill(b, "/*!50001 select 1 */; /*M!100100 select 2; */ select /*!3 */ 4; ") },
  { name: "CREATE TRIGGER … BEGIN … END bodies", engine: "sqlite", make: (b) => fill(b, "CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT CASE WHEN 1 THEN 2 END; END; ") },
];

function fill(bytes: number, piece: string): string {
  return piece.repeat(Math.max(1, Math.floor(bytes / piece.length)));
}

/**
 * CPU time (this process's, not the wall clock: the machine is shared) of one split, in ms: the
 * best of 7 measurements, each splitting the text enough times to take about 1 MB of work, so
 * every size is measured the same way.
 */
function timeSplit(sql: string, engine: EngineName): number {
  const repeat = Math.max(1, Math.round((1024 * 1024) / sql.length));
  let best = Infinity;
  for (let i = 0; i < 7; i++) {
    const t0 = process.cpuUsage();
    for (let r = 0; r < repeat; r++) splitStatements(sql, engine);
    const used = process.cpuUsage(t0);
    best = Math.min(best, (used.user + used.system) / 1000 / repeat);
  }
  return best;
}

export function splitBench(log: (line: string) => void): string {
  const rows: string[] = [];
  for (const kind of KINDS) {
    log(`split: ${kind.name}`);
    // Warm the JIT on the smallest text first.
    timeSplit(kind.make(SIZES[0]), kind.engine);
    const perKb = SIZES.map((size) => {
      const sql = kind.make(size);
      return (timeSplit(sql, kind.engine) * 1000) / (sql.length / 1024);
    });
    const ratio = perKb[2] / perKb[0];
    rows.push(`| ${kind.name} | ${kind.engine} | ${perKb.map((v) => v.toFixed(1)).join(" | ")} | ${ratio.toFixed(2)} | ${ratio <= 2 ? "yes" : "**no**"} |`);
  }
  return [
    "Split CPU time per KB of hostile SQL (µs/KB, best of 7 measurements of about 1 MB of work each) at 10 KB, 100 KB and 1 MB; the ratio is",
    "µs/KB at 1 MB over µs/KB at 10 KB (linear: within 2×). `ENGINE_MAX_SQL_BYTES` (1 MiB) caps what a request may send.",
    "",
    "| hostile SQL | dialect | 10 KB | 100 KB | 1 MB | 1 MB / 10 KB | within 2× |",
    "|---|---|---:|---:|---:|---:|---|",
    ...rows,
    "",
  ].join("\n");
}
