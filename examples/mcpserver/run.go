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
	"sync"
	"sync/atomic"
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
	drain       time.Duration
	cache       bool
	memory      bool
	taskLease   time.Duration
	// confirm's sealed requestState (confirm.go): 0 is requeststate's
	// default.
	stateTTL, stateRotation time.Duration
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("mcpserver", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.StringVar(&c.sdk, "sdk", "mcp-go", fmt.Sprintf("MCP SDK to serve with: %s", strings.Join(sdkNames(), " or ")))
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on (port 0 picks a free port)")
	fs.StringVar(&c.db, "db", "sqlite:mcpsessions.db", "session database: sqlite:PATH, sqlite::memory: or postgres://…")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", 30*time.Minute, "how long an unused session or state handle lives")
	fs.BoolVar(&c.cache, "cache", false, "keep the sessions this replica reads in memory, coherent with the other replicas through the database (package cache)")
	fs.BoolVar(&c.memory, "memory", false, "keep sessions in mcp-go's memory, without -db (a baseline: each session works only on the replica that created it)")
	fs.DurationVar(&c.taskLease, "task-lease", 30*time.Second, "how long a task stays leased to the replica running it without a renewal; once it lapses (the replica died) the task has failed")
	fs.DurationVar(&c.stateTTL, "state-ttl", 0, "how long a sealed requestState (the confirm tool's) can be opened; 0: 10 minutes")
	fs.DurationVar(&c.stateRotation, "state-rotation", 0, "how long each key of the requestState key ring seals, at least twice -state-ttl; 0: 24 hours")
	fs.DurationVar(&c.drain, "drain", 2*time.Second, "how long a stopping server keeps serving after /readyz turns 503, for load balancers to stop sending it requests")
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
	if c.memory && (c.cache || c.sdk != "mcp-go") {
		fmt.Fprintf(os.Stderr, "mcpserver: -memory serves with -sdk mcp-go and without -cache\n")
		return c, errUsage
	}
	if c.drain < 0 {
		fmt.Fprintf(os.Stderr, "mcpserver: -drain %v: must not be negative\n", c.drain)
		return c, errUsage
	}
	if c.idleTimeout < time.Millisecond {
		fmt.Fprintf(os.Stderr, "mcpserver: -idle-timeout %v: must be at least 1ms\n", c.idleTimeout)
		return c, errUsage
	}
	return c, nil
}

// run serves MCP on the flags' address until ctx ends, then stops as a
// load balancer expects: /readyz answers 503 at once, the server keeps
// serving for the drain, then it shuts down: open streams are closed,
// connections with no request in flight are closed without waiting,
// requests in flight get shutdownTimeout to finish, and the sessions stay in
// the database for the other replicas.
func run(ctx context.Context, args []string, logger *slog.Logger) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	conns := newConnTracker()
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		ConnState:         conns.track,
	}
	rcfg := replicaConfig{
		sdk:           cfg.sdk,
		dsn:           cfg.db,
		idleTimeout:   cfg.idleTimeout,
		withCache:     cfg.cache,
		taskLease:     cfg.taskLease,
		stateTTL:      cfg.stateTTL,
		stateRotation: cfg.stateRotation,
		logger:        logger,
		httpServer:    srv,
	}
	var r *replica
	if cfg.memory {
		r, err = memoryReplica(rcfg)
	} else {
		r, err = newReplica(ctx, rcfg)
	}
	if err != nil {
		return err
	}
	if r.store != nil {
		defer r.store.Close()
	}
	var stopping atomic.Bool
	mux := http.NewServeMux()
	mux.Handle("/mcp", r.handler)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if stopping.Load() {
			http.Error(w, "stopping", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "alive") })
	srv.Handler = mux

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	db := dialects.Redact(cfg.db)
	if cfg.memory {
		db = "none (-memory)"
	}
	logger.Info("listening", "addr", ln.Addr().String(), "endpoint", "http://"+ln.Addr().String()+"/mcp", "sdk", cfg.sdk,
		"db", db, "idle_timeout", cfg.idleTimeout, "cache", cfg.cache)

	// The bus outlives the HTTP server: streams end at shutdown, before it
	// stops.
	busDone := make(chan struct{})
	busCtx, stopBus := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		defer close(busDone)
		if r.bus != nil {
			_ = r.bus.Run(busCtx) // returns nil once its context ends
		}
	}()
	defer func() {
		stopBus()
		<-busDone
	}()

	janitorDone := make(chan struct{})
	janitorCtx, stopJanitor := context.WithCancel(ctx)
	go func() {
		defer close(janitorDone)
		if r.janitor != nil {
			_ = r.janitor.Run(janitorCtx) // returns nil once its context ends
		}
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

	// Readiness first: a load balancer that checks /readyz stops sending
	// new work here while the server still serves what comes meanwhile.
	stopping.Store(true)
	logger.Info("draining", "for", cfg.drain)
	time.Sleep(cfg.drain)

	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	// http.Server.Shutdown waits up to 5 s for a connection that opened
	// but sent nothing yet; nothing is coming on it. Such connections, and
	// those between requests, are closed as they are found.
	closedIdle := make(chan int)
	go func() { closedIdle <- conns.closeIdleUntil(sctx.Done()) }()
	// The SDK's GET streams end first (they would otherwise hold
	// http.Server.Shutdown until its timeout), then srv shuts down. The
	// sessions stay in the store.
	err = r.shutdown(sctx)
	cancel()
	n := <-closedIdle
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped", "idle_connections_closed", n)
	return nil
}

// connTracker knows the HTTP server's connections and their states, so
// that a stopping server can close those that carry no request.
type connTracker struct {
	mu    sync.Mutex
	conns map[net.Conn]http.ConnState
}

func newConnTracker() *connTracker { return &connTracker{conns: map[net.Conn]http.ConnState{}} }

// track is the server's ConnState hook.
func (c *connTracker) track(conn net.Conn, state http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch state {
	case http.StateClosed, http.StateHijacked:
		delete(c.conns, conn)
	default:
		c.conns[conn] = state
	}
}

// closeIdleUntil closes the connections that are new (nothing sent yet) or
// idle (between requests), now and every 50 ms until done, and returns how
// many it closed.
func (c *connTracker) closeIdleUntil(done <-chan struct{}) int {
	closed := 0
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		c.mu.Lock()
		for conn, state := range c.conns {
			if state == http.StateNew || state == http.StateIdle {
				_ = conn.Close()
				delete(c.conns, conn)
				closed++
			}
		}
		c.mu.Unlock()
		select {
		case <-done:
			return closed
		case <-t.C:
		}
	}
}
