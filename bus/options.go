package bus

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/mcpsession/mcpsession"
)

// Defaults.
const (
	// defaultPollInterval is how often a Bus reads the table while no
	// listener wakes it.
	defaultPollInterval = 100 * time.Millisecond

	// defaultBackstop is how often a Bus reads the table while its
	// listener is up, in case a notification was lost.
	defaultBackstop = time.Second

	// defaultRetention is how long messages are kept before any Bus
	// deletes them. A replica whose reader stalls for longer misses them.
	defaultRetention = time.Minute

	// defaultMaxPayload is the largest payload Publish takes.
	defaultMaxPayload = 1 << 20
)

// An Option configures a Bus; New validates each.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

type config struct {
	pollInterval time.Duration
	backstop     time.Duration
	retention    time.Duration
	gapTimeout   time.Duration
	maxPayload   int
	pollOnly     bool
	logger       *slog.Logger
}

func defaultConfig() config {
	return config{
		pollInterval: defaultPollInterval,
		backstop:     defaultBackstop,
		retention:    defaultRetention,
		gapTimeout:   10 * time.Second,
		maxPayload:   defaultMaxPayload,
		logger:       slog.New(slog.DiscardHandler),
	}
}

// WithPollInterval sets how often the Bus reads the table while no listener
// wakes it (SQLite; Postgres in poll-only mode, or while its listener is
// down): the latency of a message then. d is at least a millisecond.
func WithPollInterval(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d < time.Millisecond {
			return fmt.Errorf("%w: bus.WithPollInterval(%v): must be at least 1ms", mcpsession.ErrInvalidOption, d)
		}
		c.pollInterval = d
		return nil
	})
}

// WithBackstop sets how often the Bus reads the table while its listener is
// up: the latest a message can be if its notification is lost. d is at
// least a millisecond.
func WithBackstop(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d < time.Millisecond {
			return fmt.Errorf("%w: bus.WithBackstop(%v): must be at least 1ms", mcpsession.ErrInvalidOption, d)
		}
		c.backstop = d
		return nil
	})
}

// WithRetention sets how long messages stay in the table (default
// a minute); at least a second, and longer than the longest stall a
// replica's reader may have.
func WithRetention(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d < time.Second {
			return fmt.Errorf("%w: bus.WithRetention(%v): must be at least 1s", mcpsession.ErrInvalidOption, d)
		}
		c.retention = d
		return nil
	})
}

// WithMaxPayload limits the payload Publish takes to n bytes (default
// 1 MiB).
func WithMaxPayload(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 1 {
			return fmt.Errorf("%w: bus.WithMaxPayload(%d): must be positive", mcpsession.ErrInvalidOption, n)
		}
		c.maxPayload = n
		return nil
	})
}

// WithPollOnly makes the Bus poll and never LISTEN, as it does by itself on
// SQLite and when the store's connections go through a pooler in
// transaction mode (sqlstore.WithTransactionPooling).
func WithPollOnly() Option {
	return optionFunc(func(c *config) error {
		c.pollOnly = true
		return nil
	})
}

// WithLogger sets where the Bus logs its listener's losses and recoveries
// and failed reads (rate-limited). It never logs payloads.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: bus.WithLogger(nil)", mcpsession.ErrInvalidOption)
		}
		c.logger = l
		return nil
	})
}
