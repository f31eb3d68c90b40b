-- Sync of the client's library (DESIGN.md §6). Times are ms since epoch, server clock.

-- One row per user: the change sequence and the retention horizon.
CREATE TABLE sync_heads (
  user_id     TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  head_seq    INTEGER NOT NULL DEFAULT 0,
  purged_seq  INTEGER NOT NULL DEFAULT 0,   -- tombstones with seq <= purged_seq were deleted
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);

CREATE TABLE sync_records (
  user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  id          TEXT NOT NULL,                -- client-generated UUID
  kind        TEXT NOT NULL CHECK (kind IN ('connection', 'saved_query', 'history')),
  version     INTEGER NOT NULL,
  seq         INTEGER NOT NULL,
  deleted     INTEGER NOT NULL DEFAULT 0,
  payload     TEXT,                         -- JSON of the payload message; NULL for tombstones
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (user_id, id)
);
CREATE UNIQUE INDEX sync_records_seq ON sync_records (user_id, seq);
CREATE INDEX sync_records_tombstones ON sync_records (user_id, deleted, updated_at);
CREATE INDEX sync_records_history ON sync_records (kind, created_at) WHERE kind = 'history';

-- The result of every change a device pushed, so a retry is answered, not reapplied.
CREATE TABLE sync_mutations (
  user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  device_id    TEXT NOT NULL,
  mutation_id  TEXT NOT NULL,
  record_id    TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('applied', 'conflict', 'rejected')),
  version      INTEGER NOT NULL DEFAULT 0,
  conflict_id  TEXT,
  reason       TEXT NOT NULL DEFAULT '',
  field        TEXT NOT NULL DEFAULT '',
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (user_id, device_id, mutation_id)
);
CREATE INDEX sync_mutations_age ON sync_mutations (created_at);

CREATE TABLE sync_conflicts (
  id              TEXT PRIMARY KEY,
  user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  record_id       TEXT NOT NULL,
  kind            TEXT NOT NULL,
  device_id       TEXT NOT NULL,
  base_version    INTEGER NOT NULL,
  server_version  INTEGER NOT NULL,
  server_deleted  INTEGER NOT NULL,
  server_payload  TEXT,
  server_seq      INTEGER NOT NULL,
  server_updated_at INTEGER NOT NULL,
  client_mutation_id TEXT NOT NULL,
  client_deleted  INTEGER NOT NULL,
  client_payload  TEXT,
  resolved_at     INTEGER,
  resolution      TEXT,                     -- JSON: how it was resolved and what was written
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX sync_conflicts_user ON sync_conflicts (user_id, resolved_at, id);

CREATE TABLE sync_devices (
  user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  device_id        TEXT NOT NULL,
  client_version   TEXT NOT NULL DEFAULT '',
  last_push_at     INTEGER,
  last_pull_at     INTEGER,
  last_pulled_seq  INTEGER NOT NULL DEFAULT 0,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  PRIMARY KEY (user_id, device_id)
);
