/**
 * Issue 14.9, the fuzz suite (the budget of `npm test`; `npm run bench -- --only fuzz` runs it for
 * minutes): every RPC of every service in gen/, over Connect JSON, Connect binary, Connect GET,
 * gRPC (h2c) and gRPC-Web, with protobuf-, JSON- and envelope-level mutations of a valid request
 * (cases.ts), against the server as a child process. No answer may be Internal, Unknown or HTTP
 * 500, none may take longer than 10 s, the process must stay up and /health answer, and its
 * resident memory must come back to within 100 MB of its baseline.
 *
 * The seed is printed; `FUZZ_SEED=<n>` replays the same cases in the same order (each case is a
 * function of the seed and its index only), and every failure prints its method, protocol,
 * mutation and bytes. `FUZZ_CASES` changes the budget.
 */
import { describe, expect, it } from "vitest";
import { formatFailure } from "./runner.js";
import { fuzzSession, fuzzTable } from "./harness.js";

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CASES = Number(process.env.FUZZ_CASES ?? 5_000);

describe("fuzz: malformed requests to every RPC over every protocol", () => {
  it(`answers each with a proper code, stays up and gives memory back (seed ${SEED})`, async () => {
    console.log(`fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED}), ${CASES} cases`);
    const r = await fuzzSession({ seed: SEED, cases: CASES, seconds: 80, log: (l) => console.log(l) });
    console.log(fuzzTable(r));
    console.log(`slowest:\n${r.stats.slowest.map((x) => `${x.ms} ms ${x.what}`).join("\n")}`);
    const failures = r.stats.failures.map(formatFailure);
    if (Object.keys(r.stats.kinds).length) console.log(`failure kinds:\n${Object.entries(r.stats.kinds).map(([k, n]) => `${n}× ${k}`).join("\n")}`);
    if (r.errorLogs.length) console.log(`server error logs:\n${r.errorLogs.join("\n")}`);
    expect(r.crashed, "the server process exited").toBeUndefined();
    expect(failures, `seed ${SEED}`).toEqual([]);
    expect(r.stats.bad).toBe(0);
    expect(r.stats.hangs).toBe(0);
    expect(r.healthAfter).toBe(200);
    expect(r.rssAfterMb, `RSS ${r.rssBeforeMb.toFixed(0)} MB before, ${r.rssAfterMb.toFixed(0)} MB after`).toBeLessThan(r.rssBeforeMb + 100);
    // The budget really ran: most cases were answered with a code, not cut off.
    expect(r.stats.cases).toBeGreaterThan(Math.min(CASES, 1_000));
  }, 170_000);
});
