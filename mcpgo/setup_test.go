package mcpgo

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
)

// replica is one MCP server process in miniature: its own MCPServer,
// StreamableHTTPServer and Sessions over a store of its own.
type replica struct {
	name     string
	store    mcpsession.Store
	sessions *Sessions
	mcp      *server.StreamableHTTPServer
	srv      *httptest.Server
	url      string
	closed   sync.Once
}

type replicaConfig struct {
	opts      []Option
	httpAfter []server.StreamableHTTPOption // given after HTTPOptions
	hooks     *server.Hooks                 // when set, RegisterHooks instead of ServerOptions
	noHandler bool                          // serve mcp-go without Sessions.Handler in front
}

// newReplica serves store. Its tools: probe (what the session negotiated,
// as JSON), counter (ModifyState), and state (State/UpdateState/ModifyState
// by argument).
func newReplica(t *testing.T, name string, store mcpsession.Store, cfg replicaConfig) *replica {
	t.Helper()
	sessions, err := New(store, cfg.opts...)
	if err != nil {
		t.Fatal(err)
	}
	srvOpts := []server.ServerOption{server.WithLogging()}
	if cfg.hooks != nil {
		sessions.RegisterHooks(cfg.hooks)
		srvOpts = append(srvOpts, server.WithHooks(cfg.hooks))
	} else {
		srvOpts = append(srvOpts, sessions.ServerOptions()...)
	}
	ms := server.NewMCPServer("test-"+name, "1.0.0", srvOpts...)
	ms.AddTool(mcp.NewTool("probe"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText(probe(ctx, name)), nil
	})
	ms.AddTool(mcp.NewTool("counter"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var n float64
		if err := ModifyState(ctx, adaptertest.Counter(&n)); err != nil {
			return mcp.NewToolResultError(err.Error()), nil
		}
		return mcp.NewToolResultText(fmt.Sprint(n)), nil
	})
	ms.AddTool(mcp.NewTool("state"), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText(helpers.StateTool(ctx, req.GetArguments())), nil
	})
	ms.AddTool(mcp.NewTool("handle"), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText(helpers.HandleTool(ctx, req.GetArguments())), nil
	})
	httpOpts := append([]server.StreamableHTTPOption{server.WithStreamableHTTPLogger(quiet)}, sessions.HTTPOptions()...)
	httpOpts = append(httpOpts, cfg.httpAfter...)
	h := server.NewStreamableHTTPServer(ms, httpOpts...)
	var handler http.Handler = sessions.Handler(h)
	if cfg.noHandler {
		handler = h
	}
	srv := httptest.NewServer(handler)
	r := &replica{name: name, store: store, sessions: sessions, mcp: h, srv: srv, url: srv.URL + "/mcp"}
	t.Cleanup(r.close)
	return r
}

func (r *replica) close() {
	r.closed.Do(func() {
		r.srv.CloseClientConnections()
		_ = r.mcp.Shutdown(context.Background())
		r.srv.Close()
	})
}

var quiet = slog.New(slog.DiscardHandler)

// probeResult is what the probe tool answers.
type probeResult = adaptertest.Probe

func probe(ctx context.Context, name string) string {
	p := probeResult{Replica: name, ProtocolVersion: server.RequestProtocolVersion(ctx)}
	cs := server.ClientSessionFromContext(ctx)
	if cs != nil {
		p.Session = cs.SessionID()
	}
	if s, ok := cs.(server.SessionWithClientInfo); ok {
		p.Client = s.GetClientInfo().Name
		p.Roots = s.GetClientCapabilities().Roots != nil
	}
	if s, ok := cs.(server.SessionWithLogging); ok {
		p.LogLevel = string(s.GetLogLevel())
	}
	return p.Text()
}

// helpers are this package's, for the suite's state tool.
var helpers = adaptertest.Helpers{
	SessionID: SessionID, State: State, UpdateState: UpdateState, ModifyState: ModifyState,
	Principal: Principal, CreateHandle: CreateHandle, GetHandle: GetHandle, UpdateHandle: UpdateHandle,
	ModifyHandle: ModifyHandle, TouchHandle: TouchHandle, DeleteHandle: DeleteHandle,
}

// TestAdapter runs what every adapter does alike (adaptertest.Run).
func TestAdapter(t *testing.T) {
	t.Parallel()
	adaptertest.Run(t, adaptertest.Adapter{
		Serve: func(t *testing.T, name string, store mcpsession.Store, cfg adaptertest.ReplicaConfig) string {
			var opts []Option
			if cfg.TouchInterval > 0 {
				opts = append(opts, WithTouchInterval(cfg.TouchInterval))
			}
			if cfg.Clock != nil {
				opts = append(opts, withClock(cfg.Clock))
			}
			if cfg.Principal != nil {
				opts = append(opts, WithPrincipal(cfg.Principal))
			}
			return newReplica(t, name, store, replicaConfig{opts: opts}).url
		},
		DeleteStatus:      http.StatusOK,
		Helpers:           helpers,
		GETWithoutSession: http.StatusOK, // mcp-go serves it a stream of a session it mints
	})
}

// ---- raw HTTP ----------------------------------------------------------------

var (
	do         = adaptertest.Do
	send       = adaptertest.Send
	initialize = adaptertest.Initialize
	call       = adaptertest.Call
	probeOn    = adaptertest.ProbeOn
)

type countingStore = adaptertest.CountingStore
