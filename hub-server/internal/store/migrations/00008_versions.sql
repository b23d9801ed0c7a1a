-- Versions for compare-and-swap: a change from the console names the
-- version it was based on and is stored only if the row is still at it,
-- so two people editing the same user or report never undo each other's
-- change unseen. Existing rows start at 1; a report without a status row
-- is at 0. Portable SQL as in 00001.

-- +goose Up
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE report_status ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE report_status DROP COLUMN version;
ALTER TABLE users DROP COLUMN version;
