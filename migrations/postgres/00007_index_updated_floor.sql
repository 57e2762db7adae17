-- +goose Up
-- Writes of a live record stay HOT updates (heap-only tuples: no new index
-- entries, no index WAL). A Postgres update is HOT only when no indexed
-- column changes and the new version fits on the same page; with
-- updated_at indexed, every Touch, Update and Modify changed an indexed
-- column, so each one wrote a new entry into every index of the table.
--
-- The idle sweep now walks updated_floor instead: a lower bound of
-- updated_at that the writes leave alone. Create sets it to updated_at;
-- the sweep raises it to updated_at on the live records it passes (those
-- still idle for less than the ttl). So updated_floor <= updated_at always,
-- and a record idle for longer than the ttl has updated_floor below the
-- cutoff too: Cleanup stays exact, never late, and reads check updated_at
-- exactly as before. What it costs: a record in use is rewritten by the
-- sweep (not HOT) about once per ttl, instead of on every write.
--
-- The default 'epoch' is below every updated_at, which keeps that bound
-- for rows an older version of the store inserts during a rolling
-- upgrade. The fill below writes a new version of every row (the table
-- holds both until VACUUM) under the ALTER's lock: on a large table, run
-- this when writes can wait. Measured on two shared cores: 23 s for 10^6
-- sessions and 10^5 handles; the Down took 0.6 s.
ALTER TABLE mcp_sessions ADD COLUMN updated_floor timestamptz NOT NULL DEFAULT 'epoch';
UPDATE mcp_sessions SET updated_floor = updated_at;
CREATE INDEX mcp_sessions_updated_floor_idx ON mcp_sessions (updated_floor);
DROP INDEX mcp_sessions_updated_at_idx;

ALTER TABLE mcp_handles ADD COLUMN updated_floor timestamptz NOT NULL DEFAULT 'epoch';
UPDATE mcp_handles SET updated_floor = updated_at;
CREATE INDEX mcp_handles_updated_floor_idx ON mcp_handles (updated_floor);
DROP INDEX mcp_handles_updated_at_idx;

-- A HOT update also needs room for the new row version on the same page.
-- Pages that inserts filled to the brim have none, so the first write of
-- each record on them went to another page, with index entries, until
-- pruning freed space: fillfactor keeps a tenth of each page free for
-- updates (about two versions of a session). It applies to pages written
-- from now on; VACUUM FULL would repack the existing ones.
ALTER TABLE mcp_sessions SET (fillfactor = 90);
ALTER TABLE mcp_handles SET (fillfactor = 90);

-- +goose Down
ALTER TABLE mcp_handles RESET (fillfactor);
ALTER TABLE mcp_sessions RESET (fillfactor);

CREATE INDEX mcp_handles_updated_at_idx ON mcp_handles (updated_at);
DROP INDEX mcp_handles_updated_floor_idx;
ALTER TABLE mcp_handles DROP COLUMN updated_floor;

CREATE INDEX mcp_sessions_updated_at_idx ON mcp_sessions (updated_at);
DROP INDEX mcp_sessions_updated_floor_idx;
ALTER TABLE mcp_sessions DROP COLUMN updated_floor;
