package janitor

import (
	"context"
	"log/slog"
	"time"
)

// SweepResult is what one sweep did. The OnSweep callback receives one
// after every sweep.
type SweepResult struct {
	// Start is when the sweep called Cleanup.
	Start time.Time
	// Duration is how long Cleanup took.
	Duration time.Duration
	// TTL is the ttl passed to Cleanup.
	TTL time.Duration
	// Removed is how many sessions Cleanup reports it removed.
	Removed int64
	// RemovedHandles is how many state handles CleanupHandles reports it
	// removed, when the Cleaner is an mcpsession.HandleCleaner. Handles
	// are swept after sessions, with the store's own handle idle timeout,
	// and not at all when the session sweep failed or was skipped.
	RemovedHandles int64
	// RemovedOther is how many rows the sweeps of WithSweeper report
	// they removed, together. They run after the handles, and not at all
	// when an earlier part of the sweep failed or was skipped.
	RemovedOther int64
	// Skipped is set when Cleanup returned an error matching
	// mcpsession.ErrCleanupInProgress: another replica is sweeping the
	// same database, and this sweep did nothing. Err is nil then.
	Skipped bool
	// Err is why the sweep failed, or nil. A sweep cancelled because its
	// context ended has the context's error here.
	Err error
}

// log writes one line about a sweep. For a sweep Run started, failures is
// the number of consecutive failures so far and next the wait before the
// next sweep; both are zero for a sweep Sweep started.
func (j *Janitor) log(ctx context.Context, res SweepResult, failures int, next time.Duration) {
	attrs := []slog.Attr{
		slog.Int64("removed", res.Removed),
		slog.Int64("removed_handles", res.RemovedHandles),
		slog.Int64("removed_other", res.RemovedOther),
		slog.Duration("duration", res.Duration),
		slog.Duration("ttl", res.TTL),
	}
	switch {
	case res.Err != nil && ctx.Err() != nil:
		// Shutting down, or the caller gave up: not worth a warning.
		j.logger.LogAttrs(ctx, slog.LevelDebug, "session sweep interrupted",
			append(attrs, slog.Any("error", res.Err))...)
	case res.Err != nil:
		attrs = append(attrs, slog.Any("error", res.Err))
		if next > 0 {
			attrs = append(attrs, slog.Int("consecutive_failures", failures), slog.Duration("next_wait", next))
		}
		j.logger.LogAttrs(ctx, slog.LevelWarn, "session sweep failed", attrs...)
	case res.Skipped:
		j.logger.LogAttrs(ctx, slog.LevelDebug, "session sweep skipped: another process is sweeping", attrs...)
	case res.Removed > 0 || res.RemovedHandles > 0 || res.RemovedOther > 0:
		j.logger.LogAttrs(ctx, slog.LevelInfo, "sessions swept", attrs...)
	default:
		j.logger.LogAttrs(ctx, slog.LevelDebug, "session sweep found nothing to remove", attrs...)
	}
}
