package msgbus

import (
	"log/slog"
	"time"
)

// Config is how a Bus runs; package bus's options change Defaults.
type Config struct {
	// PollInterval is how often a Bus reads the table while no listener
	// wakes it.
	PollInterval time.Duration
	// Backstop is how often a Bus reads the table while its listener is
	// up, in case a notification was lost.
	Backstop time.Duration
	// Retention is how long messages are kept before any Bus deletes
	// them. A replica whose reader stalls for longer misses them.
	Retention time.Duration
	// GapTimeout is how long a skipped id is looked for again.
	GapTimeout time.Duration
	// MaxPayload is the largest payload Publish takes.
	MaxPayload int
	// PollOnly: never LISTEN.
	PollOnly bool
	Logger   *slog.Logger
}

// Defaults returns the Config of a Bus given no options.
func Defaults() Config {
	return Config{
		PollInterval: 100 * time.Millisecond,
		Backstop:     time.Second,
		Retention:    time.Minute,
		GapTimeout:   10 * time.Second,
		MaxPayload:   1 << 20,
		Logger:       slog.New(slog.DiscardHandler),
	}
}
