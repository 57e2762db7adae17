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
	"github.com/mcpsession/mcpsession/internal/driver"
	"github.com/mcpsession/mcpsession/migrations"
)

// Store keeps MCP sessions and state handles in a SQL database: it is an
// mcpsession.Store, Cleaner, Toucher, Modifier and IdleTimeouter for
// sessions, and an mcpsession.HandleStore and HandleCleaner for handles. It
// is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect dialects.Dialect
	q       *driver.Statements
	stmts   *statements
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
// dialects.ErrUnsupportedDatabase, and a server that accepts no writes (a
// hot standby) is an error matching mcpsession.ErrReadOnly unless the store
// is opened WithReadOnly.
//
// Postgres DSNs may name several hosts for failover, and pgx's own
// parameters, such as target_session_attrs=read-write (connect to the host
// that accepts writes), connect_timeout, and default_query_exec_mode=exec
// for PgBouncer in transaction mode: see the package documentation.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	d, err := dialects.ForDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open: %w", err)
	}
	if d == dialects.Postgres && transactionPooledDSN(dsn) {
		cfg.transactionPooling = true
	}
	db, err := d.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, classified(ctx, d, "open: ping "+dialects.Redact(dsn), driver.RedactError(err, dsn))
	}
	if err := checkWritable(ctx, db, d, dsn, cfg); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := d.CheckDatabase(ctx, db); err != nil {
		_ = db.Close()
		return nil, classified(ctx, d, "open", err)
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
// Postgres) is encoded in UTF8 (dialects.Postgres.CheckDatabase).
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
		return nil, fmt.Errorf("%w: sqlstore.New: nil *sql.DB", mcpsession.ErrInvalidOption)
	}
	if d == nil {
		return nil, fmt.Errorf("%w: sqlstore.New: nil dialects.Dialect", mcpsession.ErrInvalidOption)
	}
	return newStore(context.Background(), db, d, cfg)
}

func newStore(ctx context.Context, db *sql.DB, d dialects.Dialect, cfg config) (*Store, error) {
	s := &Store{
		db:      db,
		dialect: d,
		q:       d.Statements(),
		stmts:   newStatements(db, d.PrepareStatements()),
		cfg:     cfg,
	}
	s.sessions = newRecords(s, s.q.Records, "session", mcpsession.ErrNotFound, cfg.idleTimeout, cfg.maxLifetime)
	s.handles = newRecords(s, s.q.Handles, "handle", mcpsession.ErrHandleNotFound, cfg.handleIdleTimeout, cfg.handleMaxLifetime)
	if d.SerializeWrites() {
		s.writer = make(chan struct{}, 1)
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
// writes. The returned func gives it back. Every write takes it, so a store
// opened WithReadOnly refuses writes here.
func (s *Store) lockWriter(ctx context.Context) (func(), error) {
	if s.cfg.readOnly {
		return nil, errReadOnlyStore
	}
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

// opError wraps a database error with the operation that failed and with
// what it means to the caller (see classified). ErrCallInModify already
// says which operation it refused, and is returned as it is.
func (s *Store) opError(ctx context.Context, op string, err error) error {
	if errors.Is(err, mcpsession.ErrCallInModify) {
		return err
	}
	return classified(ctx, s.dialect, op, err)
}

// classified wraps err, from the database or its driver, as
// "sqlstore: op: …". If ctx has ended (see ended), the error matches
// ctx.Err(): a call cut short by its deadline may fail inside the driver
// first ("bad connection", "transaction has already been committed or
// rolled back"), and the caller must still be able to tell that its
// deadline was the cause. Else it matches mcpsession.ErrUnavailable or
// mcpsession.ErrReadOnly when the dialect says it means that. The driver's
// error stays in the chain.
func classified(ctx context.Context, d dialects.Dialect, op string, err error) error {
	if ctxErr := ended(ctx); ctxErr != nil {
		if errors.Is(err, ctxErr) {
			return fmt.Errorf("sqlstore: %s: %w", op, err)
		}
		return fmt.Errorf("sqlstore: %s: %w: %w", op, ctxErr, err)
	}
	switch d.ClassifyError(err) {
	case driver.ErrorUnavailable:
		return fmt.Errorf("sqlstore: %s: %w: %w", op, mcpsession.ErrUnavailable, err)
	case driver.ErrorReadOnly:
		return fmt.Errorf("sqlstore: %s: %w: %w", op, mcpsession.ErrReadOnly, err)
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// errReadOnlyStore is what a store opened WithReadOnly returns for every
// write, before any SQL runs.
var errReadOnlyStore = fmt.Errorf("%w: the store was opened WithReadOnly", mcpsession.ErrReadOnly)

// checkWritable refuses a server that accepts no writes, unless the store
// is read-only by choice.
func checkWritable(ctx context.Context, db *sql.DB, d dialects.Dialect, dsn string, cfg config) error {
	if cfg.readOnly {
		return nil
	}
	reason, err := d.ReadOnly(ctx, db)
	if err != nil {
		return classified(ctx, d, "open: is the server writable", err)
	}
	if reason == "" {
		return nil
	}
	return fmt.Errorf("sqlstore: open %s: %w: %s; to reach the primary of several hosts, add target_session_attrs=read-write to the DSN, or open the store WithReadOnly to only read",
		dialects.Redact(dsn), mcpsession.ErrReadOnly, reason)
}
