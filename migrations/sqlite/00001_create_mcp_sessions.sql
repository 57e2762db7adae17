-- +goose Up
-- created_at and updated_at are Unix milliseconds, UTC.
CREATE TABLE mcp_sessions (
    id         TEXT    PRIMARY KEY NOT NULL,
    metadata   TEXT    NOT NULL CHECK (json_type(metadata) = 'object'),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
-- Idle expiry and cleanup walk updated_at; the max lifetime walks created_at.
CREATE INDEX mcp_sessions_updated_at_idx ON mcp_sessions (updated_at);
CREATE INDEX mcp_sessions_created_at_idx ON mcp_sessions (created_at);

-- +goose Down
DROP TABLE mcp_sessions;
