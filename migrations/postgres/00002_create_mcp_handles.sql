-- +goose Up
-- State handles of the sessionless protocol revision (SEP-2567): one piece
-- of state per handle, owned by one principal ('' is anonymous). Every
-- lookup is by the primary key and checks the principal in the same
-- statement; the principal index serves per-principal questions (how many
-- handles a user holds, removing a user's handles).
CREATE TABLE mcp_handles (
    handle     text        PRIMARY KEY,
    principal  text        NOT NULL,
    state      jsonb       NOT NULL CHECK (jsonb_typeof(state) = 'object'),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
-- Idle expiry and cleanup walk updated_at; the max lifetime walks created_at.
CREATE INDEX mcp_handles_updated_at_idx ON mcp_handles (updated_at);
CREATE INDEX mcp_handles_created_at_idx ON mcp_handles (created_at);
CREATE INDEX mcp_handles_principal_idx ON mcp_handles (principal);

-- +goose Down
DROP TABLE mcp_handles;
