package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/dialects"
	"github.com/mcpsession/mcpsession/migrations"
)

// Store keeps MCP sessions and state handles in a SQL database: it is an
// mcpsession.Store, Cleaner, Toucher, Modifier and IdleTimeouter for
// sessions, and an mcpsession.HandleStore and HandleCleaner for handles. It
// is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect dialects.Dialect
	q       dialects.Statements
	stmts   statements
	cfg     config
	ownsDB  bool

	// sessions and handles are the two tables of records.
	sessions, handles *records

	// writer, when the dialect serialises writes, is a one-slot semaphore
	// held around every write. A channel rather than a mutex, so that a
	// write waiting its turn still honours its context.
	writer chan struct{}
}

var (
	_ mcpsession.Store         = (*Store)(nil)
	_ mcpsession.Cleaner       = (*Store)(nil)
	_ mcpsession.Toucher       = (*Store)(nil)
	_ mcpsession.Modifier      = (*Store)(nil)
	_ mcpsession.IdleTimeouter = (*Store)(nil)
	_ mcpsession.HandleStore   = (*Store)(nil)
	_ mcpsession.HandleCleaner = (*Store)(nil)
)

// Open opens the database named by dsn and returns a Store over it that
// Close closes again. DSNs:
//
//	postgres://user:password@host:5432/db?sslmode=disable   (also postgresql://)
//	sqlite:/var/lib/app/sessions.db                          (also a relative path)
//	sqlite::memory:                                          (one in-memory database for this Store)
//
// Query parameters are passed to the driver (pgx, or modernc.org/sqlite).
// An unsupported DSN is an error matching dialects.ErrUnsupportedDSN, which
// shows the DSN with its password redacted. Open checks that the database
// answers before it returns, and that the store can work on it: a Postgres
// database whose encoding is not UTF8 is an error matching
// dialects.ErrUnsupportedDatabase.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	d, err := dialects.ForDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open: %w", err)
	}
	db, err := d.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlstore: open: ping %s: %w", dialects.Redact(dsn), dialects.RedactError(err, dsn))
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
// New queries db once, without a deadline, to check that the store can
// work on it (on Postgres, that its encoding is UTF8: an error matching
// dialects.ErrUnsupportedDatabase otherwise), and migrates it with
// WithAutoMigrate. To bound that, use Open, which takes a context.
//
// For SQLite, open db with a busy timeout and WAL (the pragmas
// busy_timeout and journal_mode), as Open does, if other processes use the
// same file.
func New(db *sql.DB, d dialects.Dialect, opts ...Option) (*Store, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if db == nil {
		return nil, fmt.Errorf("%w: nil *sql.DB", ErrInvalidOption)
	}
	if d == nil {
		return nil, fmt.Errorf("%w: nil dialects.Dialect", ErrInvalidOption)
	}
	return newStore(context.Background(), db, d, cfg)
}

func newStore(ctx context.Context, db *sql.DB, d dialects.Dialect, cfg config) (*Store, error) {
	s := &Store{
		db:      db,
		dialect: d,
		q:       d.Statements(),
		stmts:   statements{db: db},
		cfg:     cfg,
	}
	s.sessions = newRecords(s, s.q.Records, "session", mcpsession.ErrNotFound, cfg.idleTimeout, cfg.maxLifetime)
	s.handles = newRecords(s, s.q.Handles, "handle", mcpsession.ErrHandleNotFound, cfg.handleIdleTimeout, cfg.handleMaxLifetime)
	if d.SerializeWrites() {
		s.writer = make(chan struct{}, 1)
	}
	if err := d.CheckDatabase(ctx, db); err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
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
	s.stmts.close()
	if !s.ownsDB {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlstore: close: %w", err)
	}
	return nil
}

// DB returns the store's database pool, for tuning (SetMaxOpenConns…) and
// for health checks.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect returns the store's dialect.
func (s *Store) Dialect() dialects.Dialect { return s.dialect }

// IdleTimeout returns the idle timeout set with WithIdleTimeout, or 0. A
// janitor uses it as its default TTL, so reads and cleanup agree.
func (s *Store) IdleTimeout() time.Duration { return s.cfg.idleTimeout }

// HandleIdleTimeout returns the handles' idle timeout: the one set with
// WithHandleIdleTimeout, or DefaultHandleIdleTimeout.
func (s *Store) HandleIdleTimeout() time.Duration { return s.cfg.handleIdleTimeout }

// ended returns ctx.Err(), or context.DeadlineExceeded once ctx's deadline
// has passed even if ctx has not noticed yet: a driver that set its own
// timer from the deadline (a dial, a socket read) can fail a moment before
// ctx's timer fires.
func ended(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// lockWriter takes the process's write slot when the dialect serialises
// writes. The returned func gives it back.
func (s *Store) lockWriter(ctx context.Context) (func(), error) {
	if s.writer == nil {
		return func() {}, nil
	}
	select {
	case s.writer <- struct{}{}:
		return func() { <-s.writer }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// exec runs one write statement and returns the rows it affected. Errors
// are the database's, unwrapped, or ErrCallInModify, wrapped with op.
func (s *Store) exec(ctx context.Context, op, query string, args ...any) (int64, error) {
	if err := checkNotInModify(op); err != nil {
		return 0, err
	}
	unlock, err := s.lockWriter(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	st, err := s.stmts.get(ctx, query)
	if err != nil {
		return 0, err
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// opError wraps a database error with the operation that failed. Context
// errors stay matchable with errors.Is through the wrapping, and when ctx
// has ended the error matches ctx.Err() too: a call cut short by its
// deadline may fail inside the driver first ("bad connection", "transaction
// has already been committed or rolled back"), and the caller must still be
// able to tell that its deadline was the cause.
func opError(ctx context.Context, op string, err error) error {
	if errors.Is(err, mcpsession.ErrCallInModify) {
		return err // already says which operation
	}
	if cerr := ended(ctx); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("sqlstore: %s: %w: %w", op, cerr, err)
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}
