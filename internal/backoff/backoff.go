// Package backoff holds the waits of this module's loops that retry or
// repeat work: a sleep that ends with its context, and jitter, so that
// replicas that failed together do not come back together.
package backoff

import (
	"context"
	"math"
	"time"
)

// Sleep waits d, or reports false if ctx ends first.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Jitter scales d by a factor in [1-fraction, 1+fraction), chosen by r,
// uniform in [0, 1) (rand.Float64, or a test's). The result is at least a
// nanosecond and at most the longest Duration: d is a float64 so that a
// backoff that doubles it cannot overflow before it is capped here.
func Jitter(d, fraction, r float64) time.Duration {
	w := d * (1 + fraction*(2*r-1))
	switch {
	case w >= math.MaxInt64:
		return math.MaxInt64
	case w < 1:
		return 1
	}
	return time.Duration(w)
}
