-- +goose Up
-- MCP tasks (package tasks): durable, so that any replica answers for a
-- task whichever replica runs it. A task belongs to one principal ('' is
-- anonymous), and every lookup checks it in the same statement. ids sort
-- by their bytes (COLLATE "C"), as mcp-go orders tasks/list.
--
-- ttl_ms and poll_interval_ms are the extension's ttl and pollInterval;
-- expires_at is created_at plus the ttl (NULL: never). The replica running
-- a task renews lease_until; a task whose lease lapsed while it was not
-- finished is failed by the sweep.
CREATE TABLE mcp_tasks (
    id               text COLLATE "C" PRIMARY KEY,
    principal        text        NOT NULL,
    session_id       text,
    tool             text        NOT NULL,
    status           text        NOT NULL
        CHECK (status IN ('working', 'input_required', 'completed', 'failed', 'cancelled')),
    status_message   text        NOT NULL,
    result           bytea,
    error            text        NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    ttl_ms           bigint,
    expires_at       timestamptz,
    poll_interval_ms bigint,
    replica          text        NOT NULL,
    lease_until      timestamptz NOT NULL
);
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
