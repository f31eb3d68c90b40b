-- Account safety (issues 17.8, 17.9).
--
-- An email change waits in users.pending_email until its verification link is used: until then
-- users.email stays the address for login and password reset. The address it moves away from
-- gets a 'secure_account' token (in a notice): it resets the password, ends every session and
-- makes that address the account's again.
ALTER TABLE users ADD COLUMN pending_email TEXT;

-- email_tokens gains the purpose 'secure_account' (SQLite cannot change a CHECK: rebuilt).
CREATE TABLE email_tokens_0007 (
  token_hash  TEXT PRIMARY KEY,               -- SHA-256 of the emailed token
  user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  purpose     TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'secure_account')),
  email       TEXT NOT NULL,                  -- the address the token was sent to
  expires_at  INTEGER NOT NULL,
  used_at     INTEGER,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
INSERT INTO email_tokens_0007 (token_hash, user_id, purpose, email, expires_at, used_at, created_at, updated_at)
  SELECT token_hash, user_id, purpose, email, expires_at, used_at, created_at, updated_at FROM email_tokens;
DROP TABLE email_tokens;
ALTER TABLE email_tokens_0007 RENAME TO email_tokens;
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);
CREATE INDEX email_tokens_expiry ON email_tokens (expires_at);
