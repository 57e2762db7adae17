package main

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/mcpgo"
)

// -memory serves the same tools with mcp-go keeping its sessions in this
// process's memory, and counters and handles in maps beside them: no
// database, no bus, no janitor. It is what the library exists to replace,
// and the load generator's ceiling (integration/cmd/loadgen): a fleet of
// such replicas works only behind a proxy that sends each session, and
// each principal's handles, to one replica.

// memoryReplica builds a replica without a store. Only mcp-go has this
// mode: the ceiling is measured against mcp-go's own memory.
func memoryReplica(cfg replicaConfig) (*replica, error) {
	if cfg.sdk != "mcp-go" {
		return nil, fmt.Errorf("-memory serves with mcp-go only, not %q", cfg.sdk)
	}
	state := newMemoryState(cfg.idleTimeout)
	hooks := &server.Hooks{}
	hooks.AddOnUnregisterSession(func(_ context.Context, s server.ClientSession) { state.endSession(s.SessionID()) })
	mcpServer := server.NewMCPServer(serverName, serverVersion,
		server.WithHooks(hooks), server.WithLogging(), server.WithToolCapabilities(false))
	mcpServer.AddTool(mcp.NewTool(whoamiTool,
		mcp.WithDescription(whoamiDescription),
		mcp.WithReadOnlyHintAnnotation(true)),
		mcpgoWhoami)
	mcpServer.AddTool(mcp.NewTool(counterTool,
		mcp.WithDescription(counterDescription),
		mcp.WithInputSchema[counterArgs](),
		mcp.WithOutputSchema[counterOutput](),
		mcp.WithIdempotentHintAnnotation(false)),
		state.counter)
	mcpServer.AddTool(mcp.NewTool(sampleTool,
		mcp.WithDescription(sampleDescription),
		mcp.WithInputSchema[sampleArgs]()),
		mcpgoSample(mcpServer, cfg.logger))
	mcpServer.AddTool(mcp.NewTool(notifyTool,
		mcp.WithDescription(notifyDescription),
		mcp.WithInputSchema[notifyArgs]()),
		state.notify(mcpServer))

	opts := []server.StreamableHTTPOption{
		server.WithStateful(true), // an unknown or deleted session is 404, as with the store
		server.WithSessionIdleTTL(cfg.idleTimeout),
		server.WithHTTPContextFunc(withMemoryCaller),
		server.WithStreamableHTTPLogger(mcpgo.RedactedLogger(cfg.logger)),
	}
	if cfg.httpServer != nil {
		opts = append(opts, server.WithStreamableHTTPServer(cfg.httpServer))
	}
	streamable := server.NewStreamableHTTPServer(mcpServer, opts...)
	shutdown := func(ctx context.Context) error {
		state.stop()
		return streamable.Shutdown(ctx)
	}
	return &replica{handler: streamable, shutdown: shutdown}, nil
}

// memoryCaller is what the tools need of the HTTP request: the session it
// names (mcp-go has already checked that it is one of this process's) and
// its principal.
type memoryCaller struct {
	session, principal string
}

type memoryCallerKey struct{}

func withMemoryCaller(ctx context.Context, r *http.Request) context.Context {
	principal, _ := bearerPrincipal(r) // never fails
	return context.WithValue(ctx, memoryCallerKey{}, memoryCaller{session: r.Header.Get("Mcp-Session-Id"), principal: principal})
}

// memoryState holds the counters of sessions and of handles. Handles unused
// for the idle timeout are dropped, as the janitor drops them from the
// store.
type memoryState struct {
	idle time.Duration
	done chan struct{}
	once sync.Once

	mu       sync.Mutex
	sessions map[string]int64
	handles  map[string]*memoryHandle
}

type memoryHandle struct {
	principal string
	count     int64
	used      time.Time
}

func newMemoryState(idle time.Duration) *memoryState {
	m := &memoryState{idle: idle, done: make(chan struct{}),
		sessions: map[string]int64{}, handles: map[string]*memoryHandle{}}
	go m.sweep()
	return m
}

func (m *memoryState) stop() { m.once.Do(func() { close(m.done) }) }

func (m *memoryState) sweep() {
	t := time.NewTicker(max(m.idle/2, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-m.done:
			return
		case now := <-t.C:
			m.mu.Lock()
			for h, v := range m.handles {
				if now.Sub(v.used) > m.idle {
					delete(m.handles, h)
				}
			}
			m.mu.Unlock()
		}
	}
}

func (m *memoryState) endSession(id string) {
	m.mu.Lock()
	delete(m.sessions, id)
	m.mu.Unlock()
}

// count is counterHelpers.count over the maps.
func (m *memoryState) count(caller memoryCaller, args counterArgs) (counterOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	switch {
	case args.Handle != "":
		h, ok := m.handles[args.Handle]
		if !ok || h.principal != caller.principal {
			return counterOutput{}, mcpsession.ErrHandleNotFound
		}
		h.count++
		h.used = now
		return counterOutput{Count: h.count, Handle: args.Handle}, nil
	case caller.session != "":
		m.sessions[caller.session]++
		return counterOutput{Count: m.sessions[caller.session]}, nil
	default:
		handle, err := newMemoryHandle()
		if err != nil {
			return counterOutput{}, err
		}
		m.handles[handle] = &memoryHandle{principal: caller.principal, count: 1, used: now}
		return counterOutput{Count: 1, Handle: handle}, nil
	}
}

func (m *memoryState) counter(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	var args counterArgs
	if err := req.BindArguments(&args); err != nil {
		return mcp.NewToolResultError(counterTool + ": invalid arguments"), nil
	}
	caller, _ := ctx.Value(memoryCallerKey{}).(memoryCaller)
	out, err := m.count(caller, args)
	if errors.Is(err, mcpsession.ErrHandleNotFound) {
		return mcp.NewToolResultError(counterTool + ": unknown or expired handle"), nil
	}
	if err != nil {
		return nil, err
	}
	return mcp.NewToolResultStructured(out, counterText(out.Count)), nil
}

func (m *memoryState) notify(mcpServer *server.MCPServer) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		caller, _ := ctx.Value(memoryCallerKey{}).(memoryCaller)
		if caller.session == "" {
			return mcp.NewToolResultError(needsSession(notifyTool)), nil
		}
		var args notifyArgs
		if err := req.BindArguments(&args); err != nil {
			return mcp.NewToolResultError(notifyTool + ": invalid arguments"), nil
		}
		// Delivered only if this process holds the session's GET stream,
		// which sticky routing makes so.
		if err := mcpServer.SendNotificationToSpecificClient(caller.session, "notifications/message", notifyParams(args.Message)); err != nil {
			return mcp.NewToolResultError(notifyTool + ": " + err.Error()), nil
		}
		return mcp.NewToolResultText(notifySent), nil
	}
}

// newMemoryHandle is 130 random bits, as the store's handles.
func newMemoryHandle() (string, error) {
	var b [17]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])[:26], nil
}
