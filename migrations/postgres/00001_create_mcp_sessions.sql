-- +goose Up
CREATE TABLE mcp_sessions (
    id         text        PRIMARY KEY,
    metadata   jsonb       NOT NULL CHECK (jsonb_typeof(metadata) = 'object'),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
-- Idle expiry and cleanup walk updated_at; the max lifetime walks created_at.
CREATE INDEX mcp_sessions_updated_at_idx ON mcp_sessions (updated_at);
CREATE INDEX mcp_sessions_created_at_idx ON mcp_sessions (created_at);

-- +goose Down
DROP TABLE mcp_sessions;
