-- Retention (SQLite). Keep in step with migrations/postgres.
-- The retention job deletes, in batches: sent messages by sent_at, dead and skipped messages by
-- next_attempt_at (the end of their last attempt's lease), and codes by expires_at. Unlike
-- PostgreSQL's outbox_sent, this one leads with status: without statistics SQLite's planner
-- prefers outbox_due (status = ?) to a partial index on sent_at alone. Dead and skipped
-- messages are found through outbox_due, which here is (status, next_attempt_at) over every
-- row, so SQLite needs no outbox_ended.
CREATE INDEX outbox_sent ON outbox (status, sent_at) WHERE status = 'sent';
CREATE INDEX password_codes_expires_at ON password_codes (expires_at);
