DROP TABLE outbox;
DROP TABLE tokens;
DROP TABLE password_codes;
DROP TABLE events;
DROP TABLE users;
DROP TABLE organizations;
