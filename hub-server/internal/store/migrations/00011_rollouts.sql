-- Staged rollouts of terminal releases (hub-server/internal/rollout):
-- the releases a rollout may name, the rollouts with their stages and
-- thresholds, each terminal's place and state in a rollout, and the
-- maintenance windows per quarter. Independent of the TUF tables (00010):
-- a rollout names a version and its target name as strings.
-- Portable SQL as in 00001 (times BIGINT unix nanoseconds UTC).

-- +goose Up
CREATE TABLE rollout_releases (
    version    TEXT   NOT NULL PRIMARY KEY,
    target     TEXT   NOT NULL,
    added_at   BIGINT NOT NULL,
    added_by   TEXT   NOT NULL
);

-- stages is JSON: [{"name":"canary","percent":0,"soak_seconds":3600}, …];
-- stage is the index of the open stage. Members count against the failure
-- thresholds only if they began failing at or after failures_since (a
-- resumed halt accepts the failures before it). version_seq counts changes
-- of the row, for compare-and-swap between the engine and staff.
CREATE TABLE rollouts (
    id               TEXT   NOT NULL PRIMARY KEY,
    version          TEXT   NOT NULL,
    target           TEXT   NOT NULL,
    state            TEXT   NOT NULL,
    stages           TEXT   NOT NULL,
    stage            BIGINT NOT NULL,
    stage_started_at BIGINT NOT NULL,
    success_percent  BIGINT NOT NULL,
    fail_count       BIGINT NOT NULL,
    fail_percent     BIGINT NOT NULL,
    failures_since   BIGINT NOT NULL,
    reason           TEXT   NOT NULL,
    alert_terminal   TEXT   NOT NULL,
    created_at       BIGINT NOT NULL,
    created_by       TEXT   NOT NULL,
    updated_at       BIGINT NOT NULL,
    version_seq      BIGINT NOT NULL
);
CREATE INDEX rollouts_created ON rollouts (created_at);

-- One row per terminal and rollout: the stage it belongs to (chosen when
-- the rollout starts), its state and since when, when its stage opened
-- for it, and what its updater last said.
CREATE TABLE rollout_terminals (
    rollout_id  TEXT   NOT NULL,
    terminal_id TEXT   NOT NULL,
    stage       BIGINT NOT NULL,
    state       TEXT   NOT NULL,
    since       BIGINT NOT NULL,
    offered_at  BIGINT NOT NULL,
    detail      TEXT   NOT NULL,
    PRIMARY KEY (rollout_id, terminal_id)
);
CREATE INDEX rollout_terminals_terminal ON rollout_terminals (terminal_id);

CREATE TABLE maintenance_windows (
    quarter          TEXT   NOT NULL PRIMARY KEY,
    days             TEXT   NOT NULL,
    start            TEXT   NOT NULL,
    duration_minutes BIGINT NOT NULL,
    time_zone        TEXT   NOT NULL,
    updated_at       BIGINT NOT NULL,
    updated_by       TEXT   NOT NULL
);

-- +goose Down
DROP TABLE maintenance_windows;
DROP TABLE rollout_terminals;
DROP TABLE rollouts;
DROP TABLE rollout_releases;
