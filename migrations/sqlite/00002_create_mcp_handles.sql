-- +goose Up
-- State handles of the sessionless protocol revision (SEP-2567): one piece
-- of state per handle, owned by one principal ('' is anonymous). Every
-- lookup is by the primary key and checks the principal in the same
-- statement; the principal index serves per-principal questions (how many
-- handles a user holds, removing a user's handles). created_at and
-- updated_at are Unix milliseconds, UTC.
CREATE TABLE mcp_handles (
    handle     TEXT    PRIMARY KEY NOT NULL,
    principal  TEXT    NOT NULL,
    state      TEXT    NOT NULL CHECK (json_type(state) = 'object'),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
-- Idle expiry and cleanup walk updated_at; the max lifetime walks created_at.
CREATE INDEX mcp_handles_updated_at_idx ON mcp_handles (updated_at);
CREATE INDEX mcp_handles_created_at_idx ON mcp_handles (created_at);
CREATE INDEX mcp_handles_principal_idx ON mcp_handles (principal);

-- +goose Down
DROP TABLE mcp_handles;
