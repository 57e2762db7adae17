-- +goose Up
-- A lease lets one replica at a time do a store-wide chore (the cleanup
-- sweep): a row, not a lock held by a connection or a transaction, so it
-- means the same behind PgBouncer in any pool mode and across a failover.
CREATE TABLE mcpsession_leases (
    name       text        PRIMARY KEY,
    holder     text        NOT NULL,
    expires_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE mcpsession_leases;
