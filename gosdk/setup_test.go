//lint:file-ignore SA1019 the tests exercise the session-based revisions, whose roots, sampling and logging the sessionless one deprecates.

package gosdk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// replica is one MCP server process in miniature: its own mcp.Server and
// Sessions over a store of its own.
type replica struct {
	name     string
	sessions *Sessions
	srv      *httptest.Server
	url      string
	closed   sync.Once
}

// newReplica serves store. Its tools: probe (what the session negotiated,
// as JSON), log (one log message at each of info and debug), counter
// (ModifyState), and state (State/UpdateState/ModifyState by argument).
func newReplica(t *testing.T, name string, store mcpsession.Store, opts ...Option) *replica {
	t.Helper()
	server := mcp.NewServer(&mcp.Implementation{Name: "test-" + name, Version: "1.0.0"}, nil)
	sessions, err := New(store, server, opts...)
	if err != nil {
		t.Fatal(err)
	}
	addTestTools(server, name)
	srv := httptest.NewServer(sessions)
	r := &replica{name: name, sessions: sessions, srv: srv, url: srv.URL + "/mcp"}
	t.Cleanup(r.close)
	return r
}

func (r *replica) close() {
	r.closed.Do(func() {
		r.srv.CloseClientConnections()
		_ = r.sessions.Shutdown(context.Background())
		r.srv.Close()
	})
}

var anyArgs = &mcp.Tool{InputSchema: map[string]any{"type": "object"}}

func tool(name string) *mcp.Tool {
	t := *anyArgs
	t.Name = name
	return &t
}

func text(s string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}

func addTestTools(server *mcp.Server, name string) {
	server.AddTool(tool("probe"), func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return text(probe(ctx, req, name)), nil
	})
	server.AddTool(tool("log"), func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		for _, level := range []mcp.LoggingLevel{"info", "debug"} {
			if err := req.Session.Log(ctx, &mcp.LoggingMessageParams{Level: level, Data: string(level)}); err != nil {
				return nil, err
			}
		}
		return text("logged"), nil
	})
	server.AddTool(tool("counter"), func(ctx context.Context, _ *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var n float64
		if err := ModifyState(ctx, adaptertest.Counter(&n)); err != nil {
			return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: err.Error()}}}, nil
		}
		return text(fmt.Sprint(n)), nil
	})
	server.AddTool(tool("state"), func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args map[string]any
		if err := json.Unmarshal(req.Params.Arguments, &args); err != nil {
			return nil, err
		}
		return text(helpers.StateTool(ctx, args)), nil
	})
	server.AddTool(tool("handle"), func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args map[string]any
		if err := json.Unmarshal(req.Params.Arguments, &args); err != nil {
			return nil, err
		}
		return text(helpers.HandleTool(ctx, args)), nil
	})
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
			return newReplica(t, name, store, opts...).url
		},
		DeleteStatus: http.StatusNoContent,
		Helpers:      helpers,
	})
}

// probeResult is what the probe tool answers; ProtocolVersion is the one
// InitializeParams holds, which go-sdk hands handlers: the version the
// client asked for.
type probeResult = adaptertest.Probe

func probe(ctx context.Context, req *mcp.CallToolRequest, name string) string {
	p := probeResult{Replica: name, Session: req.Session.ID()}
	if ip := req.Session.InitializeParams(); ip != nil {
		p.ProtocolVersion = ip.ProtocolVersion
		if ip.ClientInfo != nil {
			p.Client = ip.ClientInfo.Name
		}
		if ip.Capabilities != nil {
			p.Roots = ip.Capabilities.RootsV2 != nil
		}
	}
	p.LogLevel, _ = LogLevel(ctx)
	if fromContext(ctx) == nil {
		p.Replica = "" // served outside the Sessions: the tests compare it
	}
	return p.Text()
}

var (
	rawPost    = adaptertest.Post
	send       = adaptertest.Send
	initialize = adaptertest.Initialize
	call       = adaptertest.Call
	callAll    = adaptertest.CallAll
	callTool   = adaptertest.Tool
	eventually = adaptertest.Eventually
	probeOn    = adaptertest.ProbeOn
	openStream = adaptertest.OpenStream
)

type countingStore = adaptertest.CountingStore

// logged calls the log tool and returns the levels of the log messages the
// session sent with the answer.
func logged(t *testing.T, url, sid string) []string {
	t.Helper()
	status, _, msgs := callAll(t, url, sid, "tools/call", map[string]any{"name": "log", "arguments": map[string]any{}})
	if status != 200 {
		t.Fatalf("log: %d", status)
	}
	var levels []string
	for _, m := range msgs {
		var n struct {
			Method string `json:"method"`
			Params struct {
				Level string `json:"level"`
			} `json:"params"`
		}
		if json.Unmarshal(m, &n) == nil && n.Method == "notifications/message" {
			levels = append(levels, n.Params.Level)
		}
	}
	return levels
}
