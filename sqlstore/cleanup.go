package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"

	"fmt"
	"log/slog"
	"time"

	"github.com/mcpsession/mcpsession"
)

// Cleanup deletes the sessions whose updated_at is more than ttl ago and,
// with WithMaxLifetime, those created more than the max lifetime ago, and
// returns how many it deleted. ttl is at least a millisecond (counted in
// whole milliseconds); a smaller one is an error matching
// mcpsession.ErrInvalidTTL and deletes nothing.
//
// It deletes in batches of WithCleanupBatchSize rows, each its own
// statement walking the updated_at (or created_at) index oldest first,
// until a batch comes back short: its cost grows with the rows removed, not
// with the table, and no statement holds locks for long. On SQLite a write
// issued during a long cleanup waits for one batch at most.
//
// On Postgres one process at a time cleans up a store's table: Cleanup
// holds a session-level advisory lock (pg_try_advisory_lock), keyed by the
// store's schema, while it runs, and a Cleanup that finds it taken returns
// at once with an error matching mcpsession.ErrCleanupInProgress, having
// deleted nothing.
//
// If ctx ends or a batch fails, Cleanup returns the rows deleted so far
// with the error; they stay deleted.
func (s *Store) Cleanup(ctx context.Context, ttl time.Duration) (int64, error) {
	if ttl < time.Millisecond {
		return 0, fmt.Errorf("%w: %v: must be at least 1ms", mcpsession.ErrInvalidTTL, ttl)
	}
	return s.sweep(ctx, s.sessions, ttl)
}

// CleanupHandles deletes the state handles idle for longer than the
// handle idle timeout (WithHandleIdleTimeout) and, with
// WithHandleMaxLifetime, those created longer ago than that, and returns
// how many it deleted. It works as Cleanup does: in batches walking an
// index, and on Postgres one process at a time (ErrCleanupInProgress).
func (s *Store) CleanupHandles(ctx context.Context) (int64, error) {
	return s.sweep(ctx, s.handles, s.cfg.handleIdleTimeout)
}

// sweep deletes r's expired records under the cleanup lock.
func (s *Store) sweep(ctx context.Context, r *records, ttl time.Duration) (int64, error) {
	if err := checkNotInModify(r.opCleanup); err != nil {
		return 0, err
	}
	if s.q.TryCleanupLock != "" {
		release, err := s.lockCleanup(ctx)
		if err != nil {
			return 0, err
		}
		defer release()
	}
	start := time.Now()
	removed, err := r.sweep(ctx, ttl.Milliseconds())
	if removed > 0 || err != nil {
		s.cfg.logger.LogAttrs(ctx, slog.LevelDebug, "sqlstore: "+r.opCleanup,
			slog.Int64("removed", removed), slog.Duration("ttl", ttl),
			slog.Duration("duration", time.Since(start)), attrError(err))
	}
	return removed, err
}

// lockCleanup takes the database's cleanup lock on a connection of its own
// and returns the func that releases it. The lock belongs to the
// connection, so if releasing fails the connection is discarded rather than
// returned to the pool still holding it.
func (s *Store) lockCleanup(ctx context.Context) (release func(), err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, opError(ctx, "cleanup: lock", err)
	}
	var got bool
	if err := conn.QueryRowContext(ctx, s.q.TryCleanupLock).Scan(&got); err != nil {
		discard(conn)
		return nil, opError(ctx, "cleanup: lock", err)
	}
	if !got {
		_ = conn.Close()
		return nil, mcpsession.ErrCleanupInProgress
	}
	return func() {
		// Unlock even when ctx has ended, but not forever.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		var released bool
		if err := conn.QueryRowContext(uctx, s.q.CleanupUnlock).Scan(&released); err != nil || !released {
			s.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "sqlstore: cleanup lock not released; dropping its connection",
				attrError(err))
			discard(conn)
			return
		}
		_ = conn.Close()
	}, nil
}

// discard closes conn for good instead of returning it to the pool.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}

func attrError(err error) slog.Attr {
	if err == nil {
		return slog.Attr{}
	}
	return slog.String("error", err.Error())
}
