-- Retention (PostgreSQL). Keep in step with migrations/sqlite.
-- The retention job deletes, in batches: sent messages by sent_at, dead and
-- skipped messages by next_attempt_at (the end of their last attempt's lease), and codes by
-- expires_at. Partial indexes hold only the rows each delete reads; pending messages keep
-- outbox_due.
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE status = 'sent';
CREATE INDEX outbox_ended ON outbox (next_attempt_at) WHERE status IN ('dead', 'skipped');
CREATE INDEX password_codes_expires_at ON password_codes (expires_at);
