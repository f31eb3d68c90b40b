-- Client-chosen connection ids are scoped per user (issue 17.11): the key becomes (user_id, id),
-- so another user's id is never "taken". SQLite cannot change a primary key in place: the table
-- is rebuilt with every row kept; nothing references it.
CREATE TABLE engine_connections_new (
  id              TEXT NOT NULL,
  user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name            TEXT NOT NULL,
  engine          TEXT NOT NULL CHECK (engine IN ('postgresql', 'mysql', 'sqlite')),
  host            TEXT NOT NULL,
  port            INTEGER NOT NULL,
  database_name   TEXT NOT NULL,
  username        TEXT NOT NULL,
  password_sealed TEXT,                      -- base64url(iv | ciphertext | tag), NULL without one
  ssl_mode        TEXT NOT NULL,
  options         TEXT NOT NULL,             -- JSON object of strings
  read_only       INTEGER NOT NULL CHECK (read_only IN (0, 1)),
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  PRIMARY KEY (user_id, id)
);
INSERT INTO engine_connections_new (id, user_id, name, engine, host, port, database_name, username, password_sealed, ssl_mode, options, read_only, created_at, updated_at)
  SELECT id, user_id, name, engine, host, port, database_name, username, password_sealed, ssl_mode, options, read_only, created_at, updated_at FROM engine_connections;
DROP TABLE engine_connections;
ALTER TABLE engine_connections_new RENAME TO engine_connections;
-- ListConnections pages by (name, id) per user; every other lookup is by (user_id, id), the key.
CREATE INDEX engine_connections_user_name ON engine_connections (user_id, name, id);
