-- Limits of issue 18 (sync storage per user) and per-user realtime event ids (issue 17).

-- Sync usage per user, kept in the row every write transaction already updates (sync_heads), so a
-- push checks and moves it without counting anything:
--   used_bytes     = what the user stores: 128 bytes per row plus its payloads, over records
--                    (tombstones and history included), conflicts (both sides) and rejected changes;
--   open_conflicts = conflicts not yet resolved.
ALTER TABLE sync_heads ADD COLUMN used_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_heads ADD COLUMN open_conflicts INTEGER NOT NULL DEFAULT 0;

UPDATE sync_heads SET
  used_bytes =
      COALESCE((SELECT SUM(128 + COALESCE(LENGTH(CAST(r.payload AS BLOB)), 0))
                  FROM sync_records r WHERE r.user_id = sync_heads.user_id), 0)
    + COALESCE((SELECT SUM(128 + COALESCE(LENGTH(CAST(c.server_payload AS BLOB)), 0) + COALESCE(LENGTH(CAST(c.client_payload AS BLOB)), 0))
                  FROM sync_conflicts c WHERE c.user_id = sync_heads.user_id), 0)
    + COALESCE((SELECT 128 * COUNT(*)
                  FROM sync_mutations m WHERE m.user_id = sync_heads.user_id AND m.status = 'rejected'), 0),
  open_conflicts =
      (SELECT COUNT(*) FROM sync_conflicts c WHERE c.user_id = sync_heads.user_id AND c.resolved_at IS NULL);

-- Open conflicts per record, looked up by a push that would add one.
CREATE INDEX sync_conflicts_open_record ON sync_conflicts (user_id, record_id) WHERE resolved_at IS NULL;
-- Resolved conflicts are deleted after the tombstone retention.
CREATE INDEX sync_conflicts_resolved ON sync_conflicts (resolved_at) WHERE resolved_at IS NOT NULL;
-- Rejected change results are counted per user when the retention job deletes them.
CREATE INDEX sync_mutations_rejected ON sync_mutations (user_id, created_at) WHERE status = 'rejected';

-- Realtime event ids per user: a client sees 1, 2, 3 … of its own events, not a sequence shared by
-- every user (which told anyone how busy the service is). realtime_events.id stays the global
-- order instances tail by; user_seq is the id clients see. realtime_heads keeps each user's last
-- id, so ids keep increasing after old events are deleted.
ALTER TABLE realtime_events ADD COLUMN user_seq INTEGER NOT NULL DEFAULT 0;

UPDATE realtime_events SET user_seq = w.n
  FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY id) AS n FROM realtime_events) AS w
  WHERE w.id = realtime_events.id;

CREATE TABLE realtime_heads (
  user_id     TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  last_seq    INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);

INSERT INTO realtime_heads (user_id, last_seq, created_at, updated_at)
  SELECT user_id, MAX(user_seq), MAX(created_at), MAX(created_at) FROM realtime_events
   WHERE user_id IN (SELECT id FROM users) GROUP BY user_id;
