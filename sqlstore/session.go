package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/mcpsession/mcpsession"
)

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
	created, err := s.sessions.create(ctx, []any{id}, doc)
	if err != nil {
		return err
	}
	if !created {
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
	return s.sessions.get(ctx, []any{id})
}

// GetWithTTL is Get that also returns how long the session has left to
// live, as the database's clock measures it: the sooner of its idle and its
// max-lifetime expiry (math.MaxInt64 when the store sets neither). A cache
// in front of the store keeps what it read no longer than that, whatever
// the cache's own clock says.
func (s *Store) GetWithTTL(ctx context.Context, id string) (map[string]any, time.Duration, error) {
	if err := mcpsession.ValidateID(id); err != nil {
		return nil, 0, err
	}
	return s.sessions.getTTL(ctx, []any{id})
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
	return s.sessions.update(ctx, []any{id}, patch)
}

// Touch sets a live session's updated_at to now, which slides its idle
// expiry. A missing or expired session is an error matching
// mcpsession.ErrNotFound.
func (s *Store) Touch(ctx context.Context, id string) error {
	if err := mcpsession.ValidateID(id); err != nil {
		return err
	}
	return s.sessions.touch(ctx, []any{id})
}

// Delete removes the session. It returns nil whether or not the session
// existed.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := mcpsession.ValidateID(id); err != nil {
		return err
	}
	return s.sessions.delete(ctx, []any{id})
}

// Modify reads a live session's metadata, calls fn with it (a fresh map fn
// may change and return), and stores fn's result as the whole new metadata,
// setting updated_at to the time it writes. All of it happens in one
// transaction that holds the session's row lock (FOR UPDATE on Postgres,
// SQLite's write lock on SQLite), so concurrent Modify calls on one
// session, from any process, run one after another. Keep fn short: it runs
// while the lock is held, and it may run again if the caller retries. fn
// must not call the store: such a call fails at once with an error
// matching mcpsession.ErrCallInModify, since it could wait for this very
// lock.
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
		return fmt.Errorf("%w: Modify with a nil function", mcpsession.ErrInvalidArgument)
	}
	return s.sessions.modify(ctx, []any{id}, fn)
}
