package executor

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/driver"
	"github.com/mcpsession/mcpsession/internal/testsignal"
)

// Config is what the store was opened with that the packages sharing its
// executor need to know.
type Config struct {
	// ReadOnly refuses every write with mcpsession.ErrReadOnly before
	// any SQL runs.
	ReadOnly bool

	// TransactionPooled says the connections go through a pooler in
	// transaction mode, where a LISTEN hears nothing.
	TransactionPooled bool

	// IdleTimeout and MaxLifetime are the sessions' expiry (0: none),
	// which decides whether a session is live.
	IdleTimeout, MaxLifetime time.Duration
}

// An Executor runs statements on one store's database. It is safe for
// concurrent use.
type Executor struct {
	db    *sql.DB
	drv   driver.Driver
	q     *driver.Statements
	stmts *statements
	cfg   Config

	// writer, when the driver serialises writes, is a one-slot semaphore
	// held around every write. A channel rather than a mutex, so that a
	// write waiting its turn still honours its context.
	writer chan struct{}

	signals TestSignals
}

// TestSignals are the moments of a store's work that tests wait for. They
// do nothing unless a test armed them (see package testsignal).
type TestSignals struct {
	// LeaseTaken fires with a lease's name when this store has taken it
	// (the cleanup lease: a sweep holds it from then on).
	LeaseTaken testsignal.Signal[string]
}

// TestSignals returns the store's test signals.
func (x *Executor) TestSignals() *TestSignals { return &x.signals }

// New returns the Executor of a store over db.
func New(db *sql.DB, drv driver.Driver, cfg Config) *Executor {
	e := &Executor{
		db:    db,
		drv:   drv,
		q:     drv.Statements(),
		stmts: newStatements(db, drv.PrepareStatements()),
		cfg:   cfg,
	}
	if drv.SerializeWrites() {
		e.writer = make(chan struct{}, 1)
	}
	return e
}

// DB returns the database pool.
func (e *Executor) DB() *sql.DB { return e.db }

// Driver returns the database's driver.
func (e *Executor) Driver() driver.Driver { return e.drv }

// Statements returns the driver's SQL.
func (e *Executor) Statements() *driver.Statements { return e.q }

// Config returns what the store was opened with.
func (e *Executor) Config() Config { return e.cfg }

// Close releases the prepared statements; a statement asked for later is
// sql.ErrConnDone where the driver prepares.
func (e *Executor) Close() { e.stmts.close() }

// Stmt returns the statement for query, prepared first if the driver
// prepares and nobody has yet.
func (e *Executor) Stmt(ctx context.Context, query string) (Stmt, error) {
	return e.stmts.get(ctx, query)
}

// errReadOnlyStore is what a store opened read-only returns for every
// write, before any SQL runs.
var errReadOnlyStore = fmt.Errorf("%w: the store was opened WithReadOnly", mcpsession.ErrReadOnly)

// LockWriter takes the process's turn for writes when the driver
// serialises writes. The returned func gives it back. Every write takes it,
// so a read-only store refuses writes here.
func (e *Executor) LockWriter(ctx context.Context) (unlock func(), err error) {
	if e.cfg.ReadOnly {
		return nil, errReadOnlyStore
	}
	if e.writer == nil {
		return func() {}, nil
	}
	select {
	case e.writer <- struct{}{}:
		return func() { <-e.writer }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Write runs one write statement in the turn for writes and returns the
// rows it affected. Its errors are the database's as the driver returned
// them, for a caller that looks at them before wrapping them (Wrap), or
// ErrCallInModify, wrapped with op.
func (e *Executor) Write(ctx context.Context, op, query string, args ...any) (int64, error) {
	if err := CheckNotInModify(op); err != nil {
		return 0, err
	}
	unlock, err := e.LockWriter(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	st, err := e.stmts.get(ctx, query)
	if err != nil {
		return 0, err
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Exec is Write with its errors wrapped (see Wrap).
func (e *Executor) Exec(ctx context.Context, op, query string, args ...any) (int64, error) {
	n, err := e.Write(ctx, op, query, args...)
	if err != nil {
		return 0, e.Wrap(ctx, op, err)
	}
	return n, nil
}

// WriteRow runs one write statement that returns a row (INSERT …
// RETURNING) in the turn for writes, and scans the row into dest. A
// statement that returns no row is an error matching sql.ErrNoRows,
// unwrapped; other errors are wrapped.
func (e *Executor) WriteRow(ctx context.Context, op, query string, args []any, dest ...any) error {
	if err := CheckNotInModify(op); err != nil {
		return err
	}
	unlock, err := e.LockWriter(ctx)
	if err != nil {
		return e.Wrap(ctx, op, err)
	}
	defer unlock()
	st, err := e.stmts.get(ctx, query)
	if err != nil {
		return e.Wrap(ctx, op, err)
	}
	if err := st.QueryRowContext(ctx, args...).Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return e.Wrap(ctx, op, err)
	}
	return nil
}

// WriteTx runs fn in one transaction, holding the turn for writes
// throughout, and commits it if fn returns nil. fn's first statement should
// write: on SQLite it then takes the database's write lock at once, instead
// of upgrading a read lock later, which fails without waiting. fn's own
// error is returned as it is, and rolls the transaction back; errors of
// beginning and committing are wrapped.
func (e *Executor) WriteTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	if err := CheckNotInModify(op); err != nil {
		return err
	}
	unlock, err := e.LockWriter(ctx)
	if err != nil {
		return e.Wrap(ctx, op, err)
	}
	defer unlock()
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return e.Wrap(ctx, op+": begin", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return e.Wrap(ctx, op+": commit", err)
	}
	return nil
}

// Query runs a read. Its errors, and those of the rows (which the caller
// wraps with Wrap), are wrapped.
func (e *Executor) Query(ctx context.Context, op, query string, args ...any) (*sql.Rows, error) {
	if err := CheckNotInModify(op); err != nil {
		return nil, err
	}
	st, err := e.stmts.get(ctx, query)
	if err != nil {
		return nil, e.Wrap(ctx, op, err)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, e.Wrap(ctx, op, err)
	}
	return rows, nil
}

// QueryRow runs a read of one row and scans it into dest. No row is an
// error matching sql.ErrNoRows, unwrapped; other errors are wrapped.
func (e *Executor) QueryRow(ctx context.Context, op, query string, args []any, dest ...any) error {
	if err := CheckNotInModify(op); err != nil {
		return err
	}
	st, err := e.stmts.get(ctx, query)
	if err != nil {
		return e.Wrap(ctx, op, err)
	}
	if err := st.QueryRowContext(ctx, args...).Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return e.Wrap(ctx, op, err)
	}
	return nil
}

// Wrap wraps err, returned by the database for the operation op, as
// "sqlstore: op: …" with what it means to the caller (see Classified). A
// nil err is nil; ErrCallInModify already says which operation it
// refused, and is returned as it is.
func (e *Executor) Wrap(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, mcpsession.ErrCallInModify) {
		return err
	}
	return Classified(ctx, e.drv, op, err)
}

// Classified wraps err, from the database or its driver, as
// "sqlstore: op: …". If ctx has ended (see ended), the error matches
// ctx.Err(): a call cut short by its deadline may fail inside the driver
// first ("bad connection", "transaction has already been committed or
// rolled back"), and the caller must still be able to tell that its
// deadline was the cause. Else it matches mcpsession.ErrUnavailable or
// mcpsession.ErrReadOnly when the driver says it means that. The driver's
// error stays in the chain.
func Classified(ctx context.Context, drv driver.Driver, op string, err error) error {
	if ctxErr := ended(ctx); ctxErr != nil {
		if errors.Is(err, ctxErr) {
			return fmt.Errorf("sqlstore: %s: %w", op, err)
		}
		return fmt.Errorf("sqlstore: %s: %w: %w", op, ctxErr, err)
	}
	switch drv.ClassifyError(err) {
	case driver.ErrorUnavailable:
		return fmt.Errorf("sqlstore: %s: %w: %w", op, mcpsession.ErrUnavailable, err)
	case driver.ErrorReadOnly:
		return fmt.Errorf("sqlstore: %s: %w: %w", op, mcpsession.ErrReadOnly, err)
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

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

// storeExecutor returns the Executor of a *sqlstore.Store. Package
// sqlstore sets it when it is initialised: the executor is not part of
// sqlstore's API, and this package cannot name sqlstore's Store, since
// sqlstore imports it.
var storeExecutor func(store any) *Executor

// SetStoreAccessor is called once, by package sqlstore's init, with the
// function that returns a store's Executor.
func SetStoreAccessor(fn func(store any) *Executor) { storeExecutor = fn }

// Of returns the Executor of store, a *sqlstore.Store: how packages bus and
// eventstore, whose constructors take the store, run their SQL as the
// store runs its own.
func Of(store any) *Executor { return storeExecutor(store) }
