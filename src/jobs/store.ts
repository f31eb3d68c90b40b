import { inWriteTransaction, type Db } from "../db/client.js";

/** SQL for job_leases (migrations/0001_job_leases.sql). */
export class JobStore {
  constructor(private readonly db: Db) {}

  /**
   * Takes the job's lease until `until` when it is free (expired) or already ours; returns
   * whether we hold it. One statement, so two instances can never both win; in an explicit
   * transaction, so a lease is only ours once its COMMIT succeeded. (In autocommit, a write on a
   * connection where another statement is still active, e.g. one that answered SQLITE_BUSY and
   * awaits collection, returns its RETURNING row but commits only later, or never if that
   * connection is closed first: two instances then both ran the job within one interval.)
   */
  async acquire(job: string, holder: string, now: number, until: number): Promise<boolean> {
    return inWriteTransaction(this.db, async (tx) => {
      const rs = await tx.execute({
        sql: `INSERT INTO job_leases (job_name, holder, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
              ON CONFLICT (job_name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at, updated_at = excluded.updated_at
              WHERE job_leases.expires_at <= excluded.updated_at OR job_leases.holder = excluded.holder
              RETURNING holder`,
        args: [job, holder, until, now, now],
      });
      return rs.rows.length === 1 && String(rs.rows[0].holder) === holder;
    });
  }

  async finish(job: string, holder: string, now: number, status: string): Promise<void> {
    await this.db.execute({
      sql: "UPDATE job_leases SET last_run_at = ?, last_status = ?, updated_at = ? WHERE job_name = ? AND holder = ?",
      args: [now, status, now, job, holder],
    });
  }
}
