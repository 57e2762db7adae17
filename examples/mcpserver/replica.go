package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/cache"
	"github.com/mcpsession/mcpsession/dialects"
	"github.com/mcpsession/mcpsession/dialects/postgres"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/eventstore"
	"github.com/mcpsession/mcpsession/janitor"
	"github.com/mcpsession/mcpsession/requeststate"
	"github.com/mcpsession/mcpsession/sqlstore"
	"github.com/mcpsession/mcpsession/tasks"
)

// sdks are the values of -sdk: the MCP SDK a replica serves with, each
// wired in a file of its own. The tools and everything else are the same.
var sdks = map[string]func(mcpsession.Store, replicaConfig) (http.Handler, func(context.Context) error, error){
	"mcp-go": withMCPGo,
	"go-sdk": withGoSDK,
}

// sdkNames lists the values of -sdk, sorted.
func sdkNames() []string {
	names := make([]string, 0, len(sdks))
	for n := range sdks {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// replica is one server of the service: everything but the listener. Tests
// run two in one process, each over a store of its own on one database. A
// -memory replica (memory.go) has no store, janitor, bus or cache.
type replica struct {
	store   *sqlstore.Store
	janitor *janitor.Janitor
	// bus carries the sessions' streams and server-to-client messages to
	// the other replicas (and, with the cache, its invalidations); the
	// caller runs it (Run) beside the server.
	bus *bus.Bus
	// cache is the read cache over store, with -cache; nil without.
	cache cache.Store
	// handler serves the MCP endpoint.
	handler http.Handler
	// shutdown ends the SDK's sessions in this replica's memory and their
	// streams (and shuts replicaConfig.httpServer down, when set); the
	// sessions stay in the database.
	shutdown func(context.Context) error
}

type replicaConfig struct {
	sdk         string // a key of sdks
	dsn         string
	idleTimeout time.Duration
	// withCache puts package cache in front of the store: the session
	// read of every request comes from memory while the bus keeps it
	// coherent.
	withCache bool
	// stateTTL and stateRotation configure the Sealer of confirm's
	// requestState (0: requeststate's defaults).
	stateTTL, stateRotation time.Duration
	// busPoll, when set, is the bus's poll interval (tests shorten it).
	busPoll time.Duration
	// taskLease, when set, is how long a task stays leased to the replica
	// running it without a renewal (tasks.WithLease).
	taskLease time.Duration
	logger    *slog.Logger
	// httpServer, when set, is the server the handler runs in, which
	// shutdown then shuts down.
	httpServer *http.Server

	// Set by newReplica for the SDK's file: the bus between the replicas
	// and the event store of the sessions' streams, both over the store's
	// database.
	bus    *bus.Bus
	events *eventstore.Store
	// tasks keeps the research tool's tasks, with -sdk mcp-go; nil with
	// go-sdk, which has no tasks.
	tasks *tasks.Store
	// sealer seals and opens confirm's requestState, its keys in the
	// store's database.
	sealer *requeststate.Sealer
}

// dialectFor returns the dialect of a -db DSN: SQLite for sqlite:PATH and
// sqlite::memory:, Postgres for any other, whose Open refuses a DSN it
// cannot read.
func dialectFor(dsn string) dialects.Dialect {
	if strings.HasPrefix(dsn, "sqlite:") {
		return sqlite.Dialect()
	}
	return postgres.Dialect()
}

// newReplica opens and migrates the database and builds the MCP server over
// it. The caller runs the janitor and the bus and, when done, calls
// shutdown, stops the bus and closes the store.
func newReplica(ctx context.Context, cfg replicaConfig) (*replica, error) {
	build, ok := sdks[cfg.sdk]
	if !ok {
		return nil, fmt.Errorf("unknown SDK %q (want one of %q)", cfg.sdk, sdkNames())
	}
	store, err := sqlstore.Open(ctx, dialectFor(cfg.dsn), cfg.dsn,
		sqlstore.WithAutoMigrate(),
		sqlstore.WithIdleTimeout(cfg.idleTimeout),
		sqlstore.WithHandleIdleTimeout(cfg.idleTimeout), // counter's handles: the same bounded lifetime
		sqlstore.WithLogger(cfg.logger))
	if err != nil {
		return nil, err
	}
	if cfg.sealer, err = newSealer(ctx, store, cfg.stateTTL, cfg.stateRotation); err != nil {
		_ = store.Close()
		return nil, fmt.Errorf("requeststate: %w", err)
	}
	// The bus and the event store live in the store's database: nothing
	// else to run or reach. On Postgres the bus LISTENs (a connection of
	// the store's pool); on SQLite it polls.
	busOpts := []bus.Option{bus.WithLogger(cfg.logger)}
	if cfg.busPoll > 0 {
		busOpts = append(busOpts, bus.WithPollInterval(cfg.busPoll))
	}
	if cfg.bus, err = bus.New(store, busOpts...); err != nil {
		_ = store.Close()
		return nil, fmt.Errorf("bus: %w", err)
	}
	if cfg.events, err = eventstore.New(store); err != nil {
		_ = store.Close()
		return nil, fmt.Errorf("event store: %w", err)
	}
	// The janitor also deletes used requestStates and retired keys
	// (Sealer.Sweep), and, with tasks, expired tasks.
	jopts := []janitor.Option{janitor.WithLogger(cfg.logger), janitor.WithInterval(min(time.Minute, cfg.idleTimeout)),
		janitor.WithSweeper(cfg.sealer.Sweep)}
	if cfg.sdk == "mcp-go" {
		if cfg.tasks, err = newTaskStore(store, cfg); err != nil {
			_ = store.Close()
			return nil, err
		}
		jopts = append(jopts, janitor.WithSweeper(cfg.tasks.Sweep)) // after the sessions and handles
	}
	// The janitor's ttl is the store's idle timeout; sweeping more often
	// than the timeout would find nothing new, and less often than the
	// janitor's default minute would leave expired rows longer.
	j, err := janitor.New(store, jopts...)
	if err != nil {
		_ = store.Close()
		return nil, fmt.Errorf("janitor: %w", err)
	}
	var sessions mcpsession.Store = store
	var c cache.Store
	if cfg.withCache {
		if c, err = cache.New(store, cfg.bus, cache.WithLogger(cfg.logger)); err != nil {
			_ = store.Close()
			return nil, fmt.Errorf("cache: %w", err)
		}
		sessions = c
	}
	handler, shutdown, err := build(sessions, cfg)
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	if c != nil {
		sdkShutdown := shutdown
		shutdown = func(ctx context.Context) error {
			err := sdkShutdown(ctx)
			_ = c.Close() // sends the invalidations still pending
			return err
		}
	}
	return &replica{store: store, janitor: j, bus: cfg.bus, cache: c, handler: handler, shutdown: shutdown}, nil
}
