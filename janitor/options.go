package janitor

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/mcpsession/mcpsession"
)

// The defaults New uses for the options not given.
const (
	// defaultInterval is how long the Janitor waits between sweeps.
	defaultInterval = time.Minute
	// defaultJitter is the fraction by which each wait is randomly made
	// longer or shorter, so replicas started together drift apart.
	defaultJitter = 0.1
)

// minTTL is the shortest ttl a Cleaner accepts (see mcpsession.Cleaner).
const minTTL = time.Millisecond

// An Option configures a Janitor. Options are applied by New in order (for
// an option given twice, the last one wins), and each rejects a bad argument
// with an error matching mcpsession.ErrInvalidOption, which New returns.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

// config is what the options set; New fills in the defaults and validates
// the whole once.
type config struct {
	ttl      time.Duration // 0: take the Cleaner's idle timeout
	interval time.Duration
	jitter   float64
	logger   *slog.Logger
	onSweep  func(SweepResult)
	sweepers []func(ctx context.Context) (int64, error)

	// A test seam, set only by withRand: synctest fakes time, not chance.
	rand func() float64 // uniform in [0, 1)
}

func defaultConfig() config {
	return config{
		interval: defaultInterval,
		jitter:   defaultJitter,
		logger:   slog.New(slog.DiscardHandler),
		rand:     rand.Float64,
	}
}

// WithTTL sets how long a session may stay unused before a sweep removes it.
// It overrides the idle timeout the Cleaner reports; since that timeout is
// also what the store's reads enforce, a ttl shorter than it removes
// sessions that reads would still serve. It must be at least one
// millisecond.
func WithTTL(ttl time.Duration) Option {
	return optionFunc(func(c *config) error {
		if ttl < minTTL {
			return fmt.Errorf("%w: janitor.WithTTL(%v): under one millisecond (%w)", mcpsession.ErrInvalidOption, ttl, mcpsession.ErrInvalidArgument)
		}
		c.ttl = ttl
		return nil
	})
}

// WithInterval sets the wait between the end of one sweep and the start of
// the next, before jitter and backoff. It must be positive. The default is
// a minute.
func WithInterval(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: janitor.WithInterval(%v): must be positive", mcpsession.ErrInvalidOption, d)
		}
		c.interval = d
		return nil
	})
}

// withJitter sets the fraction f by which each wait varies: a wait of d
// becomes a uniformly random duration in [d*(1-f), d*(1+f)]. It must be in
// [0, 1); 0 turns jitter off. The default is 0.1.
func withJitter(f float64) Option {
	return optionFunc(func(c *config) error {
		if !(f >= 0 && f < 1) { // also refuses NaN
			return fmt.Errorf("%w: janitor.withJitter(%v): must be in [0, 1)", mcpsession.ErrInvalidOption, f)
		}
		c.jitter = f
		return nil
	})
}

// WithLogger sets where the Janitor logs: Info for a sweep that removed
// sessions, Warn for a failed sweep, Debug for the rest. It must not be nil.
// By default the Janitor logs nothing.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: janitor.WithLogger(nil)", mcpsession.ErrInvalidOption)
		}
		c.logger = l
		return nil
	})
}

// WithOnSweep sets a function called after every sweep, from Run and from
// Sweep, with what the sweep did: the hook for metrics and tracing. It is
// called synchronously, on the goroutine that ran the sweep and after the
// sweep has released its turn, so it may call Sweep itself; if Sweep is
// called from several goroutines, fn is too. It must not be nil. A panic in
// fn is not recovered.
func WithOnSweep(fn func(SweepResult)) Option {
	return optionFunc(func(c *config) error {
		if fn == nil {
			return fmt.Errorf("%w: janitor.WithOnSweep(nil)", mcpsession.ErrInvalidOption)
		}
		c.onSweep = fn
		return nil
	})
}

// WithSweeper adds sweep to every sweep, after the sessions and handles,
// and not at all when their sweep failed or was skipped (another replica
// holds the cleanup lease, and sweeps): a function that deletes what has
// expired from tables of its own beside the store's and returns how many
// rows it deleted, such as requeststate's Sealer.Sweep or tasks'
// Store.Sweep. Given more than once, each runs, in the order given, until
// one fails; like a failed handle sweep, that fails the sweep. It must not
// be nil.
func WithSweeper(sweep func(ctx context.Context) (int64, error)) Option {
	return optionFunc(func(c *config) error {
		if sweep == nil {
			return fmt.Errorf("%w: janitor.WithSweeper(nil)", mcpsession.ErrInvalidOption)
		}
		c.sweepers = append(c.sweepers, sweep)
		return nil
	})
}

// withRand replaces the jitter's random source, which must return values
// in [0, 1).
func withRand(fn func() float64) Option {
	return optionFunc(func(c *config) error {
		c.rand = fn
		return nil
	})
}
