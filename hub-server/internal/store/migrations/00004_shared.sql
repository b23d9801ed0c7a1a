-- Several hub processes on one database (PostgreSQL): what the alert
-- evaluator must share between them, and a cheap query for the webhook
-- notifier, which polls when another process opened the alert. Portable
-- SQL as in 00001.

-- +goose Up

-- Each terminal's outbox trend for the backlog_growing alert: since when
-- it has grown from base. Written by the evaluator when several processes
-- share the store (a single process keeps it in memory).
CREATE TABLE backlog_trends (
    terminal_id TEXT   NOT NULL PRIMARY KEY,
    since       BIGINT NOT NULL,
    base        BIGINT NOT NULL
);

-- Alerts whose opening or resolution is not sent yet (UnnotifiedAlerts).
CREATE INDEX alerts_unnotified ON alerts (first_seen)
    WHERE notified_open_at IS NULL OR (state = 'resolved' AND notified_resolved_at IS NULL);

-- +goose Down
DROP INDEX alerts_unnotified;
DROP TABLE backlog_trends;
