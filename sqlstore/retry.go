package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/backoff"
	"github.com/mcpsession/mcpsession/internal/driver"
	"github.com/mcpsession/mcpsession/internal/executor"
)

// firstBackoff is the longest wait before the first retry; each later
// retry may wait twice as long as the one before, up to the policy's
// maximum.
const firstBackoff = 10 * time.Millisecond

// retryPolicy is what WithRetry set; attempts 0 means no retry.
type retryPolicy struct {
	attempts   int
	maxBackoff time.Duration
}

// WithRetry retries the calls that are safe to repeat, Get, Touch, Delete
// and Update (a merge: applying the same patch twice leaves the same
// session), when they fail with an error matching mcpsession.ErrUnavailable
// (the server unreachable, restarting, failing over) or a server's
// mcpsession.ErrReadOnly (a connection that reached a standby). attempts
// counts every call in all, the first included: 2 to 100. Before each retry
// the call waits a random time up to a backoff that starts at 10 ms and
// doubles up to maxBackoff (at least 1 ms).
//
// The caller's context bounds it all: a retry whose wait would end after
// the context's deadline is not made, and the last error is returned at
// once; a context that ends during a wait stops it, and the error then
// matches ctx.Err() as well as the last failure. Without a deadline on the
// context, attempts alone bounds the retries.
//
// Create and Modify are never retried: a Create or a Modify cut off by a
// broken connection may have committed, and repeating it is the caller's
// decision (see mcpsession.ErrUnavailable). Without WithRetry, no call is
// retried.
func WithRetry(attempts int, maxBackoff time.Duration) Option {
	return optionFunc(func(c *config) error {
		if attempts < 2 || attempts > 100 {
			return fmt.Errorf("%w: sqlstore.WithRetry(%d, %v): attempts must be between 2 and 100", mcpsession.ErrInvalidOption, attempts, maxBackoff)
		}
		if maxBackoff < time.Millisecond {
			return fmt.Errorf("%w: sqlstore.WithRetry(%d, %v): maxBackoff must be at least 1ms", mcpsession.ErrInvalidOption, attempts, maxBackoff)
		}
		c.retry = retryPolicy{attempts: attempts, maxBackoff: maxBackoff}
		return nil
	})
}

// retryable reports whether an idempotent call that failed with err, a
// database error as the driver returned it, may be tried again.
func (s *Store) retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	switch s.x.Driver().ClassifyError(err) {
	case driver.ErrorUnavailable, driver.ErrorReadOnly:
		return true
	}
	return false
}

// execRetry is exec for an idempotent statement, retried as the store's
// retry policy says. The error is the last attempt's, as exec returns it.
func (s *Store) execRetry(ctx context.Context, op, query string, args ...any) (int64, error) {
	var n int64
	err := s.withRetry(ctx, func() (err error) {
		n, err = s.x.Write(ctx, op, query, args...)
		return err
	})
	return n, err
}

// queryRetry runs a read, retried as the store's retry policy says.
func (s *Store) queryRetry(ctx context.Context, st executor.Stmt, args ...any) (*sql.Rows, error) {
	var rows *sql.Rows
	err := s.withRetry(ctx, func() (err error) {
		rows, err = st.QueryContext(ctx, args...)
		return err
	})
	return rows, err
}

// withRetry runs call, and runs it again while it fails with an error worth
// retrying, as the store's retry policy says.
func (s *Store) withRetry(ctx context.Context, call func() error) error {
	p := s.cfg.retry
	err := call()
	if p.attempts < 2 {
		return err
	}
	delay := min(firstBackoff, p.maxBackoff)
	for attempt := 2; err != nil && attempt <= p.attempts && s.retryable(ctx, err); attempt++ {
		// Full jitter: replicas that failed together do not come back
		// together.
		wait := time.Duration(rand.Int64N(int64(delay))) + 1
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			return err
		}
		s.cfg.logger.LogAttrs(ctx, slog.LevelDebug, "sqlstore: retrying",
			slog.Int("attempt", attempt), slog.Duration("after", wait), attrError(err))
		if !backoff.Sleep(ctx, wait) {
			return fmt.Errorf("%w (retries stopped: %w)", err, ctx.Err())
		}
		delay = min(2*delay, p.maxBackoff)
		err = call()
	}
	return err
}
