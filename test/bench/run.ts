/**
 * `npm run bench`: every benchmark in one process run, each as a ratio against a reference
 * measured in the same run (DESIGN.md §10). Prints the tables and writes them into
 * docs/benchmarks.md between `<!-- bench:NAME -->` markers; the prose around them is kept.
 *
 *   npm run bench                      transport + profile + auth + sync + engine + split + assistant + console
 *   npm run bench -- --only transport  (or profile, auth, sync, engine, split, assistant, console; comma-separated)
 *   npm run bench -- --only fuzz       the fuzz suite for BENCH_FUZZ_SECONDS (default 600); only when named
 *   npm run bench -- --only soak       the soak (test/bench/soak.ts) for SOAK_MINUTES (default 10); only when
 *                                      named; exits 1 when it fails (after writing its table)
 *   BENCH_REQUESTS=20000 BENCH_CONCURRENCY=32   per-side request count and concurrency
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { assistantBench } from "./assistant.js";
import { authBench } from "./auth.js";
import { consoleBench } from "./console.js";
import { engineBench } from "./engine.js";
import { fuzzBench } from "./fuzz.js";
import { LoadGenerator } from "./loadgen.js";
import { soakBench } from "./soak.js";
import { profileLoad, profileTables } from "./profile.js";
import { splitBench } from "./split.js";
import { syncBench } from "./sync.js";
import { specs, startBenchServers, transportBench, transportTable } from "./transport.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const DOC = join(ROOT, "docs/benchmarks.md");

function parseOnly(): Set<string> {
  const i = process.argv.indexOf("--only");
  const all = ["transport", "profile", "auth", "sync", "engine", "split", "assistant", "console"];
  // Run only when named: minutes of fuzzing or of steady load, not speed benchmarks.
  const named = [...all, "fuzz", "soak"];
  if (i < 0) return new Set(all);
  return new Set(process.argv[i + 1]!.split(",").filter((s) => named.includes(s)));
}

function machine(): string {
  const cpus = os.cpus();
  const [l1, l5] = os.loadavg();
  return [
    `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${cpus.length} × ${cpus[0]?.model.trim() ?? "unknown CPU"},` +
      ` ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.version};` +
      ` load average at start ${l1!.toFixed(2)} / ${l5!.toFixed(2)} (1 / 5 min) — a shared machine: read the ratios, not the absolute numbers.`,
    "",
  ].join("\n");
}

const SKELETON = `# Benchmarks

\`npm run bench\` (not part of \`npm test\`) runs every benchmark in one process and rewrites the marked
sections of this page. Each result is a ratio against a reference measured in the same run, because
absolute numbers on a shared machine drift (DESIGN.md §10).

## Transport: Health.Check

<!-- bench:transport -->
<!-- /bench:transport -->

## Where Connect's time goes

<!-- bench:profile -->
<!-- /bench:profile -->

## Auth

<!-- bench:auth -->
<!-- /bench:auth -->

## Sync

<!-- bench:sync -->
<!-- /bench:sync -->

## Engine

<!-- bench:engine -->
<!-- /bench:engine -->

## SQL splitter

<!-- bench:split -->
<!-- /bench:split -->

## AI assistant

<!-- bench:assistant -->
<!-- /bench:assistant -->

## Web console

<!-- bench:console -->
<!-- /bench:console -->

## Fuzz

<!-- bench:fuzz -->
<!-- /bench:fuzz -->

## Soak

<!-- bench:soak -->
<!-- /bench:soak -->
`;

function writeSection(doc: string, name: string, body: string): string {
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const a = doc.indexOf(start);
  const b = doc.indexOf(end);
  if (a < 0 || b < a) return `${doc.trimEnd()}\n\n${start}\n${body.trimEnd()}\n${end}\n`;
  return `${doc.slice(0, a + start.length)}\n${body.trimEnd()}\n${doc.slice(b)}`;
}

async function main(): Promise<void> {
  const only = parseOnly();
  const requests = Number(process.env.BENCH_REQUESTS ?? 20_000);
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
  const started = performance.now();
  const log = (line: string) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
  const sections: Record<string, string> = {};
  const failed: string[] = [];
  /** One part: a part that fails is reported at the end, and the parts that ran still reach the page. */
  const part = async (name: string, label: string, run: () => Promise<string>) => {
    log(label);
    try {
      sections[name] = await run();
    } catch (e) {
      log(`${name} FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      failed.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  log(machine().trim());

  if (only.has("transport") || only.has("profile")) {
    const servers = await startBenchServers();
    const loadgen = await LoadGenerator.start();
    try {
      if (only.has("transport")) {
        const o = { loadgen, requests, concurrency, warmup: 2_000, log };
        sections.transport = machine() + "\n" + transportTable(await transportBench(servers, o), o);
      }
      if (only.has("profile")) {
        const dir = join(os.tmpdir(), "sqlstudio-bench-profiles");
        mkdirSync(dir, { recursive: true });
        const n = Math.min(requests, 10_000);
        const load = { requests: n, concurrency };
        // Warm both paths first (JIT), then profile each alone.
        await loadgen.run({ ...specs.connectJsonH1(servers.origin), ...load, requests: 2_000 });
        await loadgen.run({ ...specs.bareH1(servers.origin), ...load, requests: 2_000 });
        const ours = await profileLoad("Connect JSON, HTTP/1.1", loadgen, { ...specs.connectJsonH1(servers.origin), ...load }, join(dir, "connect-json-h1.cpuprofile"));
        const ref = await profileLoad("bare Fastify route", loadgen, { ...specs.bareH1(servers.origin), ...load }, join(dir, "bare-route-h1.cpuprofile"));
        log(`profiles written to ${dir}`);
        sections.profile = [
          machine(),
          `${n} requests per side, concurrency ${concurrency}, after warm-up; profiles: \`${dir}/*.cpuprofile\`.`,
          "",
          profileTables(ours, ref),
        ].join("\n");
      }
    } finally {
      loadgen.close();
      await servers.close();
    }
  }

  if (only.has("auth")) await part("auth", "auth benchmarks", async () => machine() + "\n" + (await authBench()));

  if (only.has("sync")) await part("sync", "sync benchmarks", async () => machine() + "\n" + (await syncBench(log)));

  if (only.has("engine")) await part("engine", "engine benchmarks", async () => machine() + "\n" + (await engineBench(log)));

  if (only.has("split")) await part("split", "split benchmarks", async () => machine() + "\n" + splitBench(log));

  if (only.has("assistant")) await part("assistant", "assistant benchmarks", async () => machine() + "\n" + (await assistantBench(log)));

  if (only.has("console")) await part("console", "console benchmark", async () => machine() + "\n" + (await consoleBench(log)));

  if (only.has("fuzz")) await part("fuzz", "fuzz (long mode)", async () => machine() + "\n" + (await fuzzBench(log)));

  if (only.has("soak")) {
    log("soak");
    const at = machine(); // the load when it starts: it runs for minutes
    const r = await soakBench(log);
    sections.soak = at + "\n" + r.md;
    failed.push(...r.failures.map((f) => `soak: ${f}`));
  }

  let doc = existsSync(DOC) ? readFileSync(DOC, "utf8") : SKELETON;
  for (const [name, body] of Object.entries(sections)) {
    doc = writeSection(doc, name, body);
  }
  mkdirSync(dirname(DOC), { recursive: true });
  writeFileSync(DOC, doc);
  for (const [name, body] of Object.entries(sections)) process.stdout.write(`\n## ${name}\n\n${body}\n`);
  log(`done; wrote ${DOC}`);
  if (failed.length) throw new Error(`failed:\n${failed.join("\n")}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
