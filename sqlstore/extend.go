package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"strings"
	"time"
)

// The methods below are the seam for the packages that keep tables of
// their own beside the store's, in the same database and the same
// migrations (package eventstore, package bus): they run SQL the dialect
// wrote, with the store's write discipline and its errors, so that none of
// it is stated again elsewhere.

// ExecWrite runs one write statement in the store's turn for writes (on
// SQLite, one write at a time in the process, as the store's own) and
// returns the rows it affected. It is refused from inside a Modify
// function, as every store call is. Errors are wrapped as the store's
// own: with op, the caller's ended context, and ErrUnavailable or
// ErrReadOnly when they mean that.
func (s *Store) ExecWrite(ctx context.Context, op, query string, args ...any) (int64, error) {
	n, err := s.exec(ctx, op, query, args...)
	if err != nil {
		return 0, s.opError(ctx, op, err)
	}
	return n, nil
}

// WriteRow runs one write statement that returns a row (INSERT …
// RETURNING) in the store's turn for writes, and scans the row into dest.
// A statement that returns no row is an error matching sql.ErrNoRows,
// unwrapped. Other errors are wrapped as ExecWrite's.
func (s *Store) WriteRow(ctx context.Context, op, query string, args []any, dest ...any) error {
	if err := checkNotInModify(op); err != nil {
		return err
	}
	unlock, err := s.lockWriter(ctx)
	if err != nil {
		return s.opError(ctx, op, err)
	}
	defer unlock()
	st, err := s.stmts.get(ctx, query)
	if err != nil {
		return s.opError(ctx, op, err)
	}
	if err := st.QueryRowContext(ctx, args...).Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return s.opError(ctx, op, err)
	}
	return nil
}

// WriteTx runs fn in one transaction, holding the store's turn for writes
// throughout, and commits it if fn returns nil. fn's first statement should
// write: on SQLite it then takes the database's write lock at once, instead
// of upgrading a read lock later, which fails without waiting. fn's own
// error is returned as it is, and rolls the transaction back; errors of
// beginning and committing are wrapped as ExecWrite's.
func (s *Store) WriteTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	if err := checkNotInModify(op); err != nil {
		return err
	}
	unlock, err := s.lockWriter(ctx)
	if err != nil {
		return s.opError(ctx, op, err)
	}
	defer unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.opError(ctx, op+": begin", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.opError(ctx, op+": commit", err)
	}
	return nil
}

// WrapError wraps err, returned by the database for the operation op, as
// the store wraps its own errors (see ExecWrite). A nil err is nil.
func (s *Store) WrapError(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	return s.opError(ctx, op, err)
}

// CheckCall returns an error matching mcpsession.ErrCallInModify when
// called from inside a Modify function, where any store call could wait
// for Modify's own lock; reads of the seam's packages check it first.
func (s *Store) CheckCall(op string) error { return checkNotInModify(op) }

// MaxLifetime returns the sessions' max lifetime set with WithMaxLifetime,
// or 0.
func (s *Store) MaxLifetime() time.Duration { return s.cfg.maxLifetime }

// TransactionPooled reports whether the store's connections go through a
// pooler in transaction mode (PgBouncer's pool_mode=transaction), where a
// server session lasts one transaction: as the DSN says by pgx's
// default_query_exec_mode=exec or simple_protocol, or WithTransactionPooling.
// Package bus then polls instead of LISTENing, which needs a session of its
// own.
func (s *Store) TransactionPooled() bool { return s.cfg.transactionPooling }

// transactionPooledDSN reports whether a Postgres DSN selects one of the
// exec modes a pooler in transaction mode needs.
func transactionPooledDSN(dsn string) bool {
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
