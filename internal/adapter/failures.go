package adapter

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// storeFailureEvery is how often, at most, an adapter logs that its store
// failed: an outage fails every request, and one line a second with a count
// says as much as thousands.
const storeFailureEvery = time.Second

// failureLog rate-limits an adapter's store-failure lines.
type failureLog struct {
	last       atomic.Int64 // unix nanoseconds of the last line
	suppressed atomic.Int64 // failures since, not logged
}

// StoreFailed logs that the store failed while doing what (an operation,
// never a session id), at most once a second; the line counts the failures
// left unlogged since the previous one. Every path on which an adapter
// answers 503 reports its failure here.
func (c *Core) StoreFailed(ctx context.Context, what string, err error) {
	now := time.Now().UnixNano()
	last := c.failures.last.Load()
	if now-last < int64(storeFailureEvery) || !c.failures.last.CompareAndSwap(last, now) {
		c.failures.suppressed.Add(1)
		return
	}
	attrs := []slog.Attr{slog.String("error", err.Error())}
	if n := c.failures.suppressed.Swap(0); n > 0 {
		attrs = append(attrs, slog.Int64("failures_not_logged", n))
	}
	c.logger.LogAttrs(ctx, slog.LevelWarn, c.name+": the session store failed "+what, attrs...)
}
