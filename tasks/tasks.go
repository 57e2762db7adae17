package tasks

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/bus"
	itasks "github.com/mcpsession/mcpsession/internal/tasks"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// Store keeps MCP tasks in a sqlstore.Store's database, so that every
// replica of a service answers for every task. Make one per replica, give
// it to the adapter that runs tasks, and let a janitor sweep it
// (janitor.WithSweeper(ts.Sweep)). It is safe for concurrent use.
//
// Its implementation is internal (package internal/tasks): the adapter
// creates, polls, lists, awaits and ends tasks; its users do not.
type Store itasks.Store

// An Option configures a Store; New validates each, and refuses a bad one
// with an error matching mcpsession.ErrInvalidOption.
type Option interface {
	option() itasks.Option
}

type option struct{ o itasks.Option }

func (o option) option() itasks.Option { return o.o }

// WithReplica names the replica (the process) whose Store this is: the
// tasks it runs are leased to that name. It must be unique among the
// replicas sharing the database, and follow the rule of MCP ids (1 to 255
// visible ASCII characters); a pod's name will do. The default is random,
// new for every Store.
func WithReplica(name string) Option { return option{itasks.WithReplica(name)} }

// WithLease sets how long a task stays leased to the replica running it
// without a renewal (default 30 s, at least 100 ms): once a task's lease
// has lapsed, because its replica died, the task has failed, for every
// replica.
func WithLease(d time.Duration) Option { return option{itasks.WithLease(d)} }

// WithMaxResultBytes limits a task's result to n bytes (default 16 MiB).
func WithMaxResultBytes(n int) Option { return option{itasks.WithMaxResultBytes(n)} }

// WithLogger sets where the Store logs what it cannot return: a change it
// made but could not announce on the bus. It never logs task ids, results
// or messages.
func WithLogger(l *slog.Logger) Option { return option{itasks.WithLogger(l)} }

// New returns a Store over store's database, whose migrations hold its
// table. b is the replica's bus (which the caller runs): every change of a
// task is announced on it, so that a client waiting on any replica learns
// of it at once. A nil store or bus, or a bad option, is an error matching
// mcpsession.ErrInvalidOption.
func New(store *sqlstore.Store, b *bus.Bus, opts ...Option) (*Store, error) {
	inner := make([]itasks.Option, len(opts))
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: tasks.New: option %d is nil", mcpsession.ErrInvalidOption, i)
		}
		inner[i] = o.option()
	}
	ts, err := itasks.New(store, b, inner...)
	if err != nil {
		return nil, err
	}
	return (*Store)(ts), nil
}

// Sweep deletes the tasks past their ttl and writes down as failed the
// unfinished tasks whose lease lapsed, and returns how many tasks it
// changed. Give it to a janitor (janitor.WithSweeper), which runs it after
// every sweep of sessions.
func (s *Store) Sweep(ctx context.Context) (int64, error) { return (*itasks.Store)(s).Sweep(ctx) }
