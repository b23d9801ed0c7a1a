-- Fleet management: health, configuration layers, commands, diagnostics,
-- alerts, audit. Portable SQL as in 00001 (times BIGINT unix nanoseconds).

-- +goose Up

-- Tags are a sorted, comma-separated list with a comma at each end
-- (",lib,pilot,"), so a tag matches with LIKE '%,tag,%' in any dialect.
ALTER TABLE terminals ADD COLUMN tags TEXT NOT NULL DEFAULT '';

-- The current health of each terminal: one row, overwritten by every
-- heartbeat (one UPSERT). history_at/history_reason say when the last
-- history row was written and why; the UPSERT itself decides whether a new
-- one is due (state digest changed, or a sample interval passed).
CREATE TABLE terminal_health (
    terminal_id      TEXT   NOT NULL PRIMARY KEY,
    received_at      BIGINT NOT NULL,
    digest           TEXT   NOT NULL,
    history_at       BIGINT NOT NULL,
    history_reason   TEXT   NOT NULL,
    software_version TEXT   NOT NULL,
    state            TEXT   NOT NULL
);

-- Health history: state changes and periodic samples, pruned by age.
CREATE TABLE health_history (
    terminal_id TEXT   NOT NULL,
    at          BIGINT NOT NULL,
    reason      TEXT   NOT NULL,
    state       TEXT   NOT NULL,
    PRIMARY KEY (terminal_id, at)
) /*sqlite: WITHOUT ROWID*/;
CREATE INDEX health_history_at ON health_history (at);

-- Configuration layers: every version of every scope is kept; the
-- current layer of a scope is its highest version. seq orders all
-- versions hub-wide, so "has anything changed" is one MAX(seq).
CREATE TABLE config_layers (
    scope      TEXT   NOT NULL,
    version    BIGINT NOT NULL,
    seq        BIGINT NOT NULL UNIQUE,
    document   TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT   NOT NULL,
    PRIMARY KEY (scope, version)
);

-- Commands, one row per terminal (a command aimed at a quarter or tag is
-- fanned out when it is sent; group_id ties the rows together).
CREATE TABLE commands (
    id           TEXT   NOT NULL PRIMARY KEY,
    group_id     TEXT   NOT NULL,
    terminal_id  TEXT   NOT NULL,
    kind         TEXT   NOT NULL,
    message      TEXT   NOT NULL,
    target       TEXT   NOT NULL,
    state        TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    created_by   TEXT   NOT NULL,
    expires_at   BIGINT NOT NULL,
    delivered_at BIGINT,
    finished_at  BIGINT,
    result       TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX commands_terminal_state ON commands (terminal_id, state);
CREATE INDEX commands_created ON commands (created_at);

CREATE TABLE diagnostics (
    id          TEXT   NOT NULL PRIMARY KEY,
    terminal_id TEXT   NOT NULL,
    command_id  TEXT   NOT NULL,
    received_at BIGINT NOT NULL,
    bundle      TEXT   NOT NULL
);
CREATE INDEX diagnostics_terminal ON diagnostics (terminal_id, received_at);

-- Alerts: at most one open alert per terminal and kind (partial unique
-- index, supported by SQLite and PostgreSQL alike). notified_open_at and
-- notified_resolved_at make webhook delivery survive a restart.
CREATE TABLE alerts (
    id                   TEXT   NOT NULL PRIMARY KEY,
    terminal_id          TEXT   NOT NULL,
    kind                 TEXT   NOT NULL,
    state                TEXT   NOT NULL,
    detail               TEXT   NOT NULL,
    first_seen           BIGINT NOT NULL,
    last_seen            BIGINT NOT NULL,
    resolved_at          BIGINT,
    notified_open_at     BIGINT,
    notified_resolved_at BIGINT
);
CREATE UNIQUE INDEX alerts_one_open ON alerts (terminal_id, kind) WHERE state = 'open';
CREATE INDEX alerts_state ON alerts (state, last_seen);

-- Who did what, when: configuration changes, commands, tags.
CREATE TABLE audit_log (
    seq     BIGINT NOT NULL PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT   NOT NULL,
    action  TEXT   NOT NULL,
    subject TEXT   NOT NULL,
    detail  TEXT   NOT NULL
);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE alerts;
DROP TABLE diagnostics;
DROP TABLE commands;
DROP TABLE config_layers;
DROP TABLE health_history;
DROP TABLE terminal_health;
ALTER TABLE terminals DROP COLUMN tags;
