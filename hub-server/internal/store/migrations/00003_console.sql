-- Web console: staff users, server-side sessions, the login throttle,
-- the status workflow of problem reports, rotation tokens. Portable SQL
-- as in 00001 (times BIGINT unix nanoseconds UTC; NULL means "not yet").

-- +goose Up

-- password_hash is a PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$key).
CREATE TABLE users (
    id            TEXT   NOT NULL PRIMARY KEY,
    name          TEXT   NOT NULL UNIQUE,
    role          TEXT   NOT NULL,
    password_hash TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    disabled_at   BIGINT,
    last_login_at BIGINT
);

-- id_hash is hex(sha256(cookie value)); the cookie value is never stored.
CREATE TABLE console_sessions (
    id_hash      TEXT   NOT NULL PRIMARY KEY,
    user_id      TEXT   NOT NULL,
    csrf         TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);

-- Failed logins per key (a hash of client address and user name): one
-- UPSERT per failure, so hub processes sharing a database count together.
CREATE TABLE login_failures (
    key      TEXT   NOT NULL PRIMARY KEY,
    failures BIGINT NOT NULL,
    first_at BIGINT NOT NULL,
    last_at  BIGINT NOT NULL
);

-- The workflow of a problem report; no row means "new".
CREATE TABLE report_status (
    terminal_id  TEXT   NOT NULL,
    record_id    TEXT   NOT NULL,
    status       TEXT   NOT NULL,
    public_note  TEXT   NOT NULL,
    publish_text BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    updated_by   TEXT   NOT NULL,
    PRIMARY KEY (terminal_id, record_id)
);

-- Residents' submissions are listed by type and found by reference (the
-- last 8 characters of the record ID). Partial indexes keep the cost off
-- the sensor and event records, which are most of the table.
CREATE INDEX records_resident ON records (type, received_at) WHERE class = 'resident';
CREATE INDEX records_report_ref ON records (SUBSTR(record_id, 19, 8)) WHERE type = 'problem_report';

-- A rotation token gives an enrolled terminal a new key (same ID).
ALTER TABLE enrol_tokens ADD COLUMN rotate_terminal_id TEXT;

CREATE INDEX audit_log_subject ON audit_log (subject, seq);

-- +goose Down
DROP INDEX audit_log_subject;
ALTER TABLE enrol_tokens DROP COLUMN rotate_terminal_id;
DROP INDEX records_report_ref;
DROP INDEX records_resident;
DROP TABLE report_status;
DROP TABLE login_failures;
DROP TABLE console_sessions;
DROP TABLE users;
