package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/mcpsession/mcpsession/dialects"
	"github.com/mcpsession/mcpsession/internal/driver"
	pgmigrations "github.com/mcpsession/mcpsession/migrations/postgres"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

// Dialect returns PostgreSQL through pgx v5, for sqlstore.Open and New and
// migrations.Up. Timestamps are timestamptz from the database clock;
// metadata is jsonb.
func Dialect() dialects.Dialect { return dialect{} }

// dialect is what a user holds; pgDriver is what this module's packages
// run, through dialect's Driver.
type dialect struct{}

func (dialect) Name() string          { return "postgres" }
func (dialect) Driver() driver.Driver { return pgDriver{} }

type pgDriver struct{}

func (pgDriver) Name() string                   { return "postgres" }
func (pgDriver) GooseDialect() database.Dialect { return database.DialectPostgres }
func (pgDriver) SerializeWrites() bool          { return false }
func (pgDriver) Migrations() fs.FS              { return pgmigrations.FS() }
func (pgDriver) Statements() *driver.Statements { return &statements }

// PrepareStatements is false: pgx prepares and caches statements per
// connection by itself in its default mode (cache_statement), and a DSN
// with default_query_exec_mode=exec or simple_protocol, for PgBouncer in
// transaction mode, must get no server-side prepared statement at all.
func (pgDriver) PrepareStatements() bool { return false }

// MigrationLocker is goose's table locker: a lease row in the table
// mcpsession_lock of the schema db's connections use (so stores in
// different schemas of one database do not wait for each other), renewed
// every 5 s while the migration runs and free 30 s after a migrator dies.
// Unlike an advisory lock, it does not belong to a server session, so it
// holds behind PgBouncer in transaction mode too. A replica that finds it
// taken tries again every half second, for up to ten minutes.
func (pgDriver) MigrationLocker(_ context.Context, _ *sql.DB) (lock.Locker, error) {
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
func (pgDriver) ReadOnly(ctx context.Context, db *sql.DB) (string, error) {
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

// CheckDatabase refuses a database whose server encoding is not UTF8
// (SQL_ASCII, LATIN1, ...): such a database cannot hold every string a
// session may hold, and refuses some at the first write, with a conversion
// error, long after Open succeeded.
func (pgDriver) CheckDatabase(ctx context.Context, db *sql.DB) error {
	var enc string
	if err := db.QueryRowContext(ctx, `SELECT current_setting('server_encoding')`).Scan(&enc); err != nil {
		return fmt.Errorf("read server_encoding: %w", err)
	}
	if enc != "UTF8" {
		return fmt.Errorf("%w: the database's encoding is %s; create it with ENCODING 'UTF8'", dialects.ErrUnsupportedDatabase, enc)
	}
	return nil
}

// Open parses dsn with pgx and opens a database/sql pool over it, sized like
// pgxpool's default (the larger of 4 and the number of CPUs), with as many
// idle connections kept as may be open, so a busy store does not reconnect.
// It takes the DSNs pgx does, postgres:// and postgresql:// URLs and
// key=value strings; any other form is an error matching
// dialects.ErrUnsupportedDSN, before pgx would read it as key=value or fall
// back to the PG* environment variables.
func (pgDriver) Open(ctx context.Context, dsn string) (*sql.DB, error) {
	if !isPostgresDSN(dsn) {
		return nil, fmt.Errorf("%w %q (the postgres dialect takes postgres://…, postgresql://… or key=value DSNs)",
			dialects.ErrUnsupportedDSN, driver.Redact(dsn))
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password in its parse errors, but not
		// sslpassword.
		return nil, fmt.Errorf("parse postgres DSN: %w", driver.RedactError(err, dsn))
	}
	db := stdlib.OpenDB(*cfg)
	n := max(4, runtime.NumCPU())
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	return db, nil
}

// TransactionPooled reports whether dsn selects one of the exec modes a
// pooler in transaction mode needs (pgx's default_query_exec_mode=exec or
// simple_protocol): pgx then prepares nothing on the server, and a LISTEN,
// which needs a server session of its own, would hear nothing.
func (pgDriver) TransactionPooled(dsn string) bool {
	var mode string
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return false
		}
		mode = u.Query().Get("default_query_exec_mode")
	} else {
		for _, kv := range strings.Fields(dsn) {
			if k, v, ok := strings.Cut(kv, "="); ok && k == "default_query_exec_mode" {
				mode = strings.Trim(v, "'")
			}
		}
	}
	return mode == "exec" || mode == "simple_protocol"
}

// isPostgresDSN reports whether dsn is of a form pgx parses: a URL of its
// schemes, or key=value pairs, which start with a keyword and "=".
func isPostgresDSN(dsn string) bool {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return true
	}
	key, _, ok := strings.Cut(strings.TrimLeft(dsn, " \t\n\r"), "=")
	key = strings.TrimRight(key, " \t\n\r")
	if !ok || key == "" {
		return false
	}
	for _, c := range key {
		if c != '_' && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
