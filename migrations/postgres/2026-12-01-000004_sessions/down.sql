ALTER TABLE tokens DROP COLUMN last_used_at;
DROP INDEX event_deliveries_ended;
DROP TABLE event_deliveries;
DROP INDEX users_username_lower;
DROP TABLE sessions;
ALTER TABLE users DROP COLUMN failed_password_attempts;
