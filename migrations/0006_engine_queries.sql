-- Queries running on some instance (DESIGN.md §7): CancelQuery may reach any instance behind the
-- load balancer, so it marks the row and the instance running the query stops it. Rows live as
-- long as their query; a job removes those of instances that died.
CREATE TABLE engine_queries (
  user_id             TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  query_id            TEXT NOT NULL,
  instance            TEXT NOT NULL,
  cancel_requested_at INTEGER,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  PRIMARY KEY (user_id, query_id)
);
-- Each instance polls for cancel requests of its own queries; the job deletes old rows.
CREATE INDEX engine_queries_instance ON engine_queries (instance, cancel_requested_at);
CREATE INDEX engine_queries_age ON engine_queries (created_at);
