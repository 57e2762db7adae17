-- +goose Up
-- The bus between replicas (package bus): messages kept a short while,
-- read by every replica in id order (AUTOINCREMENT: ids never come back).
-- created_at is Unix milliseconds, UTC.
CREATE TABLE mcp_bus (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    topic      TEXT    NOT NULL,
    payload    BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX mcp_bus_created_at_idx ON mcp_bus (created_at);

-- The events of sessions' SSE streams (package eventstore), so that a
-- stream broken on one replica resumes on any other. Each stream numbers
-- its events from 0; seq orders all of them.
CREATE TABLE mcp_event_sessions (
    session_id TEXT    PRIMARY KEY NOT NULL,
    events     INTEGER NOT NULL
) STRICT;
CREATE TABLE mcp_streams (
    session_id TEXT    NOT NULL,
    stream_id  TEXT    NOT NULL,
    next_pos   INTEGER NOT NULL,
    PRIMARY KEY (session_id, stream_id)
) STRICT;
CREATE TABLE mcp_events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT    NOT NULL,
    stream_id  TEXT    NOT NULL,
    pos        INTEGER NOT NULL,
    data       BLOB,
    UNIQUE (session_id, stream_id, pos)
) STRICT;
-- Trimming a session's oldest events walks this.
CREATE INDEX mcp_events_session_seq_idx ON mcp_events (session_id, seq);

-- A session's streams, events and event count go when its row goes. A
-- trigger, not foreign keys: those need PRAGMA foreign_keys on every
-- connection, which a pool the application opened may not set.
-- +goose StatementBegin
CREATE TRIGGER mcp_sessions_delete_events AFTER DELETE ON mcp_sessions
BEGIN
    DELETE FROM mcp_events WHERE session_id = OLD.id;
    DELETE FROM mcp_streams WHERE session_id = OLD.id;
    DELETE FROM mcp_event_sessions WHERE session_id = OLD.id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER mcp_sessions_delete_events;
DROP TABLE mcp_events;
DROP TABLE mcp_streams;
DROP TABLE mcp_event_sessions;
DROP TABLE mcp_bus;
