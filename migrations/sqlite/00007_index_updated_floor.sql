-- +goose Up
-- The idle sweep walks updated_floor instead of updated_at: a lower bound
-- of updated_at (Unix milliseconds, like it) that Create sets to
-- updated_at, the sweep raises to updated_at on the live records it
-- passes, and no other write changes. Postgres needs this so that the
-- writes of a live record are HOT updates (see the Postgres migration of
-- the same number); SQLite keeps the same schema and statements, so that
-- both dialects behave alike. Cleanup stays exact: updated_floor <=
-- updated_at always, so every record idle for longer than the ttl is
-- below the sweep's cutoff. The default 0 is below every updated_at, which
-- keeps that bound for rows an older version of the store inserts.
ALTER TABLE mcp_sessions ADD COLUMN updated_floor INTEGER NOT NULL DEFAULT 0;
UPDATE mcp_sessions SET updated_floor = updated_at;
CREATE INDEX mcp_sessions_updated_floor_idx ON mcp_sessions (updated_floor);
DROP INDEX mcp_sessions_updated_at_idx;

ALTER TABLE mcp_handles ADD COLUMN updated_floor INTEGER NOT NULL DEFAULT 0;
UPDATE mcp_handles SET updated_floor = updated_at;
CREATE INDEX mcp_handles_updated_floor_idx ON mcp_handles (updated_floor);
DROP INDEX mcp_handles_updated_at_idx;

-- +goose Down
CREATE INDEX mcp_handles_updated_at_idx ON mcp_handles (updated_at);
DROP INDEX mcp_handles_updated_floor_idx;
ALTER TABLE mcp_handles DROP COLUMN updated_floor;

CREATE INDEX mcp_sessions_updated_at_idx ON mcp_sessions (updated_at);
DROP INDEX mcp_sessions_updated_floor_idx;
ALTER TABLE mcp_sessions DROP COLUMN updated_floor;
