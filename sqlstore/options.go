package sqlstore

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/mcpsession/mcpsession"
)

// Defaults.
const (
	// defaultMaxMetadataBytes is the largest encoded metadata a call may
	// send: 1 MiB.
	defaultMaxMetadataBytes = 1 << 20

	// defaultCleanupBatchSize is how many rows one cleanup statement
	// deletes at most.
	defaultCleanupBatchSize = 2000

	// defaultHandleIdleTimeout is how long a state handle lives unused
	// when WithHandleIdleTimeout is not given: a day, SEP-2567's example
	// of a bounded lifetime for handles that are bearer tokens.
	defaultHandleIdleTimeout = 24 * time.Hour
)

// Option configures a Store. Options are validated when the Store is built.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

type config struct {
	autoMigrate      bool
	idleTimeout      time.Duration
	maxLifetime      time.Duration
	maxMetadataBytes int

	handleIdleTimeout time.Duration
	handleMaxLifetime time.Duration
	cleanupBatchSize  int
	logger            *slog.Logger
	readOnly          bool
	retry             retryPolicy

	transactionPooling bool
}

func newConfig(opts []Option) (config, error) {
	c := config{
		maxMetadataBytes: defaultMaxMetadataBytes,
		cleanupBatchSize: defaultCleanupBatchSize,
		logger:           slog.New(slog.DiscardHandler),

		handleIdleTimeout: defaultHandleIdleTimeout,
	}
	for _, o := range opts {
		if o == nil {
			return config{}, fmt.Errorf("%w: sqlstore.New: nil Option", mcpsession.ErrInvalidOption)
		}
		if err := o.apply(&c); err != nil {
			return config{}, err
		}
	}
	if c.readOnly && c.autoMigrate {
		return config{}, fmt.Errorf("%w: sqlstore.WithReadOnly and WithAutoMigrate: a read-only store cannot migrate its schema", mcpsession.ErrInvalidOption)
	}
	return c, nil
}

// WithAutoMigrate applies the embedded migrations (package migrations) when
// the Store is built: with Open's context, or with none for New (call
// migrations.Up yourself to bound it). Without it the schema must already be
// in place, and the store needs no right beyond SELECT, INSERT, UPDATE and
// DELETE on mcp_sessions.
func WithAutoMigrate() Option {
	return optionFunc(func(c *config) error {
		c.autoMigrate = true
		return nil
	})
}

// WithIdleTimeout expires a session d after it was last created, updated or
// touched: Get, Update, Touch and Modify then treat it as missing, and
// Cleanup, given the same ttl, deletes it. d is at least a millisecond and
// is counted in whole milliseconds. A janitor built over the store uses it
// as its default TTL.
func WithIdleTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if err := checkDuration("WithIdleTimeout", d); err != nil {
			return err
		}
		c.idleTimeout = d
		return nil
	})
}

// WithMaxLifetime expires a session d after it was created, however busy it
// is; Cleanup deletes such sessions too. d is at least a millisecond and is
// counted in whole milliseconds.
func WithMaxLifetime(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if err := checkDuration("WithMaxLifetime", d); err != nil {
			return err
		}
		c.maxLifetime = d
		return nil
	})
}

// WithHandleIdleTimeout expires a state handle d after it was last
// created, updated, modified or touched: the handle methods then treat it as
// unknown, and CleanupHandles deletes it. d is at least a millisecond and
// is counted in whole milliseconds; the default is a day.
// Handles always expire when idle: an anonymous handle is a bearer token,
// and SEP-2567 requires such tokens to have a bounded lifetime.
func WithHandleIdleTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if err := checkDuration("WithHandleIdleTimeout", d); err != nil {
			return err
		}
		c.handleIdleTimeout = d
		return nil
	})
}

// WithHandleMaxLifetime expires a state handle d after it was created,
// however busy it is; CleanupHandles deletes such handles too. d is at
// least a millisecond and is counted in whole milliseconds. By default
// handles have no max lifetime.
func WithHandleMaxLifetime(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if err := checkDuration("WithHandleMaxLifetime", d); err != nil {
			return err
		}
		c.handleMaxLifetime = d
		return nil
	})
}

// WithTransactionPooling says the store's connections go through a pooler
// in transaction mode (PgBouncer's pool_mode=transaction), where a server
// session lasts one transaction, for a store from New; Open tells it from
// a Postgres DSN (default_query_exec_mode=exec or simple_protocol). A bus
// over the store then polls instead of LISTENing, which needs a session
// of its own.
func WithTransactionPooling() Option {
	return optionFunc(func(c *config) error {
		c.transactionPooling = true
		return nil
	})
}

// WithMaxMetadataBytes limits the encoded JSON metadata (or handle state)
// one call may store (Create's, Update's patch, what Modify's function
// returns, and the same for handles) to n bytes.
// Larger metadata is refused with an error matching mcpsession.ErrTooLarge.
// The default is 1 MiB.
func WithMaxMetadataBytes(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 2 {
			return fmt.Errorf("%w: sqlstore.WithMaxMetadataBytes(%d): must be at least 2, the size of {}", mcpsession.ErrInvalidOption, n)
		}
		c.maxMetadataBytes = n
		return nil
	})
}

// WithCleanupBatchSize sets how many rows one cleanup statement deletes at
// most (default 2000). Smaller batches hold locks for
// less time; on SQLite a write waits for at most one batch.
func WithCleanupBatchSize(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 1 || n > 1_000_000 {
			return fmt.Errorf("%w: sqlstore.WithCleanupBatchSize(%d): must be between 1 and 1000000", mcpsession.ErrInvalidOption, n)
		}
		c.cleanupBatchSize = n
		return nil
	})
}

// WithLogger sets where the store logs: migrations applied and cleanup
// progress. By default it logs nothing. It never logs metadata or DSN
// passwords.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: sqlstore.WithLogger(nil)", mcpsession.ErrInvalidOption)
		}
		c.logger = l
		return nil
	})
}

// WithReadOnly opens a store that only reads: Open then accepts a server
// that accepts no writes, such as a hot standby serving reads beside the
// primary, and every write of the store (Create, Update, Touch, Delete,
// Modify, Cleanup) fails at once with an error matching
// mcpsession.ErrReadOnly, before any SQL runs. Without it, Open refuses
// such a server, since every write would fail there. A standby may lag
// behind the primary: a read-only store may read a session as it was a
// moment ago, or miss one just created. It cannot be combined with
// WithAutoMigrate.
func WithReadOnly() Option {
	return optionFunc(func(c *config) error {
		c.readOnly = true
		return nil
	})
}

func checkDuration(name string, d time.Duration) error {
	if d < time.Millisecond {
		return fmt.Errorf("%w: sqlstore.%s(%v): must be at least 1ms", mcpsession.ErrInvalidOption, name, d)
	}
	return nil
}
