package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession/janitor"
	"github.com/mcpsession/mcpsession/mcpgo"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// replica is one server of the service: everything but the listener. Tests
// run two in one process, each over a store of its own on one database.
type replica struct {
	store      *sqlstore.Store
	sessions   *mcpgo.Sessions
	streamable *server.StreamableHTTPServer
	janitor    *janitor.Janitor
	// handler serves the MCP endpoint.
	handler http.Handler
}

type replicaConfig struct {
	dsn         string
	idleTimeout time.Duration
	logger      *slog.Logger
	// httpServer, when set, is the server the handler runs in, which
	// streamable.Shutdown then shuts down.
	httpServer *http.Server
}

// newReplica opens and migrates the database and builds the MCP server over
// it. The caller runs the janitor and, when done, calls
// streamable.Shutdown and closes the store.
func newReplica(ctx context.Context, cfg replicaConfig) (*replica, error) {
	store, err := sqlstore.Open(ctx, cfg.dsn,
		sqlstore.WithAutoMigrate(),
		sqlstore.WithIdleTimeout(cfg.idleTimeout),
		sqlstore.WithLogger(cfg.logger))
	if err != nil {
		return nil, err
	}
	r, err := build(store, cfg)
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	return r, nil
}

func build(store *sqlstore.Store, cfg replicaConfig) (*replica, error) {
	sessions, err := mcpgo.New(store, mcpgo.WithLogger(cfg.logger))
	if err != nil {
		return nil, err
	}
	// The janitor's ttl is the store's idle timeout; sweeping more often
	// than the timeout would find nothing new.
	j, err := janitor.New(store,
		janitor.WithLogger(cfg.logger),
		janitor.WithInterval(min(janitor.DefaultInterval, cfg.idleTimeout)))
	if err != nil {
		return nil, fmt.Errorf("janitor: %w", err)
	}

	mcpServer := server.NewMCPServer("mcpsession-example", "1.0.0",
		append(sessions.ServerOptions(), server.WithLogging(), server.WithToolCapabilities(false))...)
	addTools(mcpServer)

	opts := []server.StreamableHTTPOption{server.WithStreamableHTTPLogger(cfg.logger)}
	if cfg.httpServer != nil {
		opts = append(opts, server.WithStreamableHTTPServer(cfg.httpServer))
	}
	streamable := server.NewStreamableHTTPServer(mcpServer, append(opts, sessions.HTTPOptions()...)...)
	return &replica{
		store:      store,
		sessions:   sessions,
		streamable: streamable,
		janitor:    j,
		handler:    sessions.Handler(streamable),
	}, nil
}
