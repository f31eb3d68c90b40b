/**
 * Background jobs (issue 3 §7): the runner runs each job at start and then every interval,
 * never twice at once, and with two runners on one database (two connections to one file) only
 * one runs a job per lease. The auth cleanup jobs delete expired or revoked sessions, login
 * failures past the lockout horizon, and used or expired email tokens: rows made by the real
 * logic on an injected clock, then the jobs run through the runner.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { authJobs } from "../../../src/auth/jobs.js";
import { lockoutPolicy } from "../../../src/auth/lockout.js";
import { openDb, type Db } from "../../../src/db/client.js";
import { migrate } from "../../../src/db/migrator.js";
import { JobRunner, type Job } from "../../../src/jobs/runner.js";
import { JobStore } from "../../../src/jobs/store.js";
import { Metrics } from "../../../src/observability/metrics.js";
import { directAccounts, linkToken, manualRuntime, newUser, requestInfo, sha256hex, type DirectAccounts } from "../../support/auth.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const dir = mkdtempSync(join(tmpdir(), "sqlstudio-jobs-"));
const file = join(dir, "jobs.db");
let db: Db;
let db2: Db;

beforeAll(async () => {
  db = await openDb({ url: `file:${file}` });
  await migrate(db);
  db2 = await openDb({ url: `file:${file}` });
});
afterAll(() => {
  db?.close();
  db2?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A job that counts its runs and, when gated, waits until released. */
function countingJob(name: string, intervalMs = HOUR) {
  let gate: Promise<void> | undefined;
  let release = () => {};
  const job = {
    name,
    intervalMs,
    runs: 0,
    running: 0,
    maxRunning: 0,
    hold() {
      gate = new Promise((r) => (release = r));
    },
    release: () => release(),
    async run() {
      job.runs++;
      job.running++;
      job.maxRunning = Math.max(job.maxRunning, job.running);
      try {
        if (gate) await gate;
      } finally {
        job.running--;
      }
      return { touched: 1 };
    },
  };
  return job;
}

function runner(jobs: Job[], database: Db, clock = manualRuntime(), holder = "test", metrics = new Metrics()) {
  const { logger } = directAccounts(database, clock);
  return new JobRunner({ jobs, store: new JobStore(database), runtime: clock, logger, metrics, holder });
}

async function runsOf(metrics: Metrics, job: string, result: string): Promise<number> {
  const v = (await metrics.jobRuns.get()).values.find((x) => x.labels.job === job && x.labels.result === result);
  return v?.value ?? 0;
}

describe("JobRunner", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("runs each job at start, then every interval", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const clock = manualRuntime();
    const a = countingJob("start.a", 10 * 60_000);
    const b = countingJob("start.b", 20 * 60_000);
    const metrics = new Metrics();
    const r = runner([a, b], db, clock, "starter", metrics);
    r.start();
    await vi.waitFor(() => expect([a.runs, b.runs]).toEqual([1, 1]));

    clock.advance(10 * 60_000);
    vi.advanceTimersByTime(10 * 60_000);
    await vi.waitFor(() => expect([a.runs, b.runs]).toEqual([2, 1]));
    clock.advance(10 * 60_000);
    vi.advanceTimersByTime(10 * 60_000);
    await vi.waitFor(() => expect([a.runs, b.runs]).toEqual([3, 2]));
    await r.stop();
    expect(await runsOf(metrics, "start.a", "ok")).toBe(3);
    // Stopped: no more runs.
    vi.advanceTimersByTime(60 * 60_000);
    await new Promise((res) => setTimeout(res, 20));
    expect([a.runs, b.runs]).toEqual([3, 2]);
  });

  it("never runs a job twice at once", async () => {
    const job = countingJob("overlap");
    const r = runner([job], db);
    job.hold();
    const first = r.runOnce(job);
    await vi.waitFor(() => expect(job.running).toBe(1));
    // Ticks while it runs do not start it again.
    const second = r.runOnce(job);
    const third = r.runOnce(job);
    expect(job.runs).toBe(1);
    job.release();
    await Promise.all([first, second, third]);
    expect(job.maxRunning).toBe(1);
    expect(job.runs).toBe(1);
    // Once it finished, the next tick runs it again.
    await r.runOnce(job);
    expect(job.runs).toBe(2);
  });

  it("with two runners on one database, only one runs a job per lease", async () => {
    const clock = manualRuntime();
    const jobA = countingJob("leased", HOUR);
    const jobB = countingJob("leased", HOUR);
    const [mA, mB] = [new Metrics(), new Metrics()];
    const a = runner([jobA], db, clock, "instance-a", mA);
    const b = runner([jobB], db2, clock, "instance-b", mB);

    for (let round = 1; round <= 6; round++) {
      const [ra, rb] = [jobA.runs, jobB.runs];
      // Both instances tick at the same moment: exactly one runs the job.
      await Promise.all(round % 2 ? [a.runOnce(jobA), b.runOnce(jobB)] : [b.runOnce(jobB), a.runOnce(jobA)]);
      const [ranA, ranB] = [jobA.runs - ra, jobB.runs - rb];
      expect(ranA + ranB, `round ${round}`).toBe(1);
      // The other keeps skipping while the winner's lease lasts (0.9 of the interval)…
      const loser = ranA ? { r: b, j: jobB } : { r: a, j: jobA };
      clock.advance(0.8 * HOUR);
      const before = loser.j.runs;
      await loser.r.runOnce(loser.j);
      expect(loser.j.runs, `round ${round}: the loser ran inside the winner's lease`).toBe(before);
      // …and once it has expired the next simultaneous tick runs it exactly once again.
      clock.advance(0.1 * HOUR + 1);
    }
    expect(jobA.runs + jobB.runs).toBe(6);
    expect(jobA.maxRunning).toBeLessThanOrEqual(1);
    expect(jobB.maxRunning).toBeLessThanOrEqual(1);
    const skipped = (await runsOf(mA, "leased", "skipped")) + (await runsOf(mB, "leased", "skipped"));
    expect(skipped).toBeGreaterThanOrEqual(6);
  });

  it("a lease held by another instance is respected until it expires, then taken over", async () => {
    const clock = manualRuntime();
    const jobA = countingJob("handover", HOUR);
    const jobB = countingJob("handover", HOUR);
    const a = runner([jobA], db, clock, "holder-a");
    const b = runner([jobB], db2, clock, "holder-b");
    await a.runOnce(jobA);
    expect(jobA.runs).toBe(1);
    // B ticks throughout A's lease (0.9 h) and never runs.
    for (let i = 0; i < 5; i++) {
      await b.runOnce(jobB);
      clock.advance(0.17 * HOUR);
    }
    expect(jobB.runs).toBe(0);
    // A disappears; once its lease has expired B takes over.
    clock.advance(0.1 * HOUR);
    await b.runOnce(jobB);
    expect(jobB.runs).toBe(1);
    const lease = await db.execute({ sql: "SELECT holder, last_status FROM job_leases WHERE job_name = ?", args: ["handover"] });
    expect(lease.rows[0]).toMatchObject({ holder: "holder-b", last_status: "ok" });
  });

  it("a lease the database granted only after it had run out (the write waited) runs nothing: two such instances never both run", async () => {
    const clock = manualRuntime();
    // The libSQL client of each instance, seen as if its writes waited a whole interval for a busy
    // database: the clock moves on while the lease's INSERT is under way (in its transaction).
    const slowLease = <T extends object>(target: T): T =>
      new Proxy(target, {
        get(t, prop, receiver) {
          const value = Reflect.get(t, prop, receiver) as unknown;
          if (prop === "transaction") return async (...args: unknown[]) => slowLease(await (value as (...a: unknown[]) => Promise<object>).apply(t, args));
          if (prop !== "execute" || typeof value !== "function") return typeof value === "function" ? value.bind(t) : value;
          return async (stmt: Parameters<Db["execute"]>[0]) => {
            if (typeof stmt !== "string" && (stmt as { sql: string }).sql.includes("job_leases (job_name")) clock.advance(HOUR);
            return (value as Db["execute"]).call(t, stmt);
          };
        },
      });
    const waiting = (database: Db) => slowLease(database);
    const jobA = countingJob("late-lease", HOUR);
    const jobB = countingJob("late-lease", HOUR);
    const mA = new Metrics();
    const a = runner([jobA], waiting(db), clock, "late-a", mA);
    const b = runner([jobB], waiting(db2), clock, "late-b");
    await Promise.all([a.runOnce(jobA), b.runOnce(jobB)]);
    expect(jobA.runs + jobB.runs).toBe(0);
    expect(await runsOf(mA, "late-lease", "skipped")).toBe(1);
    // With an answer in time, the lease runs the job as ever.
    const c = runner([jobA], db, clock, "late-a");
    await c.runOnce(jobA);
    expect(jobA.runs).toBe(1);
  });

  it("a failing job is logged and counted, and runs again next time", async () => {
    const metrics = new Metrics();
    let calls = 0;
    const job: Job = {
      name: "flaky",
      intervalMs: HOUR,
      run: async () => {
        if (++calls === 1) throw new Error("boom");
        return {};
      },
    };
    const clock = manualRuntime();
    const { logger, logs } = directAccounts(db, clock);
    const r = new JobRunner({ jobs: [job], store: new JobStore(db), runtime: clock, logger, metrics, holder: "flaky-holder" });
    await r.runOnce(job);
    await r.runOnce(job);
    expect(calls).toBe(2);
    expect(await runsOf(metrics, "flaky", "error")).toBe(1);
    expect(await runsOf(metrics, "flaky", "ok")).toBe(1);
    expect(logs.some((l) => l.msg === "job failed" && l.job === "flaky")).toBe(true);
    expect(logs.some((l) => l.msg === "job ran" && l.job === "flaky")).toBe(true);
  });
});

describe("auth cleanup jobs", () => {
  const clock = manualRuntime(Date.UTC(2030, 0, 1));
  const t0 = clock.now();
  let d: DirectAccounts;
  let jobs: Job[];
  let jr: JobRunner;
  let logs: Record<string, unknown>[];
  const ids: Record<string, string> = {};
  const metrics = new Metrics();

  const count = async (sql: string, args: (string | number)[] = []) => Number((await db.execute({ sql, args })).rows[0].n);
  const runJob = async (name: string) => {
    await jr.runOnce(jobs.find((j) => j.name === name)!);
    return logs.filter((l) => l.msg === "job ran" && l.job === name).at(-1) as Record<string, number>;
  };
  const sessionIds = async () => (await db.execute("SELECT id FROM sessions ORDER BY id")).rows.map((r) => String(r.id));

  beforeAll(async () => {
    // A database of its own, so the counts below are only these rows.
    await db.batch(["DELETE FROM sessions", "DELETE FROM email_tokens", "DELETE FROM login_failures", "DELETE FROM login_lockouts", "DELETE FROM rate_limits", "DELETE FROM users"], "write");
    d = directAccounts(db, clock, { refreshTokenTtlMs: 30 * DAY, refreshGraceMs: 30_000 });
    logs = d.logs;
    jobs = authJobs(d.store, { refreshGraceMs: 30_000 });
    jr = new JobRunner({ jobs, store: new JobStore(db), runtime: clock, logger: d.logger, metrics, holder: "cleanup" });

    // U: registered (verification token), verified (token used), a reset requested (token, 1 h).
    const u = newUser("clean");
    const user = await d.accounts.emailFlows.register(u, requestInfo());
    ids.user = user.id;
    await d.outbox.flush();
    await d.accounts.emailFlows.verifyEmail(linkToken(d.sent[0]), requestInfo());
    await d.accounts.emailFlows.requestPasswordReset(u.email, requestInfo());
    // V: registered, never verified (a live token for 24 h).
    await d.accounts.emailFlows.register(newUser("unverified"), requestInfo());

    // Sessions of U: live (refreshed later), logged out now, left to expire.
    const info = requestInfo();
    const live = await d.accounts.login(u.username, u.password, "live", info);
    const gone = await d.accounts.login(u.username, u.password, "gone", info);
    const idle = await d.accounts.login(u.username, u.password, "idle", info);
    Object.assign(ids, { live: live.sessionId, gone: gone.sessionId, idle: idle.sessionId, liveRefresh: live.refreshToken });
    await d.accounts.sessions.logout({ userId: user.id, sessionId: gone.sessionId, role: "user", emailVerified: true }, info);

    // Failed logins (one on an unknown identifier, one on U), which also leave lock state behind.
    for (let i = 0; i < lockoutPolicy.threshold; i++) await d.accounts.login("nobody-at-all", "Wrong-password-1234", "x", info).catch(() => undefined);
    await d.accounts.login(u.username, "Wrong-password-1234", "x", info).catch(() => undefined);
  });

  it("start state", async () => {
    expect(await count("SELECT COUNT(*) AS n FROM email_tokens")).toBe(3);
    expect(await count("SELECT COUNT(*) AS n FROM email_tokens WHERE used_at IS NOT NULL")).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM sessions")).toBe(3);
    expect(await count("SELECT COUNT(*) AS n FROM login_failures")).toBe(lockoutPolicy.threshold + 1);
    expect(await count("SELECT COUNT(*) AS n FROM login_lockouts")).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM rate_limits")).toBeGreaterThan(0);
  });

  it("email tokens: used and expired ones go, live unused ones stay", async () => {
    clock.set(t0 + 2 * HOUR);
    // Used (verification of U) and expired (reset, 1 h) are deleted; V's verification (24 h) stays.
    expect((await runJob("auth.email_tokens")).deleted).toBe(2);
    const left = await db.execute("SELECT purpose, used_at FROM email_tokens");
    expect(left.rows.map((r) => ({ ...r }))).toEqual([{ purpose: "verify_email", used_at: null }]);
    clock.set(t0 + 24 * HOUR);
    expect((await runJob("auth.email_tokens")).deleted).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM email_tokens")).toBe(0);
  });

  it("login attempts: failures past the lockout horizon, spent locks and old rate-limit windows go", async () => {
    clock.set(t0 + lockoutPolicy.horizonMs - 1000);
    expect((await runJob("auth.login_attempts")).deleted).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM login_failures")).toBe(lockoutPolicy.threshold + 1);

    clock.set(t0 + lockoutPolicy.horizonMs + 1);
    const r = await runJob("auth.login_attempts");
    expect(r.deleted).toBe(lockoutPolicy.threshold + 1 + 1);
    expect(await count("SELECT COUNT(*) AS n FROM login_failures")).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM login_lockouts")).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM rate_limits")).toBe(0);
  });

  it("a recent failure and a live lock survive the cleanup", async () => {
    const now = clock.now();
    for (let i = 0; i < lockoutPolicy.threshold; i++) await d.accounts.login("someone-else", "Wrong-password-1234", "x", requestInfo("10.9.9.9")).catch(() => undefined);
    clock.set(now + 1000);
    await runJob("auth.login_attempts");
    expect(await count("SELECT COUNT(*) AS n FROM login_failures WHERE identifier = ?", ["id:someone-else"])).toBe(lockoutPolicy.threshold);
    expect(await count("SELECT COUNT(*) AS n FROM login_lockouts WHERE identifier = ?", ["id:someone-else"])).toBe(1);
  });

  it("sessions: revoked ones stay a week (reuse detection), then go; expired ones go; grace copies are dropped", async () => {
    clock.set(t0 + 25 * HOUR);
    // Keep one session in use: the refresh rotates it (30 more days) and keeps a grace copy.
    await d.accounts.sessions.refresh(ids.liveRefresh, requestInfo());
    expect(await count("SELECT COUNT(*) AS n FROM sessions WHERE grace_sealed IS NOT NULL")).toBe(1);

    clock.advance(31_000);
    const r1 = await runJob("auth.sessions");
    expect(r1).toMatchObject({ deleted: 0, graceCleared: 1 });
    expect(await sessionIds()).toEqual([ids.live, ids.gone, ids.idle].sort());

    clock.set(t0 + 7 * DAY + 1);
    expect((await runJob("auth.sessions")).deleted).toBe(1);
    expect(await sessionIds()).toEqual([ids.live, ids.idle].sort());

    clock.set(t0 + 30 * DAY);
    expect((await runJob("auth.sessions")).deleted).toBe(1); // the idle one expired
    expect(await sessionIds()).toEqual([ids.live]);

    clock.set(t0 + 25 * HOUR + 30 * DAY);
    expect((await runJob("auth.sessions")).deleted).toBe(1);
    expect(await sessionIds()).toEqual([]);
  });

  it("each run is logged and counted", async () => {
    for (const name of ["auth.sessions", "auth.login_attempts", "auth.email_tokens"]) {
      expect(await runsOf(metrics, name, "ok"), name).toBeGreaterThanOrEqual(1);
    }
    // The cleanup of tokens never logs a token or its hash.
    expect(JSON.stringify(logs)).not.toContain(sha256hex(ids.liveRefresh));
    expect(JSON.stringify(logs)).not.toContain(ids.liveRefresh);
  });
});
