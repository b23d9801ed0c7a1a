-- Participation workshops (hub-server/internal/workshops, the model in
-- internal/workshop): the workshops and each one's append-only event log.
-- Portable SQL as in 00001 (times BIGINT unix nanoseconds UTC).

-- +goose Up
-- spec is the workshop.Spec JSON. version counts changes of the row, for
-- compare-and-swap between staff. last_seq is the hub_seq of the log's
-- newest event: an append raises it in its transaction, which serialises
-- the appends of one workshop (SQLite's single writer; PostgreSQL's row
-- lock) and keeps hub_seq gapless.
CREATE TABLE workshops (
    id         TEXT   NOT NULL PRIMARY KEY,
    title      TEXT   NOT NULL,
    join_code  TEXT   NOT NULL UNIQUE,
    status     TEXT   NOT NULL,
    spec       TEXT   NOT NULL,
    version    BIGINT NOT NULL,
    created_by TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_seq   BIGINT NOT NULL
);
CREATE INDEX workshops_created ON workshops (created_at);

-- One row per event, in hub order within its workshop. id is the event's
-- ULID, unique across workshops: storing is idempotent by it. device and
-- seq are the author's ("hub" or "t:" + terminal ID; gapless per device
-- and workshop). body is the event's JSON with hub_seq set.
CREATE TABLE workshop_events (
    workshop    TEXT   NOT NULL REFERENCES workshops (id),
    hub_seq     BIGINT NOT NULL,
    id          TEXT   NOT NULL UNIQUE,
    device      TEXT   NOT NULL,
    seq         BIGINT NOT NULL,
    body        TEXT   NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (workshop, hub_seq)
) /*sqlite: WITHOUT ROWID*/;

-- +goose Down
DROP TABLE workshop_events;
DROP TABLE workshops;
