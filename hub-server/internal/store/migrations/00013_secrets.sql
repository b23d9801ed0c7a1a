-- The hub's own secrets, made once per deployment and shared by every hub
-- process (hub-server/internal/store/secrets.go): the deployment's card
-- key. A row is created with INSERT … ON CONFLICT DO NOTHING and read
-- back, so processes starting at once agree on the first. value is hex.
-- Never shown in the console. Portable SQL as in 00001.

-- +goose Up
CREATE TABLE secrets (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);

-- +goose Down
DROP TABLE secrets;
