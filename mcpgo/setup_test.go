package mcpgo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/sqlstore"
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

type response struct {
	status int
	header http.Header
	body   []byte
}

// post sends one JSON-RPC message. sid "" sends no Mcp-Session-Id.
func post(t *testing.T, url, sid string, msg any) response {
	t.Helper()
	b, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if sid != "" {
		req.Header.Set(server.HeaderKeySessionID, sid)
		req.Header.Set(mcp.HeaderProtocolVersion, mcp.LATEST_LEGACY_PROTOCOL_VERSION)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// send sends a GET or DELETE with sid.
func send(t *testing.T, method, url, sid string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sid != "" {
		req.Header.Set(server.HeaderKeySessionID, sid)
	}
	req.Header.Set("Accept", "text/event-stream")
	if method == http.MethodGet {
		// A GET that passes is an endless stream: stop at the headers.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		resp, err := http.DefaultClient.Do(req.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return response{status: resp.StatusCode, header: resp.Header}
	}
	return do(t, req)
}

var rpcID atomic.Int64

func initialize(t *testing.T, url, client, version string) string {
	t.Helper()
	r := post(t, url, "", map[string]any{
		"jsonrpc": "2.0", "id": rpcID.Add(1), "method": "initialize",
		"params": map[string]any{
			"protocolVersion": version,
			"clientInfo":      map[string]any{"name": client, "version": "1.0"},
			"capabilities":    map[string]any{"roots": map[string]any{}},
		},
	})
	sid := r.header.Get(server.HeaderKeySessionID)
	if r.status != http.StatusOK || sid == "" {
		t.Fatalf("initialize: %d %s, session %q", r.status, r.body, sid)
	}
	if r := post(t, url, sid, map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"}); r.status != http.StatusAccepted {
		t.Fatalf("notifications/initialized: %d %s", r.status, r.body)
	}
	return sid
}

// call sends a request and returns the response's status and its JSON-RPC
// result (or error) as raw JSON.
func call(t *testing.T, url, sid, method string, params any) (int, json.RawMessage) {
	t.Helper()
	r := post(t, url, sid, map[string]any{"jsonrpc": "2.0", "id": rpcID.Add(1), "method": method, "params": params})
	if r.status != http.StatusOK {
		return r.status, r.body
	}
	body := r.body
	if strings.HasPrefix(r.header.Get("Content-Type"), "text/event-stream") {
		// the last data line is the response
		for line := range strings.SplitSeq(string(body), "\n") {
			if d, ok := strings.CutPrefix(line, "data: "); ok {
				body = []byte(d)
			}
		}
	}
	var msg struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatalf("%s: %v in %s", method, err, body)
	}
	if msg.Error != nil {
		return r.status, msg.Error
	}
	return r.status, msg.Result
}

// tool calls a tool and returns its text, failing t unless it answers 200.
func tool(t *testing.T, url, sid, name string, args map[string]any) string {
	t.Helper()
	status, res := call(t, url, sid, "tools/call", map[string]any{"name": name, "arguments": args})
	if status != http.StatusOK {
		t.Fatalf("tools/call %s: %d %s", name, status, res)
	}
	var out struct {
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
	}
	if err := json.Unmarshal(res, &out); err != nil || len(out.Content) == 0 {
		t.Fatalf("tools/call %s: %s (%v)", name, res, err)
	}
	return out.Content[0].Text
}

func probeOn(t *testing.T, url, sid string) probeResult {
	t.Helper()
	var p probeResult
	if err := json.Unmarshal([]byte(tool(t, url, sid, "probe", nil)), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// ---- store wrappers ------------------------------------------------------------

// countingStore counts the calls reaching a real store, and can make some
// of them fail as a database outage would.
type countingStore struct {
	*sqlstore.Store
	gets, creates, updates, touches, modifies, deletes atomic.Int64
	failUpdates                                        atomic.Bool
}

var errOutage = errors.New("database unavailable")

func (c *countingStore) Create(ctx context.Context, id string, m map[string]any) error {
	c.creates.Add(1)
	return c.Store.Create(ctx, id, m)
}

func (c *countingStore) Get(ctx context.Context, id string) (map[string]any, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, id)
}

func (c *countingStore) Update(ctx context.Context, id string, m map[string]any) error {
	c.updates.Add(1)
	if len(m) == 1 && m[keyTouchedAt] != nil {
		c.touches.Add(1)
	}
	if c.failUpdates.Load() {
		return errOutage
	}
	return c.Store.Update(ctx, id, m)
}

func (c *countingStore) Modify(ctx context.Context, id string, fn func(map[string]any) (map[string]any, error)) error {
	c.modifies.Add(1)
	return c.Store.Modify(ctx, id, fn)
}

func (c *countingStore) Delete(ctx context.Context, id string) error {
	c.deletes.Add(1)
	return c.Store.Delete(ctx, id)
}

func (c *countingStore) total() int64 {
	return c.gets.Load() + c.creates.Load() + c.updates.Load() + c.modifies.Load() + c.deletes.Load()
}

// plainStore hides every method but the four of mcpsession.Store.
type plainStore struct{ mcpsession.Store }

// fakeClock is a clock the test steps by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// eventually polls cond every 10ms until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
