-- Background jobs run on one instance at a time: the instance that holds a job's lease row
-- (until expires_at) runs it; others skip. Times are ms since epoch, server clock.
CREATE TABLE job_leases (
  job_name    TEXT PRIMARY KEY,
  holder      TEXT NOT NULL,
  expires_at  INTEGER NOT NULL,
  last_run_at INTEGER,
  last_status TEXT,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
