package mcpgo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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
		err := ModifyState(ctx, func(st map[string]any) (map[string]any, error) {
			n, _ = st["counter"].(float64)
			n++
			st["counter"] = n
			return st, nil
		})
		if err != nil {
			return mcp.NewToolResultError(err.Error()), nil
		}
		return mcp.NewToolResultText(fmt.Sprint(n)), nil
	})
	ms.AddTool(mcp.NewTool("state"), stateTool)
	httpOpts := append([]server.StreamableHTTPOption{server.WithStreamableHTTPLogger(quiet)}, sessions.HTTPOptions()...)
	httpOpts = append(httpOpts, cfg.httpAfter...)
	h := server.NewStreamableHTTPServer(ms, httpOpts...)
	srv := httptest.NewServer(sessions.Handler(h))
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
type probeResult struct {
	Replica         string `json:"replica"`
	Session         string `json:"session"`
	Client          string `json:"client"`
	ProtocolVersion string `json:"protocolVersion"`
	LogLevel        string `json:"logLevel"`
	Roots           bool   `json:"roots"`
}

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
	b, _ := json.Marshal(p)
	return string(b)
}

// stateTool runs one helper, named by the "op" argument, and answers with
// the error (as text, after "error: ") or the state as JSON.
func stateTool(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	args := req.GetArguments()
	var err error
	switch args["op"] {
	case "get":
	case "update":
		keys, _ := args["keys"].(map[string]any)
		err = UpdateState(ctx, keys)
	case "modify":
		set, _ := args["set"].(map[string]any)
		del, _ := args["delete"].([]any)
		fail, _ := args["fail"].(bool)
		err = ModifyState(ctx, func(st map[string]any) (map[string]any, error) {
			if fail {
				st["written"] = true
				return st, errors.New("fn failed")
			}
			for k, v := range set {
				st[k] = v
			}
			for _, k := range del {
				delete(st, k.(string))
			}
			return st, nil
		})
	default:
		err = fmt.Errorf("unknown op %v", args["op"])
	}
	if err != nil {
		return mcp.NewToolResultText("error: " + classify(err)), nil
	}
	st, err := State(ctx)
	if err != nil {
		return mcp.NewToolResultText("error: " + classify(err)), nil
	}
	b, _ := json.Marshal(st)
	return mcp.NewToolResultText(string(b)), nil
}

func classify(err error) string {
	for _, e := range []error{ErrNoSession, ErrReservedKey, ErrModifyUnsupported, mcpsession.ErrNotFound} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return err.Error()
}

// ---- raw HTTP ----------------------------------------------------------------

var (
	post       = adaptertest.Post
	do         = adaptertest.Do
	send       = adaptertest.Send
	initialize = adaptertest.Initialize
	call       = adaptertest.Call
	tool       = adaptertest.Tool
	eventually = adaptertest.Eventually
)

func probeOn(t *testing.T, url, sid string) probeResult {
	t.Helper()
	var p probeResult
	if err := json.Unmarshal([]byte(tool(t, url, sid, "probe", nil)), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// ---- store wrappers ------------------------------------------------------------

type countingStore = adaptertest.CountingStore

// plainStore hides every method but the four of mcpsession.Store.
type plainStore struct{ mcpsession.Store }
