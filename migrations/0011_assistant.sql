-- The AI assistant (DESIGN.md §8, issue 11): conversations per user, token accounting per user and
-- model, and the per-user request limit. Everything is here, not in one process's memory, so every
-- instance shares it. Prompts (schema, sample rows) are never stored: only what the user wrote and
-- what the assistant answered.
CREATE TABLE assistant_conversations (
  id            TEXT NOT NULL PRIMARY KEY,       -- UUIDv7
  user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  connection_id TEXT NOT NULL,                   -- the profile it is about (kept when the profile goes)
  title         TEXT NOT NULL,
  message_count INTEGER NOT NULL,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);
-- ListConversations pages by (updated_at DESC, id DESC) per user; Get/Delete look up (id, user_id).
CREATE INDEX assistant_conversations_user ON assistant_conversations (user_id, updated_at, id);

CREATE TABLE assistant_messages (
  id              TEXT NOT NULL PRIMARY KEY,     -- UUIDv7: sorts by time
  conversation_id TEXT NOT NULL REFERENCES assistant_conversations(id) ON DELETE CASCADE,
  role            TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
  text            TEXT NOT NULL,
  sql_json        TEXT NOT NULL,                 -- JSON array of the validated SQL blocks
  model           TEXT NOT NULL,
  input_tokens    INTEGER NOT NULL,
  output_tokens   INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX assistant_messages_conversation ON assistant_messages (conversation_id, id);

-- Tokens per user, UTC day, provider and model: the daily limit sums a user's day.
CREATE TABLE assistant_usage (
  user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  day           INTEGER NOT NULL,                -- days since 1970-01-01 (UTC)
  provider      TEXT NOT NULL,
  model         TEXT NOT NULL,
  requests      INTEGER NOT NULL,
  input_tokens  INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  PRIMARY KEY (user_id, day, provider, model)
);
CREATE INDEX assistant_usage_day ON assistant_usage (day);

-- Requests per user in fixed one-minute windows.
CREATE TABLE assistant_rate (
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  window_start INTEGER NOT NULL,                 -- ms since epoch, a multiple of 60,000
  count        INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (user_id, window_start)
);
CREATE INDEX assistant_rate_window ON assistant_rate (window_start);
