-- +goose Up
-- Sealed requestState (package requeststate). The key ring: one random
-- AES-256 key per rotation epoch, inserted by whichever replica needs it
-- first, so every replica seals and opens with the same keys and no
-- configuration. retire_at is when the last state the key can have sealed
-- expires; the sweep deletes the key after it.
CREATE TABLE mcp_requeststate_keys (
    epoch     bigint      PRIMARY KEY,
    key       bytea       NOT NULL,
    retire_at timestamptz NOT NULL
);

-- The ids of the states opened for single use, each kept until the state
-- expires: a second open of one state, on any replica, finds its id here.
CREATE TABLE mcp_requeststate_used (
    id         bytea       PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
-- The sweep walks this.
CREATE INDEX mcp_requeststate_used_expires_at_idx ON mcp_requeststate_used (expires_at);

-- +goose Down
DROP TABLE mcp_requeststate_used;
DROP TABLE mcp_requeststate_keys;
