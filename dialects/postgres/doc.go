// Package postgres is the PostgreSQL dialect of the session store, through
// github.com/jackc/pgx/v5: begin with
//
//	store, err := sqlstore.Open(ctx, postgres.Dialect(), "postgres://app@db:5432/app?sslmode=verify-full",
//		sqlstore.WithAutoMigrate())
//
// [Dialect] is all there is to it; the package owns the Postgres SQL of
// every statement the store, the bus and the event store run, and its
// goose migrations (those of migrations/postgres, embedded). A program
// that imports it and not dialects/sqlite links no SQLite.
//
// # DSNs
//
// What pgx parses: postgres:// and postgresql:// URLs, and key=value
// strings ("host=db user=app dbname=app"). Any other form is refused with
// dialects.ErrUnsupportedDSN before anything is dialled, so that a DSN
// meant for another database is not read as pgx's defaults. Query
// parameters are pgx's: several hosts with target_session_attrs=read-write
// for failover, connect_timeout, and default_query_exec_mode=exec (or
// simple_protocol) for PgBouncer in transaction mode, where the store then
// prepares nothing on the server and a bus polls instead of LISTENing.
//
// # What the database does
//
// Metadata is jsonb and Update is jsonb ||; timestamps are timestamptz
// from the database's clock, so replicas whose clocks disagree still agree
// on expiry. The pool is sized like pgxpool's default (the larger of 4 and
// the number of CPUs). Open refuses a database whose encoding is not UTF8
// (dialects.ErrUnsupportedDatabase) and a server that accepts no writes
// (mcpsession.ErrReadOnly, unless the store is opened
// sqlstore.WithReadOnly). Errors that mean the server went away or is
// failing over match mcpsession.ErrUnavailable; a write on a hot standby
// matches mcpsession.ErrReadOnly.
//
// Writes wake the replicas' buses through NOTIFY on a channel of the
// store's schema, so stores in different schemas of one database do not
// wake each other; a bus listens on a connection of its own, outside the
// store's pool. Migrations hold goose's table lock (a lease row in
// mcpsession_lock), which holds behind a pooler in any mode.
package postgres
