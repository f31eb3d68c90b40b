import type { Runtime } from "../common/runtime.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import type { JobStore } from "./store.js";

export interface Job {
  name: string;
  intervalMs: number;
  /** Runs on every instance, without a lease (work on this process's own state, e.g. its pools). */
  perInstance?: boolean;
  /** Does the work; returns counts for the log line (e.g. { deleted: 3 }). */
  run(now: number): Promise<Record<string, number>>;
}

/**
 * Runs each job at start and then every interval: never twice at once in this process, and
 * on one instance at a time (the instance holding the job's lease row for the interval).
 */
export class JobRunner {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Map<string, Promise<void>>();
  private stopped = false;

  private readonly jobs: Job[];
  private readonly store: JobStore;
  private readonly runtime: Runtime;
  private readonly logger: Logger;
  private readonly metrics: Metrics;
  /** This process's name in the lease rows. */
  readonly holder: string;

  constructor(d: { jobs: Job[]; store: JobStore; runtime: Runtime; logger: Logger; metrics: Metrics; holder: string }) {
    ({ jobs: this.jobs, store: this.store, runtime: this.runtime, logger: this.logger, metrics: this.metrics, holder: this.holder } = d);
  }

  start(): void {
    for (const job of this.jobs) {
      void this.runOnce(job);
      this.timers.push(setInterval(() => void this.runOnce(job), job.intervalMs).unref());
    }
  }

  /** Runs a job now unless it is already running here or another instance holds its lease. */
  runOnce(job: Job): Promise<void> {
    const inFlight = this.running.get(job.name);
    if (inFlight || this.stopped) return inFlight ?? Promise.resolve();
    const p = this.attempt(job).finally(() => this.running.delete(job.name));
    this.running.set(job.name, p);
    return p;
  }

  private async attempt(job: Job): Promise<void> {
    const now = this.runtime.now();
    try {
      // The lease covers most of the interval, so each interval runs the job once in the fleet. A
      // lease that had run out by the time the database granted it (the write waited for a busy
      // database) is no lease: another instance may hold the next one already.
      if (!job.perInstance) {
        const until = now + Math.floor(job.intervalMs * 0.9);
        if (!(await this.store.acquire(job.name, this.holder, now, until)) || this.runtime.now() >= until) {
          this.metrics.jobRuns.inc({ job: job.name, result: "skipped" });
          return;
        }
      }
      const started = performance.now();
      const counts = await job.run(now);
      const ms = performance.now() - started;
      if (!job.perInstance) await this.store.finish(job.name, this.holder, this.runtime.now(), "ok");
      this.metrics.jobRuns.inc({ job: job.name, result: "ok" });
      this.metrics.jobDuration.observe({ job: job.name }, ms / 1000);
      this.logger.info({ job: job.name, ms: Math.round(ms), startedAt: now, ...counts }, "job ran");
    } catch (err) {
      this.metrics.jobRuns.inc({ job: job.name, result: "error" });
      this.logger.error({ job: job.name, err }, "job failed");
      if (!job.perInstance) await this.store.finish(job.name, this.holder, this.runtime.now(), "error").catch(() => undefined);
    }
  }

  /** Stops scheduling and waits for running jobs. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await Promise.allSettled([...this.running.values()]);
  }
}
