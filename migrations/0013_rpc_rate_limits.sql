-- Rate limits of every RPC (issue 14 item 8): tokens instances took per key and fixed window. An
-- instance takes a chunk with one upsert that grants at most what is left under the limit, so every
-- instance counts against the same row. `user_id` is set for a user's buckets, so DeleteAccount's
-- sweep of every table with a user_id column removes them; address buckets have none. Ended windows
-- are deleted by the ratelimit.windows job.
CREATE TABLE rpc_rate_limits (
  bucket       TEXT NOT NULL,                 -- e.g. "user:<id>:engine", "ip:1.2.3.4:all"
  window_start INTEGER NOT NULL,
  user_id      TEXT,
  used         INTEGER NOT NULL,              -- tokens granted to instances in this window
  last_grant   INTEGER NOT NULL,              -- tokens the last request was granted (read by RETURNING)
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (bucket, window_start)
) WITHOUT ROWID;
CREATE INDEX rpc_rate_limits_window ON rpc_rate_limits (window_start);
CREATE INDEX rpc_rate_limits_user ON rpc_rate_limits (user_id) WHERE user_id IS NOT NULL;
