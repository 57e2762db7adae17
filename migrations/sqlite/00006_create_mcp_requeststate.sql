-- +goose Up
-- Sealed requestState (package requeststate). The key ring: one random
-- AES-256 key per rotation epoch, inserted by whichever replica needs it
-- first, so every replica seals and opens with the same keys and no
-- configuration. retire_at is when the last state the key can have sealed
-- expires, in Unix milliseconds, UTC; the sweep deletes the key after it.
CREATE TABLE mcp_requeststate_keys (
    epoch     INTEGER PRIMARY KEY NOT NULL,
    key       BLOB    NOT NULL,
    retire_at INTEGER NOT NULL
) STRICT;

-- The ids of the states opened for single use, each kept until the state
-- expires (Unix milliseconds, UTC): a second open of one state, on any
-- replica, finds its id here. WITHOUT ROWID: the id is the key, so the
-- table is its own primary key index.
CREATE TABLE mcp_requeststate_used (
    id         BLOB    PRIMARY KEY NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
-- The sweep walks this.
CREATE INDEX mcp_requeststate_used_expires_at_idx ON mcp_requeststate_used (expires_at);

-- +goose Down
DROP TABLE mcp_requeststate_used;
DROP TABLE mcp_requeststate_keys;
