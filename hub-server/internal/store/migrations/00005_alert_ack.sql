-- Staff dealing with alerts: acknowledging an open alert (who, when, a
-- note) and muting a terminal, or one alert kind on it, for a while.
-- Muted alerts still open and resolve; only webhook notices are held
-- back (the notifier asks the database, so every hub process agrees).
-- Portable SQL as in 00001 (times BIGINT unix nanoseconds UTC).

-- +goose Up

-- An acknowledgement belongs to one alert row: when the condition clears
-- the alert resolves as before, and a new occurrence is a new, unacknowledged row.
ALTER TABLE alerts ADD COLUMN acked_at BIGINT;
ALTER TABLE alerts ADD COLUMN acked_by TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN ack_note TEXT NOT NULL DEFAULT '';

-- kind '' mutes every kind of the terminal. A mute covers [created_at,
-- ends_at): ends_at is until_at as chosen, or earlier when lifted. Rows
-- are kept after they end: the notifier asks whether a mute covered the
-- moment an alert resolved.
CREATE TABLE alert_mutes (
    id          TEXT   NOT NULL PRIMARY KEY,
    terminal_id TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    reason      TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    created_by  TEXT   NOT NULL,
    until_at    BIGINT NOT NULL,
    ends_at     BIGINT NOT NULL,
    lifted_at   BIGINT,
    lifted_by   TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX alert_mutes_terminal ON alert_mutes (terminal_id, ends_at);

-- +goose Down
DROP INDEX alert_mutes_terminal;
DROP TABLE alert_mutes;
ALTER TABLE alerts DROP COLUMN ack_note;
ALTER TABLE alerts DROP COLUMN acked_by;
ALTER TABLE alerts DROP COLUMN acked_at;
