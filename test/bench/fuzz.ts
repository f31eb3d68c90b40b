/**
 * `npm run bench -- --only fuzz`: the fuzz suite of test/fuzz for minutes instead of the budget
 * of `npm test` (BENCH_FUZZ_SECONDS, default 600; BENCH_FUZZ_SEED to replay). Not a speed
 * benchmark, so no reference ratio: the table is what the server answered to malformed input, and
 * whether it stayed up and gave its memory back.
 */
import { formatFailure } from "../fuzz/runner.js";
import { fuzzSession, fuzzTable } from "../fuzz/harness.js";

export async function fuzzBench(log: (line: string) => void): Promise<string> {
  const seconds = Number(process.env.BENCH_FUZZ_SECONDS ?? 600);
  const seed = Number(process.env.BENCH_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
  log(`fuzz: ${seconds} s, seed ${seed} (replay with BENCH_FUZZ_SEED=${seed})`);
  const r = await fuzzSession({ seed, cases: Number.MAX_SAFE_INTEGER, seconds, concurrency: 6, big: 0.03, log });
  const failures = r.stats.failures.map(formatFailure);
  return [
    `${seconds} s of fuzzing (\`BENCH_FUZZ_SECONDS\`), every RPC of every service in gen/ over Connect JSON, Connect binary, Connect GET,` +
      " gRPC (h2c) and gRPC-Web, 6 requests at a time, 3% of them huge (MBs); the server a child process; RSS read from /proc after" +
      " a full GC through its inspector (before: after a warm-up; after: once the run ended). Failing cases, if any, below the table.",
    "",
    fuzzTable(r),
    "",
    failures.length ? ["Failures:", "", "```", ...failures, "```"].join("\n") : "No failures.",
    "",
  ].join("\n");
}
