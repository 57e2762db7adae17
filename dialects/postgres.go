package dialects

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

// Postgres is PostgreSQL through pgx v5. Timestamps are timestamptz from the
// database clock; metadata is jsonb.
var Postgres Dialect = postgres{}

type postgres struct{}

func (postgres) Name() string                   { return "postgres" }
func (postgres) GooseDialect() database.Dialect { return database.DialectPostgres }
func (postgres) SerializeWrites() bool          { return false }
func (postgres) Statements() Statements         { return postgresStatements }

// PrepareStatements is false: pgx prepares and caches statements per
// connection by itself in its default mode (cache_statement), and a DSN
// with default_query_exec_mode=exec or simple_protocol, for PgBouncer in
// transaction mode, must get no server-side prepared statement at all.
func (postgres) PrepareStatements() bool { return false }

// pgLive is the predicate for a live row s, given the placeholders of the
// idle timeout and the max lifetime in milliseconds. A bigint times an
// interval is computed once per statement, so the comparisons can use the
// indexes.
func pgLive(idle, lifetime string) string {
	return fmt.Sprintf("(%[1]s::bigint = 0 OR s.updated_at >= now() - %[1]s::bigint * interval '1 millisecond')"+
		" AND (%[2]s::bigint = 0 OR s.created_at >= now() - %[2]s::bigint * interval '1 millisecond')", idle, lifetime)
}

// pgCleanup deletes one batch of rows whose column is older than the
// duration in $1, oldest first, at most $2 of them. The rows are locked
// first, skipping any another transaction holds (it is using them, so they
// are not idle); a row touched after the statement's snapshot is re-checked
// against the cutoff before it is locked, so a session used at the last
// moment is not deleted.
func pgCleanup(column string) string {
	return fmt.Sprintf(`DELETE FROM mcp_sessions WHERE ctid = ANY (ARRAY(
  SELECT ctid FROM mcp_sessions
  WHERE %[1]s < now() - $1::bigint * interval '1 millisecond'
  ORDER BY %[1]s
  LIMIT $2
  FOR UPDATE SKIP LOCKED))`, column)
}

var postgresStatements = Statements{
	Create: `INSERT INTO mcp_sessions AS s (id, metadata, created_at, updated_at)
VALUES ($1, $2::jsonb, now(), now())
ON CONFLICT (id) DO UPDATE
SET metadata = EXCLUDED.metadata, created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at
WHERE NOT (` + pgLive("$3", "$4") + `)`,

	Get: `SELECT metadata FROM mcp_sessions AS s WHERE id = $1 AND ` + pgLive("$2", "$3"),

	Update: `UPDATE mcp_sessions AS s SET metadata = s.metadata || $2::jsonb, updated_at = now()
WHERE id = $1 AND ` + pgLive("$3", "$4"),

	Touch: `UPDATE mcp_sessions AS s SET updated_at = now() WHERE id = $1 AND ` + pgLive("$2", "$3"),

	Delete: `DELETE FROM mcp_sessions WHERE id = $1`,

	Lock: `SELECT metadata FROM mcp_sessions AS s WHERE id = $1 AND ` + pgLive("$2", "$3") + ` FOR UPDATE`,

	Replace: `UPDATE mcp_sessions SET metadata = $2::jsonb, updated_at = now() WHERE id = $1`,

	CleanupIdle:     pgCleanup("updated_at"),
	CleanupLifetime: pgCleanup("created_at"),

	TakeLease: `INSERT INTO ` + LeasesTable + ` AS l (name, holder, expires_at)
VALUES ($1, $2, now() + $3::bigint * interval '1 millisecond')
ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
WHERE l.holder = EXCLUDED.holder OR l.expires_at < now()`,
	ReleaseLease: `DELETE FROM ` + LeasesTable + ` WHERE name = $1 AND holder = $2`,
}

// MigrationLocker is goose's table locker: a lease row in the table
// mcpsession_lock of the schema db's connections use (so stores in
// different schemas of one database do not wait for each other), renewed
// every 5 s while the migration runs and free 30 s after a migrator dies.
// Unlike an advisory lock, it does not belong to a server session, so it
// holds behind PgBouncer in transaction mode too. A replica that finds it
// taken tries again every half second, for up to ten minutes.
func (postgres) MigrationLocker(_ context.Context, _ *sql.DB) (lock.Locker, error) {
	return lock.NewPostgresTableLocker(
		lock.WithTableName(pgMigrationLockTable),
		lock.WithTableLockTimeout(500*time.Millisecond, 1200),
		lock.WithTableLogger(slog.New(slog.DiscardHandler)),
	)
}

// pgMigrationLockTable is the table goose's table locker keeps its lease
// in; not goose's default, goose_lock, so that an application's own goose
// migrations neither wait for ours nor collide with them.
const pgMigrationLockTable = "mcpsession_lock"

// ReadOnly asks the server what target_session_attrs=read-write asks:
// transaction_read_only, which a hot standby and
// default_transaction_read_only=on both set; pg_is_in_recovery says which.
func (postgres) ReadOnly(ctx context.Context, db *sql.DB) (string, error) {
	var standby, readOnly bool
	err := db.QueryRowContext(ctx,
		`SELECT pg_is_in_recovery(), current_setting('transaction_read_only') = 'on'`).Scan(&standby, &readOnly)
	switch {
	case err != nil:
		return "", err
	case standby:
		return "the server is a hot standby (pg_is_in_recovery)", nil
	case readOnly:
		return "the server's sessions are read-only (default_transaction_read_only)", nil
	}
	return "", nil
}

// Open parses dsn with pgx and opens a database/sql pool over it, sized like
// pgxpool's default (the larger of 4 and the number of CPUs), with as many
// idle connections kept as may be open, so a busy store does not reconnect.
func (postgres) Open(ctx context.Context, dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password in its parse errors; the DSN itself
		// is not repeated here.
		return nil, fmt.Errorf("parse postgres DSN: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	n := max(4, runtime.NumCPU())
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	return db, nil
}
