-- Accounts and sessions (DESIGN.md §5). Times are ms since epoch, server clock.

CREATE TABLE users (
  id             TEXT PRIMARY KEY,
  email          TEXT NOT NULL,            -- lower-cased
  username       TEXT NOT NULL,            -- as typed
  username_key   TEXT NOT NULL,            -- lower-cased, for uniqueness
  display_name   TEXT NOT NULL DEFAULT '',
  password_hash  TEXT NOT NULL,
  role           TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
  email_verified INTEGER NOT NULL DEFAULT 0,
  password_changed_at INTEGER NOT NULL,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email);
CREATE UNIQUE INDEX users_username_key ON users (username_key);

CREATE TABLE sessions (
  id                  TEXT PRIMARY KEY,
  user_id             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  device_name         TEXT NOT NULL DEFAULT '',
  user_agent          TEXT NOT NULL DEFAULT '',
  ip_address          TEXT NOT NULL DEFAULT '',
  refresh_hash        TEXT NOT NULL,          -- SHA-256 of the current refresh token
  previous_hash       TEXT,                   -- SHA-256 of the token it replaced
  rotated_at          INTEGER,                -- when previous_hash was replaced (grace window)
  grace_sealed        TEXT,                   -- the current refresh token, AES-GCM sealed, only during the grace window
  expires_at          INTEGER NOT NULL,
  revoked_at          INTEGER,
  revoked_reason      TEXT,
  last_seen_at        INTEGER NOT NULL,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL
);
CREATE UNIQUE INDEX sessions_refresh_hash ON sessions (refresh_hash);
CREATE INDEX sessions_previous_hash ON sessions (previous_hash) WHERE previous_hash IS NOT NULL;
CREATE INDEX sessions_user ON sessions (user_id, last_seen_at);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE email_tokens (
  token_hash  TEXT PRIMARY KEY,               -- SHA-256 of the emailed token
  user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  purpose     TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
  email       TEXT NOT NULL,                  -- the address the token was sent to
  expires_at  INTEGER NOT NULL,
  used_at     INTEGER,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);
CREATE INDEX email_tokens_expiry ON email_tokens (expires_at);

-- Failed logins, one row per attempt, counted per identifier and per IP within a window.
CREATE TABLE login_failures (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  identifier  TEXT NOT NULL,                  -- lower-cased username or email as typed
  ip_address  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX login_failures_identifier ON login_failures (identifier, created_at);
CREATE INDEX login_failures_ip ON login_failures (ip_address, created_at);

-- Temporary locks of an identifier after repeated failures; `level` grows the delay.
CREATE TABLE login_lockouts (
  identifier   TEXT PRIMARY KEY,
  level        INTEGER NOT NULL,
  locked_until INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);

-- Fixed-window counters for rate limits shared by every instance.
CREATE TABLE rate_limits (
  bucket      TEXT NOT NULL,                  -- e.g. "register:ip:1.2.3.4"
  window_start INTEGER NOT NULL,
  count       INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (bucket, window_start)
);
CREATE INDEX rate_limits_window ON rate_limits (window_start);

CREATE TABLE security_events (
  id          TEXT PRIMARY KEY,               -- UUIDv7: sorts by time
  user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  type        TEXT NOT NULL,
  session_id  TEXT,
  ip_address  TEXT NOT NULL DEFAULT '',
  user_agent  TEXT NOT NULL DEFAULT '',
  details     TEXT NOT NULL DEFAULT '{}',     -- JSON object of strings
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX security_events_user ON security_events (user_id, id);
