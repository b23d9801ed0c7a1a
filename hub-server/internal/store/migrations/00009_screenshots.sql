-- Screenshots terminals upload for a screenshot command: the PNG as it
-- came (checked by api.CheckScreenshot before it is stored), its size in
-- pixels for the console and its length in bytes for the total budget.
-- The one binary column of the schema: BLOB in SQLite, BYTEA in
-- PostgreSQL (dialect markers, see store.MigrationsFS); the rest is
-- portable SQL as in 00001.

-- +goose Up
CREATE TABLE screenshots (
    id          TEXT   NOT NULL PRIMARY KEY,
    terminal_id TEXT   NOT NULL,
    command_id  TEXT   NOT NULL,
    received_at BIGINT NOT NULL,
    width       BIGINT NOT NULL,
    height      BIGINT NOT NULL,
    size        BIGINT NOT NULL,
    png         /*sqlite: BLOB*//*postgres: BYTEA*/ NOT NULL
);
CREATE INDEX screenshots_terminal ON screenshots (terminal_id, received_at);
CREATE UNIQUE INDEX screenshots_command ON screenshots (terminal_id, command_id);

-- +goose Down
DROP TABLE screenshots;
