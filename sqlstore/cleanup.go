package sqlstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/executor"
)

// Cleanup deletes the sessions whose updated_at is more than ttl ago and,
// with WithMaxLifetime, those created more than the max lifetime ago, and
// returns how many it deleted. ttl is at least a millisecond (counted in
// whole milliseconds); a smaller one is an error matching
// mcpsession.ErrInvalidArgument and deletes nothing.
//
// It deletes in batches of WithCleanupBatchSize rows, each its own
// statement walking an index oldest first, until a batch comes back short:
// its cost grows with the rows removed, not with the table, and no
// statement holds locks for long. On SQLite a write issued during a long
// cleanup waits for one batch at most.
//
// The idle sweep walks updated_floor, a lower bound of updated_at, not
// updated_at itself: writes leave updated_floor alone, so that on Postgres
// a write of a live session changes no indexed column and stays a HOT
// update. The sweep raises updated_floor to updated_at on the live
// sessions it passes (those older than ttl by updated_floor but used since),
// so each session in use costs the sweep one write about once per ttl, and
// holds that row's lock for the length of one batch statement. Cleanup
// stays exact: it deletes every session idle for longer than ttl, and only
// those, as it would by updated_at.
//
// One process at a time cleans up a store's table: Cleanup holds the
// lease "cleanup" (a row of the table mcpsession_leases, beside
// mcp_sessions) while it runs, and a Cleanup that finds it taken returns at
// once with an error matching mcpsession.ErrCleanupInProgress, having
// deleted nothing. A lease is a row, not a lock that a connection or a
// transaction holds: it keeps one sweeper at a time behind PgBouncer in
// transaction mode too, needs no connection of its own (a pool of one
// connection works), and outlives a failover. It lasts 30 s and is renewed
// between batches; a process that dies sweeping holds up the others' sweeps
// for 30 s at most.
//
// If ctx ends or a batch fails, Cleanup returns the rows deleted so far
// with the error; they stay deleted.
func (s *Store) Cleanup(ctx context.Context, ttl time.Duration) (int64, error) {
	if ttl < time.Millisecond {
		return 0, fmt.Errorf("%w: %v: must be at least 1ms", mcpsession.ErrInvalidArgument, ttl)
	}
	return s.sweep(ctx, s.sessions, ttl)
}

// CleanupHandles deletes the state handles idle for longer than the
// handle idle timeout (WithHandleIdleTimeout) and, with
// WithHandleMaxLifetime, those created longer ago than that, and returns
// how many it deleted. It works as Cleanup does, under the same lease: in
// batches walking an index, one process at a time (ErrCleanupInProgress).
func (s *Store) CleanupHandles(ctx context.Context) (int64, error) {
	return s.sweep(ctx, s.handles, s.cfg.handleIdleTimeout)
}

// sweep deletes r's records idle for longer than ttl (and past r's max
// lifetime) under the cleanup lease.
func (s *Store) sweep(ctx context.Context, r *records, ttl time.Duration) (int64, error) {
	if err := executor.CheckNotInModify(r.opCleanup); err != nil {
		return 0, err
	}
	l := &lease{s: s, name: cleanupLease, holder: rand.Text()}
	if err := l.take(ctx); err != nil {
		return 0, err
	}
	defer l.release(ctx)
	start := time.Now()
	removed, raised, err := r.sweep(ctx, ttl.Milliseconds(), l.renew)
	if removed > 0 || raised > 0 || err != nil {
		s.cfg.logger.LogAttrs(ctx, slog.LevelDebug, "sqlstore: "+r.opCleanup,
			slog.Int64("removed", removed), slog.Int64("floors_raised", raised), slog.Duration("ttl", ttl),
			slog.Duration("duration", time.Since(start)), attrError(err))
	}
	return removed, err
}

// The cleanup lease: its name, how long it lasts unless renewed, and how
// old it may get before a sweep renews it between batches.
const (
	cleanupLease      = "cleanup"
	leaseDuration     = 30 * time.Second
	leaseRenewalAfter = leaseDuration / 3
)

// lease is one holding of a lease in mcpsession_leases (see
// the driver's Statements.TakeLease).
type lease struct {
	s      *Store
	name   string
	holder string    // random, new for every holding
	taken  time.Time // when it was last taken or renewed
}

// take takes the lease, or returns an error matching
// mcpsession.ErrCleanupInProgress if somebody else holds it.
func (l *lease) take(ctx context.Context) error {
	n, err := l.s.x.Write(ctx, "cleanup: take lease", l.s.x.Statements().TakeLease, l.name, l.holder, leaseDuration.Milliseconds())
	if err != nil {
		return l.s.x.Wrap(ctx, "cleanup: take lease", err)
	}
	if n == 0 {
		return mcpsession.ErrCleanupInProgress
	}
	l.taken = time.Now()
	l.s.x.TestSignals().LeaseTaken.Fire(l.name)
	return nil
}

// renew takes the lease again once it is a third through its time. If it
// ran out and another process took it meanwhile, the sweep stops with an
// error matching mcpsession.ErrCleanupInProgress.
func (l *lease) renew(ctx context.Context) error {
	if time.Since(l.taken) < leaseRenewalAfter {
		return nil
	}
	if err := l.take(ctx); err != nil {
		if errors.Is(err, mcpsession.ErrCleanupInProgress) {
			return fmt.Errorf("%w: another process took over the sweep", err)
		}
		return err
	}
	return nil
}

// release gives the lease back, even when ctx has ended, but not waiting
// forever: a lease not given back runs out by itself.
func (l *lease) release(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := l.s.x.Write(rctx, "cleanup: release lease", l.s.x.Statements().ReleaseLease, l.name, l.holder); err != nil {
		l.s.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "sqlstore: cleanup lease not given back; it runs out by itself",
			slog.Duration("after", leaseDuration), attrError(err))
	}
}

func attrError(err error) slog.Attr {
	if err == nil {
		return slog.Attr{}
	}
	return slog.String("error", err.Error())
}
