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

-- Deliveries of events to the configured targets ([[events.targets]]), queued in the
-- transaction that records the event; the worker posts them and retries with backoff.
CREATE TABLE event_deliveries (
    id               TEXT PRIMARY KEY NOT NULL,
    target           TEXT NOT NULL,
    aggregate_id     TEXT NOT NULL,
    sequence         BIGINT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMP NOT NULL,
    last_error       TEXT,
    created_at       TIMESTAMP NOT NULL,
    sent_at          TIMESTAMP
);
CREATE INDEX event_deliveries_due ON event_deliveries (next_attempt_at) WHERE status = 'pending';
-- The retention job deletes ended deliveries by created_at.
CREATE INDEX event_deliveries_ended ON event_deliveries (created_at) WHERE status IN ('sent', 'dead');

-- When a token last authenticated a request (updated at most once a minute per token).
ALTER TABLE tokens ADD COLUMN last_used_at TIMESTAMP;
