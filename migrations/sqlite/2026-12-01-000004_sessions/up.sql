-- Sessions and lockout (SQLite). Keep in step with migrations/postgres.
-- A session row holds only its token's SHA-256; an ended session's row is deleted (its events
-- stay). user_agent is JSON; metadata is JSON of hex-encoded values.
ALTER TABLE users ADD COLUMN failed_password_attempts INTEGER NOT NULL DEFAULT 0;

CREATE TABLE sessions (
    id                   TEXT PRIMARY KEY NOT NULL,
    sequence             BIGINT NOT NULL,
    creator              TEXT NOT NULL,
    user_id              TEXT REFERENCES users (id),
    user_org_id          TEXT,
    user_checked_at      TIMESTAMP,
    password_checked_at  TIMESTAMP,
    expires_at           TIMESTAMP,
    user_agent           TEXT NOT NULL,
    metadata             TEXT NOT NULL,
    token_hash           TEXT NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    changed_at           TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_creator ON sessions (creator, created_at);
-- Login names are compared without case.
CREATE INDEX users_username_lower ON users (lower(username));
