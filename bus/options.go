package bus

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/msgbus"
)

// An Option configures a Bus; New validates each.
type Option interface {
	apply(*msgbus.Config) error
}

type optionFunc func(*msgbus.Config) error

func (f optionFunc) apply(c *msgbus.Config) error { return f(c) }

// WithPollInterval sets how often the Bus reads the table while no listener
// wakes it (SQLite; Postgres in poll-only mode, or while its listener is
// down): the latency of a message then. d is at least a millisecond.
func WithPollInterval(d time.Duration) Option {
	return optionFunc(func(c *msgbus.Config) error {
		if d < time.Millisecond {
			return fmt.Errorf("%w: bus.WithPollInterval(%v): must be at least 1ms", mcpsession.ErrInvalidOption, d)
		}
		c.PollInterval = d
		return nil
	})
}

// WithBackstop sets how often the Bus reads the table while its listener is
// up: the latest a message can be if its notification is lost. d is at
// least a millisecond.
func WithBackstop(d time.Duration) Option {
	return optionFunc(func(c *msgbus.Config) error {
		if d < time.Millisecond {
			return fmt.Errorf("%w: bus.WithBackstop(%v): must be at least 1ms", mcpsession.ErrInvalidOption, d)
		}
		c.Backstop = d
		return nil
	})
}

// WithRetention sets how long messages stay in the table (default
// a minute); at least a second, and longer than the longest stall a
// replica's reader may have.
func WithRetention(d time.Duration) Option {
	return optionFunc(func(c *msgbus.Config) error {
		if d < time.Second {
			return fmt.Errorf("%w: bus.WithRetention(%v): must be at least 1s", mcpsession.ErrInvalidOption, d)
		}
		c.Retention = d
		return nil
	})
}

// WithMaxPayload limits the payload Publish takes to n bytes (default
// 1 MiB).
func WithMaxPayload(n int) Option {
	return optionFunc(func(c *msgbus.Config) error {
		if n < 1 {
			return fmt.Errorf("%w: bus.WithMaxPayload(%d): must be positive", mcpsession.ErrInvalidOption, n)
		}
		c.MaxPayload = n
		return nil
	})
}

// WithPollOnly makes the Bus poll and never LISTEN, as it does by itself on
// SQLite and when the store's connections go through a pooler in
// transaction mode (sqlstore.WithTransactionPooling).
func WithPollOnly() Option {
	return optionFunc(func(c *msgbus.Config) error {
		c.PollOnly = true
		return nil
	})
}

// WithLogger sets where the Bus logs its listener's losses and recoveries
// and failed reads (rate-limited). It never logs payloads.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *msgbus.Config) error {
		if l == nil {
			return fmt.Errorf("%w: bus.WithLogger(nil)", mcpsession.ErrInvalidOption)
		}
		c.Logger = l
		return nil
	})
}
