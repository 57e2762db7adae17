package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/mcpsession/mcpsession/dialects"
)

// errUsage means the command line was wrong; the flag package has printed
// why.
var errUsage = errors.New("usage")

// shutdownTimeout bounds how long a stopping server waits for requests in
// flight.
const shutdownTimeout = 10 * time.Second

type config struct {
	sdk         string
	addr        string
	db          string
	idleTimeout time.Duration
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("mcpserver", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.StringVar(&c.sdk, "sdk", "mcp-go", fmt.Sprintf("MCP SDK to serve with: %s", strings.Join(sdkNames(), " or ")))
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on (port 0 picks a free port)")
	fs.StringVar(&c.db, "db", "sqlite:mcpsessions.db", "session database: sqlite:PATH, sqlite::memory: or postgres://…")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", 30*time.Minute, "how long an unused session or state handle lives")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "mcpserver: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return c, errUsage
	}
	if _, ok := sdks[c.sdk]; !ok {
		fmt.Fprintf(os.Stderr, "mcpserver: -sdk %q: want %s\n", c.sdk, strings.Join(sdkNames(), " or "))
		return c, errUsage
	}
	if c.idleTimeout < time.Millisecond {
		fmt.Fprintf(os.Stderr, "mcpserver: -idle-timeout %v: must be at least 1ms\n", c.idleTimeout)
		return c, errUsage
	}
	return c, nil
}

// run serves MCP on the flags' address until ctx ends, then shuts down:
// open streams are closed, requests in flight get shutdownTimeout to
// finish, and the sessions stay in the database for the other replicas.
func run(ctx context.Context, args []string, logger *slog.Logger) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	r, err := newReplica(ctx, replicaConfig{
		sdk:         cfg.sdk,
		dsn:         cfg.db,
		idleTimeout: cfg.idleTimeout,
		logger:      logger,
		httpServer:  srv,
	})
	if err != nil {
		return err
	}
	defer r.store.Close()
	mux := http.NewServeMux()
	mux.Handle("/mcp", r.handler)
	srv.Handler = mux

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	logger.Info("listening", "addr", ln.Addr().String(), "endpoint", "http://"+ln.Addr().String()+"/mcp", "sdk", cfg.sdk,
		"db", dialects.Redact(cfg.db), "idle_timeout", cfg.idleTimeout)

	janitorDone := make(chan struct{})
	janitorCtx, stopJanitor := context.WithCancel(ctx)
	go func() {
		defer close(janitorDone)
		_ = r.janitor.Run(janitorCtx) // returns nil once its context ends
	}()
	defer func() {
		stopJanitor()
		<-janitorDone
	}()

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	// The SDK's GET streams end first (they would otherwise hold
	// http.Server.Shutdown until its timeout), then srv shuts down. The
	// sessions stay in the store.
	if err := r.shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}
