package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/dialects"
	"github.com/mcpsession/mcpsession/internal/driver"
	"github.com/mcpsession/mcpsession/internal/executor"
	"github.com/mcpsession/mcpsession/internal/optional"
	"github.com/mcpsession/mcpsession/migrations"
)

// Store keeps MCP sessions and state handles in a SQL database: it is an
// mcpsession.Store, Cleaner, Toucher and Modifier for sessions, and an
// mcpsession.HandleStore and HandleCleaner for handles. It is safe for
// concurrent use.
type Store struct {
	x      *executor.Executor // shared with bus and eventstore
	cfg    config
	ownsDB bool

	// sessions and handles are the two tables of records.
	sessions, handles *records
}

func init() {
	executor.SetStoreAccessor(func(s any) *executor.Executor { return s.(*Store).x })
}

var (
	_ mcpsession.Store         = (*Store)(nil)
	_ mcpsession.Cleaner       = (*Store)(nil)
	_ mcpsession.Toucher       = (*Store)(nil)
	_ mcpsession.Modifier      = (*Store)(nil)
	_ optional.IdleTimeouter   = (*Store)(nil)
	_ mcpsession.HandleStore   = (*Store)(nil)
	_ mcpsession.HandleCleaner = (*Store)(nil)
)

// Open opens the database of dialect d named by dsn and returns a Store
// over it that Close closes again. The dialects and their DSNs:
//
//	postgres.Dialect()  postgres://user:password@host:5432/db?sslmode=disable   (also postgresql://, or key=value)
//	sqlite.Dialect()    sqlite:/var/lib/app/sessions.db                          (also a relative path)
//	sqlite.Dialect()    sqlite::memory:                                          (one in-memory database for this Store)
//
// Query parameters are passed to the driver (pgx, or modernc.org/sqlite).
// A DSN the dialect does not take is an error matching
// dialects.ErrUnsupportedDSN, which shows the DSN with its password
// redacted. Open checks that the database
// answers before it returns, and that the store can work on it: a Postgres
// database whose encoding is not UTF8 is an error matching
// dialects.ErrUnsupportedDatabase, and a server that accepts no writes (a
// hot standby) is an error matching mcpsession.ErrReadOnly unless the store
// is opened WithReadOnly.
//
// Postgres DSNs may name several hosts for failover, and pgx's own
// parameters, such as target_session_attrs=read-write (connect to the host
// that accepts writes), connect_timeout, and default_query_exec_mode=exec
// for PgBouncer in transaction mode: see the package documentation.
func Open(ctx context.Context, d dialects.Dialect, dsn string, opts ...Option) (*Store, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, fmt.Errorf("%w: sqlstore.Open: nil dialects.Dialect", mcpsession.ErrInvalidOption)
	}
	drv := d.Driver()
	if drv.TransactionPooled(dsn) {
		cfg.transactionPooling = true
	}
	db, err := drv.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, executor.Classified(ctx, drv, "open: ping "+dialects.Redact(dsn), driver.RedactError(err, dsn))
	}
	if err := checkWritable(ctx, db, drv, dsn, cfg); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := drv.CheckDatabase(ctx, db); err != nil {
		_ = db.Close()
		return nil, executor.Classified(ctx, drv, "open", err)
	}
	s, err := newStore(ctx, db, d, cfg)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s.ownsDB = true
	return s, nil
}

// New returns a Store over a database the caller opened and keeps
// ownership of: Close leaves db open. d says what database db is.
//
// New does not query db, except to migrate it with WithAutoMigrate
// (without a deadline: call migrations.Up yourself to bound it), so it
// checks none of what Open checks: that db answers, accepts writes, and (on
// Postgres) is encoded in UTF8.
//
// For SQLite, open db with a busy timeout and WAL (the pragmas
// busy_timeout and journal_mode), as Open does, if other processes use the
// same file. For Postgres behind a pooler in transaction mode, say so with
// WithTransactionPooling.
func New(db *sql.DB, d dialects.Dialect, opts ...Option) (*Store, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if db == nil {
		return nil, fmt.Errorf("%w: sqlstore.New: nil *sql.DB", mcpsession.ErrInvalidOption)
	}
	if d == nil {
		return nil, fmt.Errorf("%w: sqlstore.New: nil dialects.Dialect", mcpsession.ErrInvalidOption)
	}
	return newStore(context.Background(), db, d, cfg)
}

func newStore(ctx context.Context, db *sql.DB, d dialects.Dialect, cfg config) (*Store, error) {
	s := &Store{
		x: executor.New(db, d.Driver(), executor.Config{
			ReadOnly:          cfg.readOnly,
			TransactionPooled: cfg.transactionPooling,
			IdleTimeout:       cfg.idleTimeout,
			MaxLifetime:       cfg.maxLifetime,
		}),
		cfg: cfg,
	}
	q := s.x.Statements()
	s.sessions = newRecords(s, q.Records, "session", mcpsession.ErrNotFound, cfg.idleTimeout, cfg.maxLifetime)
	s.handles = newRecords(s, q.Handles, "handle", mcpsession.ErrHandleNotFound, cfg.handleIdleTimeout, cfg.handleMaxLifetime)
	if cfg.autoMigrate {
		start := time.Now()
		if err := migrations.Up(ctx, db, d); err != nil {
			return nil, fmt.Errorf("sqlstore: %w", err)
		}
		cfg.logger.LogAttrs(ctx, slog.LevelInfo, "sqlstore: schema migrated",
			slog.String("dialect", d.Name()), slog.Duration("duration", time.Since(start)))
	}
	return s, nil
}

// Close releases the Store's prepared statements and closes the database if
// Open opened it; a Store from New leaves the caller's *sql.DB open. The
// Store must not be used after Close.
func (s *Store) Close() error {
	s.x.Close()
	if !s.ownsDB {
		return nil
	}
	if err := s.x.DB().Close(); err != nil {
		return fmt.Errorf("sqlstore: close: %w", err)
	}
	return nil
}

// DB returns the store's database pool, for tuning (SetMaxOpenConns…) and
// for health checks.
func (s *Store) DB() *sql.DB { return s.x.DB() }

// IdleTimeout returns the idle timeout set with WithIdleTimeout, or 0. A
// janitor uses it as its default TTL, so reads and cleanup agree.
func (s *Store) IdleTimeout() time.Duration { return s.cfg.idleTimeout }

// checkWritable refuses a server that accepts no writes, unless the store
// is read-only by choice.
func checkWritable(ctx context.Context, db *sql.DB, d driver.Driver, dsn string, cfg config) error {
	if cfg.readOnly {
		return nil
	}
	reason, err := d.ReadOnly(ctx, db)
	if err != nil {
		return executor.Classified(ctx, d, "open: is the server writable", err)
	}
	if reason == "" {
		return nil
	}
	return fmt.Errorf("sqlstore: open %s: %w: %s; to reach the primary of several hosts, add target_session_attrs=read-write to the DSN, or open the store WithReadOnly to only read",
		dialects.Redact(dsn), mcpsession.ErrReadOnly, reason)
}
