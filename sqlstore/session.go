package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mcpsession/mcpsession"
)

// ErrInvalidArgument means a call was given an argument it cannot use, such
// as a nil function.
var ErrInvalidArgument = errors.New("sqlstore: invalid argument")

// Create stores a new session. nil metadata is stored as {}. If a live
// session has the id, Create returns an error matching
// mcpsession.ErrExists and leaves it untouched; an expired one not yet
// cleaned up is replaced, since Get already treats it as missing.
func (s *Store) Create(ctx context.Context, id string, metadata map[string]any) error {
	if err := mcpsession.ValidateID(id); err != nil {
		return err
	}
	doc, err := encodeMetadata(metadata, s.cfg.maxMetadataBytes)
	if err != nil {
		return err
	}
	n, err := s.exec(ctx, s.q.Create, id, doc, s.idle, s.lifetime)
	if err != nil {
		return s.opError(ctx, "create session", err)
	}
	if n == 0 {
		return mcpsession.ErrExists
	}
	return nil
}

// Get returns the metadata of a live session, in a fresh map the caller
// owns. A missing or expired session is an error matching
// mcpsession.ErrNotFound. Get never writes.
func (s *Store) Get(ctx context.Context, id string) (map[string]any, error) {
	if err := mcpsession.ValidateID(id); err != nil {
		return nil, err
	}
	st, err := s.stmts.get(ctx, s.q.Get)
	if err != nil {
		return nil, s.opError(ctx, "get session", err)
	}
	rows, err := s.queryRetry(ctx, st, id, s.idle, s.lifetime)
	if err != nil {
		return nil, s.opError(ctx, "get session", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, s.opError(ctx, "get session", err)
		}
		return nil, mcpsession.ErrNotFound
	}
	// RawBytes points into the driver's buffer: decoding straight from it
	// saves copying the document.
	var doc sql.RawBytes
	if err := rows.Scan(&doc); err != nil {
		return nil, s.opError(ctx, "get session", err)
	}
	m, err := decodeMetadata(doc)
	if err != nil {
		return nil, s.opError(ctx, "get session", err)
	}
	return m, nil
}

// Update merges metadata into a live session's metadata in one statement:
// each top-level key given replaces the stored value whole, keys not given
// stay, and a nil value is stored as null. It sets updated_at to now. A
// missing or expired session is an error matching mcpsession.ErrNotFound,
// and nothing is written.
func (s *Store) Update(ctx context.Context, id string, metadata map[string]any) error {
	if err := mcpsession.ValidateID(id); err != nil {
		return err
	}
	patch, err := encodeMetadata(metadata, s.cfg.maxMetadataBytes)
	if err != nil {
		return err
	}
	n, err := s.execRetry(ctx, s.q.Update, id, patch, s.idle, s.lifetime)
	if err != nil {
		return s.opError(ctx, "update session", err)
	}
	if n == 0 {
		return mcpsession.ErrNotFound
	}
	return nil
}

// Touch sets a live session's updated_at to now, which slides its idle
// expiry. A missing or expired session is an error matching
// mcpsession.ErrNotFound.
func (s *Store) Touch(ctx context.Context, id string) error {
	if err := mcpsession.ValidateID(id); err != nil {
		return err
	}
	n, err := s.execRetry(ctx, s.q.Touch, id, s.idle, s.lifetime)
	if err != nil {
		return s.opError(ctx, "touch session", err)
	}
	if n == 0 {
		return mcpsession.ErrNotFound
	}
	return nil
}

// Delete removes the session. It returns nil whether or not the session
// existed.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := mcpsession.ValidateID(id); err != nil {
		return err
	}
	if _, err := s.execRetry(ctx, s.q.Delete, id); err != nil {
		return s.opError(ctx, "delete session", err)
	}
	return nil
}

// Modify reads a live session's metadata, calls fn with it (a fresh map fn
// may change and return), and stores fn's result as the whole new metadata,
// setting updated_at to now. All of it happens in one transaction that
// holds the session's row lock (FOR UPDATE on Postgres, SQLite's write lock
// on SQLite), so concurrent Modify calls on one session, from any process,
// run one after another. Keep fn short: it runs while the lock is held, and
// it may run again if the caller retries.
//
// If fn returns an error, nothing is written and Modify returns that error
// unwrapped. A missing or expired session is an error matching
// mcpsession.ErrNotFound, and fn is not called. fn's result is checked as
// Create checks metadata.
func (s *Store) Modify(ctx context.Context, id string, fn func(map[string]any) (map[string]any, error)) error {
	if err := mcpsession.ValidateID(id); err != nil {
		return err
	}
	if fn == nil {
		return fmt.Errorf("%w: Modify with a nil function", ErrInvalidArgument)
	}
	// Prepared before the transaction takes a connection: preparing needs
	// one of its own, and a pool full of waiting transactions has none.
	lock, err := s.stmts.get(ctx, s.q.Lock)
	if err != nil {
		return s.opError(ctx, "modify session: lock", err)
	}
	replace, err := s.stmts.get(ctx, s.q.Replace)
	if err != nil {
		return s.opError(ctx, "modify session: write", err)
	}
	unlock, err := s.lockWriter(ctx)
	if err != nil {
		return s.opError(ctx, "modify session", err)
	}
	defer unlock()

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.opError(ctx, "modify session: begin", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	var doc []byte
	if err := lock.inTx(ctx, tx).QueryRowContext(ctx, id, s.idle, s.lifetime).Scan(&doc); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return mcpsession.ErrNotFound
		}
		return s.opError(ctx, "modify session: lock", err)
	}
	m, err := decodeMetadata(doc)
	if err != nil {
		return s.opError(ctx, "modify session", err)
	}
	out, err := fn(m)
	if err != nil {
		return err
	}
	newDoc, err := encodeMetadata(out, s.cfg.maxMetadataBytes)
	if err != nil {
		return err
	}
	if _, err := replace.inTx(ctx, tx).ExecContext(ctx, id, newDoc); err != nil {
		return s.opError(ctx, "modify session: write", err)
	}
	if err := tx.Commit(); err != nil {
		return s.opError(ctx, "modify session: commit", err)
	}
	return nil
}
