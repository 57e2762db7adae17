//lint:file-ignore SA1019 the tests exercise the session-based revisions, whose roots, sampling and logging the sessionless one deprecates.

package gosdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
		err := ModifyState(ctx, func(st map[string]any) (map[string]any, error) {
			n, _ = st["counter"].(float64)
			n++
			st["counter"] = n
			return st, nil
		})
		if err != nil {
			return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: err.Error()}}}, nil
		}
		return text(fmt.Sprint(n)), nil
	})
	server.AddTool(tool("state"), stateTool)
}

// probeResult is what the probe tool answers.
type probeResult struct {
	Replica   string `json:"replica"`
	Session   string `json:"session"`
	Client    string `json:"client"`
	Requested string `json:"requested"`
	LogLevel  string `json:"logLevel"`
	Roots     bool   `json:"roots"`
	Sampling  bool   `json:"sampling"`
}

func probe(ctx context.Context, req *mcp.CallToolRequest, name string) string {
	p := probeResult{Replica: name, Session: req.Session.ID()}
	if ip := req.Session.InitializeParams(); ip != nil {
		p.Requested = ip.ProtocolVersion
		if ip.ClientInfo != nil {
			p.Client = ip.ClientInfo.Name
		}
		if ip.Capabilities != nil {
			p.Roots = ip.Capabilities.RootsV2 != nil
			p.Sampling = ip.Capabilities.Sampling != nil
		}
	}
	level, _ := LogLevel(ctx)
	p.LogLevel = string(level)
	b, _ := json.Marshal(p)
	return string(b)
}

// stateTool runs one helper, named by the "op" argument, and answers with
// the error (as text, after "error: ") or the state as JSON.
func stateTool(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	var args struct {
		Op     string         `json:"op"`
		Keys   map[string]any `json:"keys"`
		Set    map[string]any `json:"set"`
		Delete []string       `json:"delete"`
		Fail   bool           `json:"fail"`
	}
	if err := json.Unmarshal(req.Params.Arguments, &args); err != nil {
		return nil, err
	}
	var err error
	switch args.Op {
	case "get":
	case "update":
		err = UpdateState(ctx, args.Keys)
	case "modify":
		err = ModifyState(ctx, func(st map[string]any) (map[string]any, error) {
			if args.Fail {
				st["written"] = true
				return st, errors.New("fn failed")
			}
			for k, v := range args.Set {
				st[k] = v
			}
			for _, k := range args.Delete {
				delete(st, k)
			}
			return st, nil
		})
	default:
		err = fmt.Errorf("unknown op %q", args.Op)
	}
	if err != nil {
		return text("error: " + classify(err)), nil
	}
	st, err := State(ctx)
	if err != nil {
		return text("error: " + classify(err)), nil
	}
	b, _ := json.Marshal(st)
	return text(string(b)), nil
}

func classify(err error) string {
	for _, e := range []error{ErrNoSession, ErrReservedKey, ErrModifyUnsupported, mcpsession.ErrNotFound} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return err.Error()
}

var (
	rawPost    = adaptertest.Post
	send       = adaptertest.Send
	initialize = adaptertest.Initialize
	call       = adaptertest.Call
	callAll    = adaptertest.CallAll
	callTool   = adaptertest.Tool
	eventually = adaptertest.Eventually
)

type countingStore = adaptertest.CountingStore

// plainStore hides every method but the four of mcpsession.Store.
type plainStore struct{ mcpsession.Store }

func probeOn(t *testing.T, url, sid string) probeResult {
	t.Helper()
	var p probeResult
	if err := json.Unmarshal([]byte(callTool(t, url, sid, "probe", nil)), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

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

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
