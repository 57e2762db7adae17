package eventstore

import (
	"fmt"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/events"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// Store keeps the events of sessions' SSE streams in a sqlstore.Store's
// database: one per replica, given to an adapter with the replica's bus
// (mcpgo.WithStreams, gosdk.WithStreams). It is safe for concurrent use.
//
// Its implementation is internal (package internal/events): the adapters
// append, replay and find events; their users do not.
type Store events.Store

// An Option configures a Store; New validates each.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

type config struct {
	maxEvents int64
	maxBytes  int
}

// WithMaxEvents keeps each session's newest n events (default 1000), n at
// least 1. A session that appends more loses its oldest, a batch at a time
// (up to an eighth more are kept meanwhile); a client that resumes from
// before what is kept must start over.
func WithMaxEvents(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 1 {
			return fmt.Errorf("%w: eventstore.WithMaxEvents(%d): must be positive", mcpsession.ErrInvalidOption, n)
		}
		c.maxEvents = int64(n)
		return nil
	})
}

// WithMaxEventBytes limits the data of one event, a message the server
// sends a client, to n bytes (default 1 MiB).
func WithMaxEventBytes(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 1 {
			return fmt.Errorf("%w: eventstore.WithMaxEventBytes(%d): must be positive", mcpsession.ErrInvalidOption, n)
		}
		c.maxBytes = n
		return nil
	})
}

// New returns a Store over store's database, whose migrations hold its
// tables. Streams belong to store's live sessions. A nil store or a bad
// option is an error matching mcpsession.ErrInvalidOption.
func New(store *sqlstore.Store, opts ...Option) (*Store, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: eventstore.New: nil store", mcpsession.ErrInvalidOption)
	}
	cfg := config{maxEvents: events.DefaultMaxEvents, maxBytes: events.DefaultMaxEventBytes}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: eventstore.New: option %d is nil", mcpsession.ErrInvalidOption, i)
		}
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	return (*Store)(events.New(store, cfg.maxEvents, cfg.maxBytes)), nil
}
