package tasks

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/mcpsession/mcpsession"
)

// Defaults.
const (
	// defaultLease is how long a task stays leased to the replica running
	// it without a renewal.
	defaultLease = 30 * time.Second

	// defaultBackstop is how often Wait reads a task again when no message
	// has woken it.
	defaultBackstop = 30 * time.Second

	// defaultMaxResultBytes is the largest result Complete takes.
	defaultMaxResultBytes = 16 << 20

	// defaultSweepBatch is how many tasks one statement of Sweep changes
	// at most.
	defaultSweepBatch = 1000

	// minLease is the shortest lease WithLease takes.
	minLease = 100 * time.Millisecond
)

// An Option configures a Store; New validates each, and refuses a bad one
// with an error matching mcpsession.ErrInvalidOption.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

type config struct {
	replica    string
	lease      time.Duration
	backstop   time.Duration
	maxResult  int
	sweepBatch int
	logger     *slog.Logger
}

func defaultConfig() config {
	return config{
		replica:    mcpsession.NewID(),
		lease:      defaultLease,
		backstop:   defaultBackstop,
		maxResult:  defaultMaxResultBytes,
		sweepBatch: defaultSweepBatch,
		logger:     slog.New(slog.DiscardHandler),
	}
}

// WithReplica names the replica (the process) whose Store this is: the
// tasks it creates are leased to that name, and RenewLeases renews the
// leases of that name. It must be unique among the replicas sharing the
// database, and follow the rule of MCP ids (1 to 255 visible ASCII
// characters). The default is random, new for every Store.
func WithReplica(name string) Option {
	return optionFunc(func(c *config) error {
		if err := mcpsession.ValidateID(name); err != nil {
			return fmt.Errorf("%w: tasks.WithReplica: %w", mcpsession.ErrInvalidOption, err)
		}
		c.replica = name
		return nil
	})
}

// WithLease sets how long a task stays leased to its replica without a
// renewal (default 30 s, at least 100 ms). A replica calls RenewLeases
// more often than that, a third of it is a good interval: once a task's
// lease has lapsed, the task has failed.
func WithLease(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d < minLease {
			return fmt.Errorf("%w: tasks.WithLease(%v): must be at least %v", mcpsession.ErrInvalidOption, d, minLease)
		}
		c.lease = d
		return nil
	})
}

// WithBackstop sets how often Wait reads the task again when no message of
// the bus has woken it (default 30 s, at least a millisecond): the latest
// a waiter learns of a change whose message was lost, for instance with
// the replica that made it.
func WithBackstop(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d < time.Millisecond {
			return fmt.Errorf("%w: tasks.WithBackstop(%v): must be at least 1ms", mcpsession.ErrInvalidOption, d)
		}
		c.backstop = d
		return nil
	})
}

// WithMaxResultBytes limits the result Complete takes to n bytes (default
// 16 MiB).
func WithMaxResultBytes(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 1 {
			return fmt.Errorf("%w: tasks.WithMaxResultBytes(%d): must be positive", mcpsession.ErrInvalidOption, n)
		}
		c.maxResult = n
		return nil
	})
}

// WithSweepBatchSize sets how many tasks one statement of Sweep deletes or
// fails at most (default 1000).
func WithSweepBatchSize(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 1 {
			return fmt.Errorf("%w: tasks.WithSweepBatchSize(%d): must be positive", mcpsession.ErrInvalidOption, n)
		}
		c.sweepBatch = n
		return nil
	})
}

// WithLogger sets where the Store logs what it cannot return: a change it
// made but could not announce on the bus. It never logs task ids, results
// or messages.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: tasks.WithLogger(nil)", mcpsession.ErrInvalidOption)
		}
		c.logger = l
		return nil
	})
}
