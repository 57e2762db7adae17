package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"time"

	"github.com/mcpsession/mcpsession/internal/driver"
	"github.com/mcpsession/mcpsession/internal/executor"
)

// records is one table of records as the store works on it: sessions keyed
// by id, handles keyed by (handle, principal). Each behaviour of the store
// (create, read, merge, touch, delete, read-modify-write, sweep) is stated
// once here, over the table's statements; Store's session and handle
// methods validate their arguments and name their key.
type records struct {
	s        *Store
	q        driver.Records
	notFound error // mcpsession.ErrNotFound, or mcpsession.ErrHandleNotFound

	// Operation names for errors: "create session", "create handle"...
	opCreate, opGet, opUpdate, opTouch, opDelete, opModify, opCleanup string

	// idle and lifetime are the expiry limits as statement parameters:
	// whole milliseconds, 0 for none, boxed once rather than on every
	// call.
	idle, lifetime     any
	idleMs, lifetimeMs int64
}

func newRecords(s *Store, q driver.Records, kind string, notFound error, idle, lifetime time.Duration) *records {
	return &records{
		s: s, q: q, notFound: notFound,
		opCreate: "create " + kind, opGet: "get " + kind, opUpdate: "update " + kind,
		opTouch: "touch " + kind, opDelete: "delete " + kind, opModify: "modify " + kind, opCleanup: "cleanup " + kind + "s",
		idle: idle.Milliseconds(), lifetime: lifetime.Milliseconds(),
		idleMs: idle.Milliseconds(), lifetimeMs: lifetime.Milliseconds(),
	}
}

// args returns key followed by extra, as statement parameters.
func args(key []any, extra ...any) []any {
	return append(append(make([]any, 0, len(key)+len(extra)), key...), extra...)
}

// create inserts a record with the encoded document doc and reports
// whether it did: false means a live record has the key.
func (r *records) create(ctx context.Context, key []any, doc string) (bool, error) {
	n, err := r.s.x.Write(ctx, r.opCreate, r.q.Create, args(key, doc, r.idle, r.lifetime)...)
	if err != nil {
		return false, r.s.x.Wrap(ctx, r.opCreate, err)
	}
	return n > 0, nil
}

// get returns the document of a live record, in a fresh map.
func (r *records) get(ctx context.Context, key []any) (map[string]any, error) {
	if err := executor.CheckNotInModify(r.opGet); err != nil {
		return nil, err
	}
	st, err := r.s.x.Stmt(ctx, r.q.Get)
	if err != nil {
		return nil, r.s.x.Wrap(ctx, r.opGet, err)
	}
	rows, err := r.s.queryRetry(ctx, st, args(key, r.idle, r.lifetime)...)
	if err != nil {
		return nil, r.s.x.Wrap(ctx, r.opGet, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, r.s.x.Wrap(ctx, r.opGet, err)
		}
		return nil, r.notFound
	}
	// RawBytes points into the driver's buffer: decoding straight from it
	// saves copying the document.
	var doc sql.RawBytes
	if err := rows.Scan(&doc); err != nil {
		return nil, r.s.x.Wrap(ctx, r.opGet, err)
	}
	m, err := decodeMetadata(doc)
	if err != nil {
		return nil, r.s.x.Wrap(ctx, r.opGet, err)
	}
	return m, nil
}

// getTTL returns the document of a live record and how long it has left
// to live as the database's clock measures it (math.MaxInt64 when it never
// expires).
func (r *records) getTTL(ctx context.Context, key []any) (map[string]any, time.Duration, error) {
	if err := executor.CheckNotInModify(r.opGet); err != nil {
		return nil, 0, err
	}
	st, err := r.s.x.Stmt(ctx, r.q.GetTTL)
	if err != nil {
		return nil, 0, r.s.x.Wrap(ctx, r.opGet, err)
	}
	rows, err := r.s.queryRetry(ctx, st, args(key, r.idle, r.lifetime)...)
	if err != nil {
		return nil, 0, r.s.x.Wrap(ctx, r.opGet, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, 0, r.s.x.Wrap(ctx, r.opGet, err)
		}
		return nil, 0, r.notFound
	}
	var doc sql.RawBytes
	var ms int64
	if err := rows.Scan(&doc, &ms); err != nil {
		return nil, 0, r.s.x.Wrap(ctx, r.opGet, err)
	}
	m, err := decodeMetadata(doc)
	if err != nil {
		return nil, 0, r.s.x.Wrap(ctx, r.opGet, err)
	}
	left := time.Duration(math.MaxInt64)
	if ms < driver.NoExpiry {
		left = time.Duration(max(ms, 0)) * time.Millisecond
	}
	return m, left, nil
}

// update merges the encoded patch into a live record's document.
func (r *records) update(ctx context.Context, key []any, patch string) error {
	n, err := r.s.execRetry(ctx, r.opUpdate, r.q.Update, args(key, patch, r.idle, r.lifetime)...)
	if err != nil {
		return r.s.x.Wrap(ctx, r.opUpdate, err)
	}
	if n == 0 {
		return r.notFound
	}
	return nil
}

// touch marks a live record as used now.
func (r *records) touch(ctx context.Context, key []any) error {
	n, err := r.s.execRetry(ctx, r.opTouch, r.q.Touch, args(key, r.idle, r.lifetime)...)
	if err != nil {
		return r.s.x.Wrap(ctx, r.opTouch, err)
	}
	if n == 0 {
		return r.notFound
	}
	return nil
}

// delete removes the record, if there is one.
func (r *records) delete(ctx context.Context, key []any) error {
	if _, err := r.s.execRetry(ctx, r.opDelete, r.q.Delete, key...); err != nil {
		return r.s.x.Wrap(ctx, r.opDelete, err)
	}
	return nil
}

// modify runs a read-modify-write of a live record's document in one
// transaction holding the row's lock; see Store.Modify.
func (r *records) modify(ctx context.Context, key []any, fn func(map[string]any) (map[string]any, error)) error {
	if err := executor.CheckNotInModify(r.opModify); err != nil {
		return err
	}
	s := r.s
	// Prepared before the transaction takes a connection: preparing needs
	// one of its own, and a pool full of waiting transactions has none.
	lock, err := s.x.Stmt(ctx, r.q.Lock)
	if err != nil {
		return r.s.x.Wrap(ctx, r.opModify+": lock", err)
	}
	replace, err := s.x.Stmt(ctx, r.q.Replace)
	if err != nil {
		return r.s.x.Wrap(ctx, r.opModify+": write", err)
	}
	unlock, err := s.x.LockWriter(ctx)
	if err != nil {
		return r.s.x.Wrap(ctx, r.opModify, err)
	}
	defer unlock()

	tx, err := s.x.DB().BeginTx(ctx, nil)
	if err != nil {
		return r.s.x.Wrap(ctx, r.opModify+": begin", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	var doc []byte
	if err := lock.InTx(ctx, tx).QueryRowContext(ctx, args(key, r.idle, r.lifetime)...).Scan(&doc); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return r.notFound
		}
		return r.s.x.Wrap(ctx, r.opModify+": lock", err)
	}
	m, err := decodeMetadata(doc)
	if err != nil {
		return r.s.x.Wrap(ctx, r.opModify, err)
	}
	out, err := executor.RunModifyFn(fn, m)
	if err != nil {
		return err
	}
	newDoc, err := encodeMetadata(out, s.cfg.maxMetadataBytes)
	if err != nil {
		return err
	}
	if _, err := replace.InTx(ctx, tx).ExecContext(ctx, args(key, newDoc)...); err != nil {
		return r.s.x.Wrap(ctx, r.opModify+": write", err)
	}
	if err := tx.Commit(); err != nil {
		return r.s.x.Wrap(ctx, r.opModify+": commit", err)
	}
	return nil
}

// sweep deletes the records idle for more than idleMs and, with a max
// lifetime, those older than it; see Store.Cleanup. beforeBatch runs before
// each batch (renewing the cleanup lease) and stops the sweep if it fails.
// raised is how many live records had their updated_floor raised.
func (r *records) sweep(ctx context.Context, idleMs int64, beforeBatch func(context.Context) error) (removed, raised int64, err error) {
	removed, raised, err = r.deleteIdle(ctx, idleMs, beforeBatch)
	if err == nil && r.lifetimeMs > 0 {
		var n int64
		n, err = r.deleteExpired(ctx, r.q.CleanupLifetime, r.lifetimeMs, beforeBatch)
		removed += n
	}
	return removed, raised, err
}

// deleteIdle walks the updated_floor index below the cutoff in rounds of
// one window each (see driver.Records): the live records in it get their
// updated_floor raised to updated_at, which takes them out of the walk
// until they have been idle for idleMs again, and the expired ones are
// deleted. A round that affects fewer rows than the batch has emptied the
// window. Every row read is raised or deleted, so no sweep reads a live
// record twice, and each reads at most a batch of rows per statement.
func (r *records) deleteIdle(ctx context.Context, idleMs int64, beforeBatch func(context.Context) error) (removed, raised int64, err error) {
	batch := int64(r.s.cfg.cleanupBatchSize)
	for {
		if err := beforeBatch(ctx); err != nil {
			return removed, raised, err
		}
		up, err := r.s.x.Write(ctx, r.opCleanup, r.q.RaiseFloor, idleMs, batch)
		raised += up
		if err != nil {
			return removed, raised, r.s.x.Wrap(ctx, r.opCleanup, err)
		}
		n, err := r.s.x.Write(ctx, r.opCleanup, r.q.CleanupIdle, idleMs, batch)
		removed += n
		if err != nil {
			return removed, raised, r.s.x.Wrap(ctx, r.opCleanup, err)
		}
		if up+n < batch {
			return removed, raised, nil
		}
	}
}

// deleteExpired runs one cleanup statement in batches until one comes back
// short.
func (r *records) deleteExpired(ctx context.Context, query string, olderThanMs int64, beforeBatch func(context.Context) error) (int64, error) {
	var total int64
	batch := int64(r.s.cfg.cleanupBatchSize)
	for {
		if err := beforeBatch(ctx); err != nil {
			return total, err
		}
		n, err := r.s.x.Write(ctx, r.opCleanup, query, olderThanMs, batch)
		total += n
		if err != nil {
			return total, r.s.x.Wrap(ctx, r.opCleanup, err)
		}
		if n < batch {
			return total, nil
		}
	}
}
