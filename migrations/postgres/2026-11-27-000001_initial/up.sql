-- rekey's initial schema (PostgreSQL). Keep in step with migrations/sqlite.
-- Timestamps are UTC; ids are opaque text.

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL CONSTRAINT organizations_name_unique UNIQUE,
    sequence    BIGINT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    changed_at  TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id                       TEXT PRIMARY KEY NOT NULL,
    org_id                   TEXT NOT NULL REFERENCES organizations (id),
    kind                     TEXT NOT NULL CHECK (kind IN ('human', 'machine')),
    username                 TEXT NOT NULL,
    state                    TEXT NOT NULL CHECK (state IN ('initial', 'active', 'inactive', 'locked', 'deleted')),
    sequence                 BIGINT NOT NULL,
    given_name               TEXT,
    family_name              TEXT,
    display_name             TEXT,
    preferred_language       TEXT,
    email                    TEXT,
    email_verified           BOOLEAN NOT NULL DEFAULT FALSE,
    phone                    TEXT,
    phone_verified           BOOLEAN NOT NULL DEFAULT FALSE,
    machine_name             TEXT,
    password_hash            TEXT,
    password_change_required BOOLEAN NOT NULL DEFAULT FALSE,
    password_changed_at      TIMESTAMP,
    created_at               TIMESTAMP NOT NULL,
    changed_at               TIMESTAMP NOT NULL,
    CONSTRAINT users_username_unique UNIQUE (org_id, username)
);

-- Append-only; (aggregate_id, sequence) is the optimistic-concurrency guard.
CREATE TABLE events (
    aggregate_id    TEXT NOT NULL,
    sequence        BIGINT NOT NULL,
    aggregate_type  TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    resource_owner  TEXT NOT NULL,
    creator         TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (aggregate_id, sequence)
);
CREATE INDEX events_created_at ON events (created_at);

-- One current code per user: only its keyed hash.
CREATE TABLE password_codes (
    user_id            TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    code_hash          TEXT NOT NULL,
    key_id             TEXT NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    expires_at         TIMESTAMP NOT NULL,
    sequence           BIGINT NOT NULL,
    failed_attempts    INTEGER NOT NULL DEFAULT 0,
    notification_type  TEXT,
    url_template       TEXT,
    returned           BOOLEAN NOT NULL
);

-- Personal access tokens: only the SHA-256 of the token.
CREATE TABLE tokens (
    id          TEXT PRIMARY KEY NOT NULL,
    token_hash  TEXT NOT NULL CONSTRAINT tokens_hash_unique UNIQUE,
    user_id     TEXT NOT NULL REFERENCES users (id),
    org_id      TEXT NOT NULL,
    roles       TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP,
    revoked_at  TIMESTAMP
);

-- Transactional outbox: written with the event, delivered by the worker.
-- payload is the sealed (AES-256-GCM) message, scrubbed once sent.
CREATE TABLE outbox (
    id                TEXT PRIMARY KEY NOT NULL,
    kind              TEXT NOT NULL,
    user_id           TEXT NOT NULL REFERENCES users (id),
    channel           TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    recipient_masked  TEXT NOT NULL,
    key_id            TEXT NOT NULL,
    payload           BYTEA,
    code_sequence     BIGINT NOT NULL,
    idempotency_key   TEXT NOT NULL CONSTRAINT outbox_idempotency_unique UNIQUE,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'dead', 'skipped')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   TIMESTAMP NOT NULL,
    last_error        TEXT,
    created_at        TIMESTAMP NOT NULL,
    sent_at           TIMESTAMP
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
