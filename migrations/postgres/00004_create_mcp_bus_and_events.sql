-- +goose Up
-- The bus between replicas (package bus): messages kept a short while,
-- read by every replica in id order. NOTIFY only wakes the readers.
CREATE TABLE mcp_bus (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic      text        NOT NULL,
    payload    bytea       NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX mcp_bus_created_at_idx ON mcp_bus (created_at);

-- The events of sessions' SSE streams (package eventstore), so that a
-- stream broken on one replica resumes on any other. Each stream numbers
-- its events from 0; seq orders all of them. A session's streams, events
-- and event count go when its row goes.
CREATE TABLE mcp_event_sessions (
    session_id text   PRIMARY KEY REFERENCES mcp_sessions (id) ON DELETE CASCADE,
    events     bigint NOT NULL
);
CREATE TABLE mcp_streams (
    session_id text   NOT NULL REFERENCES mcp_sessions (id) ON DELETE CASCADE,
    stream_id  text   NOT NULL,
    next_pos   bigint NOT NULL,
    PRIMARY KEY (session_id, stream_id)
);
CREATE TABLE mcp_events (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id text   NOT NULL,
    stream_id  text   NOT NULL,
    pos        bigint NOT NULL,
    data       bytea,
    UNIQUE (session_id, stream_id, pos),
    FOREIGN KEY (session_id, stream_id) REFERENCES mcp_streams (session_id, stream_id) ON DELETE CASCADE
);
-- Trimming a session's oldest events walks this.
CREATE INDEX mcp_events_session_seq_idx ON mcp_events (session_id, seq);

-- +goose Down
DROP TABLE mcp_events;
DROP TABLE mcp_streams;
DROP TABLE mcp_event_sessions;
DROP TABLE mcp_bus;
