-- +goose Up
-- MCP tasks (package tasks): durable, so that any replica answers for a
-- task whichever replica runs it. A task belongs to one principal ('' is
-- anonymous), and every lookup checks it in the same statement. ids sort
-- by their bytes (BINARY), as mcp-go orders tasks/list.
--
-- ttl_ms and poll_interval_ms are the extension's ttl and pollInterval;
-- expires_at is created_at plus the ttl (NULL: never). The replica running
-- a task renews lease_until; a task whose lease lapsed while it was not
-- finished is failed by the sweep. Times are Unix milliseconds, UTC.
CREATE TABLE mcp_tasks (
    id               TEXT    PRIMARY KEY NOT NULL,
    principal        TEXT    NOT NULL,
    session_id       TEXT,
    tool             TEXT    NOT NULL,
    status           TEXT    NOT NULL
        CHECK (status IN ('working', 'input_required', 'completed', 'failed', 'cancelled')),
    status_message   TEXT    NOT NULL,
    result           BLOB,
    error            TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    ttl_ms           INTEGER,
    expires_at       INTEGER,
    poll_interval_ms INTEGER,
    replica          TEXT    NOT NULL,
    lease_until      INTEGER NOT NULL
) STRICT;
-- tasks/list: a principal's tasks in id order, from a cursor.
CREATE INDEX mcp_tasks_principal_id_idx ON mcp_tasks (principal, id);
-- The sweep: unfinished tasks whose lease lapsed, and expired tasks.
CREATE INDEX mcp_tasks_lease_until_idx ON mcp_tasks (lease_until)
    WHERE status IN ('working', 'input_required');
CREATE INDEX mcp_tasks_expires_at_idx ON mcp_tasks (expires_at);
-- Lease renewal: a replica's unfinished tasks.
CREATE INDEX mcp_tasks_replica_idx ON mcp_tasks (replica)
    WHERE status IN ('working', 'input_required');

-- +goose Down
DROP TABLE mcp_tasks;
