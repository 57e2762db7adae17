package bus

import (
	"context"
	"fmt"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/msgbus"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// A Bus carries messages between the replicas of one store's database:
// one per replica, run for as long as the replica serves, and given to
// what sends messages across replicas (cache.New, tasks.New, an adapter's
// WithStreams). It is safe for concurrent use.
//
// Its implementation is internal (package internal/msgbus): what crosses
// it is the business of the packages given it, not of their users.
type Bus msgbus.Bus

// New returns a Bus over store's database, whose migrations hold its table.
// A nil store or a bad option is an error matching
// mcpsession.ErrInvalidOption. It starts nothing: call Run.
func New(store *sqlstore.Store, opts ...Option) (*Bus, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: bus.New: nil store", mcpsession.ErrInvalidOption)
	}
	cfg := msgbus.Defaults()
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: bus.New: option %d is nil", mcpsession.ErrInvalidOption, i)
		}
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	return (*Bus)(msgbus.New(store, cfg)), nil
}

// Run reads the bus and delivers its messages until ctx ends, then returns
// nil. It LISTENs on a connection of its own where the database can
// (outside the store's pool, opened with the settings of its connections:
// one more server connection for as long as it runs), and polls. Failures
// are logged and retried; Run returns an error early only when another Run
// of b has not returned.
func (b *Bus) Run(ctx context.Context) error { return (*msgbus.Bus)(b).Run(ctx) }

// Ready returns a channel that is closed once Run has found where the bus
// stands: every message published after that is delivered. A replica that
// waits for it before it serves misses nothing its peers send it.
func (b *Bus) Ready() <-chan struct{} { return (*msgbus.Bus)(b).Ready() }
