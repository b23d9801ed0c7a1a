-- The hub's TUF repository (hub-server/internal/tufrepo): every signed
-- metadata version as served (consistent snapshots need the old ones), and
-- the release artifacts, content-addressed by their SHA-256. In the store
-- so that all hub processes on one PostgreSQL database serve the same
-- repository. Binary columns as in 00009.

-- +goose Up
CREATE TABLE tuf_metadata (
    role     TEXT   NOT NULL,
    version  BIGINT NOT NULL,
    body     /*sqlite: BLOB*//*postgres: BYTEA*/ NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (role, version)
);
CREATE TABLE tuf_targets (
    name     TEXT   NOT NULL PRIMARY KEY,
    sha256   TEXT   NOT NULL,
    length   BIGINT NOT NULL,
    body     /*sqlite: BLOB*//*postgres: BYTEA*/ NOT NULL,
    added_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE tuf_targets;
DROP TABLE tuf_metadata;
