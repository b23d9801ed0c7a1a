-- The console language each staff user chose; '' follows the browser
-- (Accept-Language). Portable SQL as in 00001.

-- +goose Up
ALTER TABLE users ADD COLUMN lang TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE users DROP COLUMN lang;
