package executor

import (
	"context"
	"database/sql"
	"sync"
)

// Runner is a statement ready to run with its arguments: a *sql.Stmt, or
// the statement's text over a pool or a transaction.
type Runner interface {
	ExecContext(ctx context.Context, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, args ...any) *sql.Row
}

// statements hands out the store's statements. When the driver asks for it
// (SQLite, which otherwise compiles every statement on every call), each is
// prepared once per Store, when first used, and database/sql then prepares
// it once per connection and reuses it; preparing lazily lets a Store be
// built before its schema exists (without WithAutoMigrate). Otherwise
// (Postgres) statements run by their text and the driver decides: pgx
// caches prepared statements per connection in its default mode, and
// prepares nothing on the server when the DSN says
// default_query_exec_mode=exec or simple_protocol, as PgBouncer in
// transaction mode needs.
type statements struct {
	db      *sql.DB
	prepare bool

	// turn is held while a statement is prepared, so that each is
	// prepared once; a one-slot channel rather than a mutex, so that a
	// call waiting for another's prepare still honours its own context.
	// It also guards done.
	turn chan struct{}
	byQ  sync.Map // query text -> *sql.Stmt
	done bool     // closed: prepare no more
}

func newStatements(db *sql.DB, prepare bool) *statements {
	return &statements{db: db, prepare: prepare, turn: make(chan struct{}, 1)}
}

// get returns the statement for query, preparing it first if the driver
// prepares and nobody has yet. Waiting for another call's prepare, and
// preparing, end when ctx does.
func (p *statements) get(ctx context.Context, query string) (Stmt, error) {
	if !p.prepare {
		return Stmt{db: p.db, query: query}, nil
	}
	if st, ok := p.byQ.Load(query); ok {
		return Stmt{prepared: st.(*sql.Stmt)}, nil
	}
	select {
	case p.turn <- struct{}{}:
	case <-ctx.Done():
		return Stmt{}, ctx.Err()
	}
	defer func() { <-p.turn }()
	if st, ok := p.byQ.Load(query); ok {
		return Stmt{prepared: st.(*sql.Stmt)}, nil
	}
	if p.done {
		return Stmt{}, sql.ErrConnDone
	}
	st, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		return Stmt{}, err
	}
	p.byQ.Store(query, st)
	return Stmt{prepared: st}, nil
}

func (p *statements) close() {
	p.turn <- struct{}{}
	defer func() { <-p.turn }()
	p.done = true
	p.byQ.Range(func(q, st any) bool {
		_ = st.(*sql.Stmt).Close()
		p.byQ.Delete(q)
		return true
	})
}

// Stmt is one of the store's statements: prepared, or run by its text on
// the pool.
type Stmt struct {
	prepared *sql.Stmt // nil: run query on db
	db       *sql.DB
	query    string
}

func (s Stmt) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	if s.prepared != nil {
		return s.prepared.ExecContext(ctx, args...)
	}
	return s.db.ExecContext(ctx, s.query, args...)
}

func (s Stmt) QueryContext(ctx context.Context, args ...any) (*sql.Rows, error) {
	if s.prepared != nil {
		return s.prepared.QueryContext(ctx, args...)
	}
	return s.db.QueryContext(ctx, s.query, args...)
}

func (s Stmt) QueryRowContext(ctx context.Context, args ...any) *sql.Row {
	if s.prepared != nil {
		return s.prepared.QueryRowContext(ctx, args...)
	}
	return s.db.QueryRowContext(ctx, s.query, args...)
}

// InTx returns the statement bound to tx.
func (s Stmt) InTx(ctx context.Context, tx *sql.Tx) Runner {
	if s.prepared != nil {
		return tx.StmtContext(ctx, s.prepared)
	}
	return txText{tx, s.query}
}

// txText runs a statement by its text in a transaction.
type txText struct {
	tx    *sql.Tx
	query string
}

func (t txText) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.query, args...)
}

func (t txText) QueryContext(ctx context.Context, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, t.query, args...)
}

func (t txText) QueryRowContext(ctx context.Context, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.query, args...)
}
