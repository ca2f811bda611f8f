DROP INDEX password_codes_expires_at;
DROP INDEX outbox_sent;
