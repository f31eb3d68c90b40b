-- Database engine connection profiles (DESIGN.md §7). The password is sealed with AES-256-GCM
-- (ENGINE_SECRET_KEY; the profile's id and owner are the associated data), never stored in clear.
CREATE TABLE engine_connections (
  id              TEXT NOT NULL PRIMARY KEY,
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
  updated_at      INTEGER NOT NULL
);
-- ListConnections pages by (name, id) per user; every other lookup is by (id, user_id).
CREATE INDEX engine_connections_user_name ON engine_connections (user_id, name, id);
