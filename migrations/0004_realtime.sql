-- Realtime events (DESIGN.md §6, "pokes"): every instance tails this table, so an event
-- published on one instance reaches subscribers connected to any other. Rows are short-lived
-- (deleted by a job after an hour).
CREATE TABLE realtime_events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id     TEXT NOT NULL,
  type        TEXT NOT NULL CHECK (type IN ('sync_changed', 'conflict_created', 'session_revoked')),
  data        TEXT NOT NULL,                -- JSON of the event message
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX realtime_events_age ON realtime_events (created_at);
