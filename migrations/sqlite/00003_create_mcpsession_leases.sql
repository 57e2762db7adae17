-- +goose Up
-- A lease lets one process at a time do a store-wide chore (the cleanup
-- sweep). expires_at is Unix milliseconds, UTC.
CREATE TABLE mcpsession_leases (
    name       TEXT    PRIMARY KEY NOT NULL,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE mcpsession_leases;
