package janitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/backoff"
	"github.com/mcpsession/mcpsession/internal/optional"
)

// maxBackoffShift caps the backoff after failed sweeps at
// interval * 2^maxBackoffShift, that is 8 intervals.
const maxBackoffShift = 3

// A Janitor removes expired sessions from a Cleaner: periodically while Run
// runs, and on demand with Sweep. Sweeps of one Janitor never overlap. A
// Janitor is safe for concurrent use.
type Janitor struct {
	cleaner  mcpsession.Cleaner
	ttl      time.Duration
	interval time.Duration
	jitter   float64
	logger   *slog.Logger
	onSweep  func(SweepResult)
	rand     func() float64
	sweepers []func(ctx context.Context) (int64, error)

	// turn holds a token while a sweep runs; it is a mutex that a waiter
	// can give up on when its context ends.
	turn    chan struct{}
	running atomic.Bool // Run is running
}

// New returns a Janitor that sweeps c: its sessions with c.Cleanup and,
// when c is also an mcpsession.HandleCleaner (as sqlstore's Store is), its
// expired state handles with c.CleanupHandles after that, then each sweep
// WithSweeper gave. The ttl it passes to c.Cleanup is the one WithTTL sets
// or else, when c has an IdleTimeout() time.Duration method that returns a
// positive duration (as sqlstore's Store does), that idle timeout. With
// neither, or with a bad option, New returns an error matching
// mcpsession.ErrInvalidOption. New starts nothing: call Run.
func New(c mcpsession.Cleaner, opts ...Option) (*Janitor, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: janitor.New: nil Cleaner", mcpsession.ErrInvalidOption)
	}
	cfg := defaultConfig()
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: janitor.New: option %d is nil", mcpsession.ErrInvalidOption, i)
		}
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.ttl == 0 {
		if it, ok := c.(optional.IdleTimeouter); ok {
			if d := it.IdleTimeout(); d > 0 {
				if d < minTTL {
					return nil, fmt.Errorf("%w: janitor.New: the cleaner's idle timeout %v is under one millisecond: %w", mcpsession.ErrInvalidOption, d, mcpsession.ErrInvalidArgument)
				}
				cfg.ttl = d
			}
		}
	}
	if cfg.ttl == 0 {
		return nil, errNoTTL
	}
	return &Janitor{
		cleaner:  c,
		ttl:      cfg.ttl,
		interval: cfg.interval,
		jitter:   cfg.jitter,
		logger:   cfg.logger,
		onSweep:  cfg.onSweep,
		rand:     cfg.rand,
		sweepers: cfg.sweepers,
		turn:     make(chan struct{}, 1),
	}, nil
}

// Run sweeps until ctx ends, then returns nil. The first sweep starts one
// interval after Run starts, and each later one one interval after the
// previous sweep ended; every wait is jittered by 10%. A sweep that
// Sweep started in the meantime is waited for, never overlapped.
//
// A failed sweep is logged and reported to the OnSweep callback, and Run
// carries on, backing off while failures continue: after k consecutive
// failures the wait is interval * 2^(k-1), at most 8 intervals. A successful
// sweep resets the wait to one interval. A sweep skipped because Cleanup
// returned an error matching mcpsession.ErrCleanupInProgress (another
// replica is sweeping the same database) is neither: it is reported with
// Skipped set and leaves the wait as it was.
//
// A sweep in flight when ctx ends runs with ctx, so it is cancelled; it is
// still reported, and Run returns nil. Run returns an error at once if
// another Run of j has not returned.
func (j *Janitor) Run(ctx context.Context) error {
	if !j.running.CompareAndSwap(false, true) {
		return errRunning
	}
	defer j.running.Store(false)

	failures := 0
	wait := j.nextWait(failures)
	for {
		if !backoff.Sleep(ctx, wait) {
			return nil
		}
		res, ok, _ := j.sweep(ctx)
		if !ok {
			return nil
		}
		switch {
		case res.Err != nil:
			failures++
		case !res.Skipped:
			failures = 0
		}
		wait = j.nextWait(failures)
		j.log(ctx, res, failures, wait)
		j.report(res)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// Sweep removes the expired sessions now and returns how many it removed.
// If another sweep of j is running, Sweep waits for it to end first, and
// returns ctx.Err() if ctx ends while it waits (or had ended before).
//
// Sweep returns Cleanup's error as it is. When that error matches
// mcpsession.ErrCleanupInProgress, another replica is sweeping the same
// database and nothing was removed; Run and the OnSweep callback count that
// as a skipped sweep (Skipped set, Err nil), not a failure, but Sweep still
// returns the error so the caller can tell that it did nothing.
//
// Sweeps started with Sweep do not change Run's backoff.
func (j *Janitor) Sweep(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	res, ok, err := j.sweep(ctx)
	if !ok {
		return 0, ctx.Err()
	}
	j.log(ctx, res, 0, 0)
	j.report(res)
	return res.Removed, err
}

// sweep waits for its turn and runs one Cleanup. It returns what the sweep
// did and Cleanup's error as it was, or ok false (without sweeping) if ctx
// ended first.
func (j *Janitor) sweep(ctx context.Context) (res SweepResult, ok bool, err error) {
	if !j.acquire(ctx) {
		return SweepResult{}, false, nil
	}
	defer j.release() // also when Cleanup panics
	if ctx.Err() != nil {
		// The turn and the end of ctx came together; do not start a sweep
		// that would only be cancelled.
		return SweepResult{}, false, nil
	}
	start := time.Now()
	n, err := j.cleaner.Cleanup(ctx, j.ttl)
	res = SweepResult{Start: start, TTL: j.ttl, Removed: n}
	if hc, ok := j.cleaner.(mcpsession.HandleCleaner); ok && err == nil {
		res.RemovedHandles, err = hc.CleanupHandles(ctx)
	}
	for _, s := range j.sweepers {
		if err != nil {
			break
		}
		var n int64
		n, err = s(ctx)
		res.RemovedOther += n
	}
	res.Duration = time.Since(start)
	switch {
	case err == nil:
	case errors.Is(err, mcpsession.ErrCleanupInProgress):
		res.Skipped = true
	default:
		res.Err = err
	}
	return res, true, err
}

// acquire takes the turn, waiting for a running sweep to release it, and
// reports false if ctx ended first. When both are ready, either may win:
// sweep checks ctx again once it has the turn.
func (j *Janitor) acquire(ctx context.Context) bool {
	select {
	case j.turn <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (j *Janitor) release() { <-j.turn }

// nextWait returns the jittered wait before the next sweep after the given
// number of consecutive failed sweeps.
func (j *Janitor) nextWait(failures int) time.Duration {
	base := float64(j.interval) // an interval of centuries, times 8, is capped by Jitter
	if failures > 1 {
		base *= math.Exp2(float64(min(failures-1, maxBackoffShift)))
	}
	return backoff.Jitter(base, j.jitter, j.rand())
}

func (j *Janitor) report(res SweepResult) {
	if j.onSweep != nil {
		j.onSweep(res)
	}
}
