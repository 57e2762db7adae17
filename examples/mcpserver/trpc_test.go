package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	trpc "trpc.group/trpc-go/trpc-mcp-go"
)

// trpc-mcp-go (trpc.group/trpc-go/trpc-mcp-go v0.0.20) is a third-party
// client, run here as its README runs it: NewClient, Initialize, ListTools,
// CallTool, TerminateSession, over its own HTTP transport. What it does on
// the wire, as these tests record it at the proxy:
//
//   - At its default, 2025-03-26: initialize with no session id, then
//     Mcp-Session-Id on every request, and no MCP-Protocol-Version header
//     (the header came with 2025-06-18). It keeps the id of the last SSE
//     event it read, on any stream, and sends it as Last-Event-ID on its
//     next POST and on its GET stream, which it opens right after
//     initialize. go-sdk's adapter answers POSTs with SSE events that carry
//     ids, so every call carries one; mcp-go's answers POSTs with JSON, and
//     only its GET stream's priming event has an id. TerminateSession sends
//     DELETE, counts only 200 as success (go-sdk's 204 is an error to it)
//     and then forgets the session id.
//   - Pinned to 2026-07-28: server/discover instead of initialize; every
//     request carries MCP-Protocol-Version: 2026-07-28, Mcp-Method, and for
//     tools/call Mcp-Name, never a session id or Last-Event-ID; no GET
//     stream, no notifications; each CallTool is preceded by a tools/list
//     of its own (the client reads the tool's x-mcp-header annotations
//     afresh for every call). TerminateSession sends nothing.
const trpcClientName = "trpc-e2e"

// The client through two replicas, at its default protocol version and
// pinned to 2026-07-28, each SDK, each dialect, with and without the read
// cache: initialize (or discover), tools/list, counter four times, exactly
// 1, 2, 3, 4, across both replicas, whoami on both, then the client's
// DELETE, after which the session is 404 on both replicas.
func TestE2ETRPCClient(t *testing.T) {
	t.Parallel()
	eachCluster(t, func(t *testing.T, sdk, dsn string) {
		t.Run("2025-03-26 at its default", func(t *testing.T) {
			trpcSessionEra(t, newCluster(t, sdk, dsn, testIdle), sdk)
		})
		t.Run("pinned to 2026-07-28", func(t *testing.T) {
			trpcSessionlessEra(t, newCluster(t, sdk, dsn, testIdle), sdk, dsn)
		})
	})
}

func trpcSessionEra(t *testing.T, c *cluster, sdk string) {
	roundRobinPerMethod(c)
	wire := recordWire(c)
	cs := connectTRPC(t, c.url)
	sid := cs.sessionID()
	if cs.protocolVersion() != trpc.ProtocolVersion_2025_03_26 || mcpsession.ValidateID(sid) != nil {
		t.Fatalf("session %q, protocol %q; want a session on 2025-03-26", sid, cs.protocolVersion())
	}
	trpcListsTools(t, cs)
	for want := int64(1); want <= 4; want++ {
		if out := mustCount(t, cs, "", want); out.Handle != "" {
			t.Errorf("counter in a session returned handle %q", out.Handle)
		}
	}
	who := fmt.Sprintf(`{"client":%q,"protocolVersion":"2025-03-26","logLevel":%q}`, trpcClientName, defaultLevel[sdk])
	for range 2 {
		if got := mustText(t, cs, whoamiTool); got != who {
			t.Errorf("whoami: %s; want %s", got, who)
		}
	}

	hops := c.hops()
	if served := toolReplicas(hops); served != [2]int{3, 3} {
		t.Errorf("tools/call answered per replica %v; want 3 on each", served)
	}
	for _, h := range hops {
		if h.status/100 != 2 {
			t.Errorf("%s on %s: %d", h.rpcMethod, replicaNames[h.replica], h.status)
		}
	}
	reqs := wire.take()
	if len(reqs) == 0 || reqs[0].method != "initialize" || reqs[0].sessionID != "" {
		t.Fatalf("first request %+v; want initialize without a session id", reqs)
	}
	var calls, echoed int
	for _, r := range reqs[1:] {
		if r.sessionID != sid {
			t.Errorf("%s carried session %q; want %q", r.method, r.sessionID, sid)
		}
		if r.method == "tools/call" {
			calls++
			if r.lastEventID != "" {
				echoed++
			}
		}
	}
	for _, r := range reqs {
		if r.protocolVersion != "" {
			t.Errorf("%s carried MCP-Protocol-Version %q; 2025-03-26 has no such header", r.method, r.protocolVersion)
		}
	}
	// go-sdk's adapter answers with SSE events that carry ids, which the
	// client sends back on every POST (the fidelity issue's item 4).
	if sdk == "go-sdk" && echoed != calls {
		t.Errorf("%d of %d tools/call carried Last-Event-ID; want all", echoed, calls)
	}
	t.Logf("%d requests; %d of %d tools/call carried Last-Event-ID", len(reqs), echoed, calls)

	// DELETE, through the client.
	terminated := cs.c.TerminateSession(t.Context())
	del := methodHops(c.hops(), http.MethodDelete)
	if len(del) != 1 || del[0].status != deleteStatus[sdk] {
		t.Fatalf("DELETE answered %+v; want one %d", del, deleteStatus[sdk])
	}
	// The client counts only 200 as success: go-sdk's 204 (its own handler
	// answers the same) is an error to it, and it keeps the session id; after
	// a 200 it forgets it.
	switch deleteStatus[sdk] {
	case http.StatusOK:
		if terminated != nil || cs.sessionID() != "" {
			t.Errorf("TerminateSession after 200: %v, session %q; want no error, no session", terminated, cs.sessionID())
		}
	default:
		if terminated == nil || !strings.Contains(terminated.Error(), fmt.Sprint(deleteStatus[sdk])) || cs.sessionID() != sid {
			t.Errorf("TerminateSession after %d: %v, session %q; want the client's status error, the session kept", deleteStatus[sdk], terminated, cs.sessionID())
		}
	}

	// The next call fails. With the session id it still has (go-sdk), the
	// answer is 404; without one (mcp-go), what a POST that names no session
	// gets from the adapter: 400 (mcp-go's own handler answers 404 "Invalid
	// session ID"; see TestE2EUnknownSession). The client treats both alike.
	if _, err := cs.tool(whoamiTool, nil); !errors.Is(err, trpc.ErrHTTPRequestFailed) {
		t.Errorf("whoami after DELETE: %v; want the client's %v", err, trpc.ErrHTTPRequestFailed)
	}
	wantStatus := http.StatusNotFound
	if cs.sessionID() == "" {
		wantStatus = http.StatusBadRequest
	}
	if after := methodHops(c.hops(), "tools/call"); len(after) != 1 || after[0].status != wantStatus {
		t.Errorf("whoami after DELETE answered %+v; want %d", after, wantStatus)
	}
	// The client no longer sends the id it had: it is sent by hand, to each
	// replica.
	c.settle()
	for i := range 2 {
		if status, body := rawPost(t, c.replica(i).url, sid, toolsList); status != http.StatusNotFound {
			t.Errorf("POST of the deleted session on %s: %d %s; want 404", replicaNames[i], status, body)
		}
	}
}

func trpcSessionlessEra(t *testing.T, c *cluster, sdk, dsn string) {
	roundRobinPerMethod(c)
	wire := recordWire(c)
	cs := connectTRPC(t, c.url, trpc.WithProtocolVersion(trpc.ProtocolVersion_2026_07_28))
	if cs.sessionID() != "" || cs.protocolVersion() != trpc.ProtocolVersion_2026_07_28 {
		t.Fatalf("session %q, protocol %q; want sessionless 2026-07-28", cs.sessionID(), cs.protocolVersion())
	}
	trpcListsTools(t, cs)
	// Without a session, counter's first call starts a counter under a new
	// handle; the client passes it back, as a user of the tool does.
	h := mustCount(t, cs, "", 1).Handle
	if mcpsession.ValidateID(h) != nil {
		t.Fatalf("counter's handle %q: not a valid MCP id", h)
	}
	for want := int64(2); want <= 4; want++ {
		mustCount(t, cs, h, want)
	}
	who := fmt.Sprintf(`{"client":%q,"protocolVersion":"2026-07-28","logLevel":%q}`, trpcClientName, defaultLevel[sdk])
	for range 2 {
		if got := mustText(t, cs, whoamiTool); got != who {
			t.Errorf("whoami: %s; want %s", got, who)
		}
	}

	hops := c.hops()
	if served := toolReplicas(hops); served != [2]int{3, 3} {
		t.Errorf("tools/call answered per replica %v; want 3 on each", served)
	}
	for _, h := range hops {
		if h.status != http.StatusOK {
			t.Errorf("%s on %s: %d; want 200", h.rpcMethod, replicaNames[h.replica], h.status)
		}
	}
	methods := map[string]int{}
	for _, r := range wire.take() {
		methods[r.method]++
		if r.sessionID != "" || r.lastEventID != "" || r.protocolVersion != trpc.ProtocolVersion_2026_07_28 || r.mcpMethod != r.method {
			t.Errorf("%s carried session %q, Last-Event-ID %q, MCP-Protocol-Version %q, Mcp-Method %q; want none, none, 2026-07-28, its method",
				r.method, r.sessionID, r.lastEventID, r.protocolVersion, r.mcpMethod)
		}
		if r.method == "tools/call" && r.mcpName != counterTool && r.mcpName != whoamiTool {
			t.Errorf("tools/call carried Mcp-Name %q", r.mcpName)
		}
	}
	// One tools/list of the test's, one before each of the 6 calls.
	if want := map[string]int{"server/discover": 1, "tools/list": 7, "tools/call": 6}; !maps.Equal(methods, want) {
		t.Errorf("requests %v; want %v", methods, want)
	}
	if n := sessionRows(t, dsn); n != 0 {
		t.Errorf("%d sessions in the database; want 0", n)
	}
	if n := handleCount(t, dsn, testIdle, h, ""); n != 4 {
		t.Errorf("the handle's count in the database: %d; want 4", n)
	}

	// There is no session to DELETE: the client refuses, sending nothing,
	// and the servers answer a DELETE of this revision 405 (Allow: POST),
	// as go-sdk's stateless handler and mcp-go's modern one do. State lives
	// in handles, which end when idle for -idle-timeout, not by a DELETE.
	if err := cs.c.TerminateSession(t.Context()); err == nil {
		t.Error("TerminateSession at 2026-07-28: no error; want the client's refusal")
	}
	if sent := c.hops(); len(sent) != 0 {
		t.Errorf("TerminateSession at 2026-07-28 sent %+v; want nothing", sent)
	}
	modern := http.Header{adaptertest.HeaderProtocolVersion: {trpc.ProtocolVersion_2026_07_28}}
	for i := range 2 {
		r := adaptertest.SendWith(t, http.MethodDelete, c.replica(i).url, "", modern)
		if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != http.MethodPost {
			t.Errorf("DELETE at 2026-07-28 on %s: %d, Allow %q; want 405, POST", replicaNames[i], r.Status, r.Header.Get("Allow"))
		}
	}
	// So the next calls are served as before, on the same counter.
	mustCount(t, cs, h, 5)
	if got := mustText(t, cs, whoamiTool); got != who {
		t.Errorf("whoami after the DELETE: %s; want %s", got, who)
	}
}

// A GET that resumes, with Last-Event-ID, a POST's stream whose response
// was its last event delivered has nothing more to give: go-sdk (with an
// event store, so that its events carry ids) replays nothing and ends the
// response at once (mcp/streamable.go, acquireStream: "Nothing more to
// do"). trpc-mcp-go sends exactly that GET: the one it opens after
// initialize carries the id of initialize's answer. The go-sdk adapter
// must end it too, on either replica, rather than hold the connection
// until the session ends. The test sends the GET by hand: the client
// opens it in the background and never tells when it ends.
func TestE2ETRPCResumeAnsweredStream(t *testing.T) {
	t.Parallel()
	const within = 5 * time.Second
	t.Run("go-sdk's own handler", func(t *testing.T) {
		t.Parallel()
		server := mcp.NewServer(&mcp.Implementation{Name: serverName, Version: serverVersion}, nil)
		server.AddTool(&mcp.Tool{Name: whoamiTool, InputSchema: map[string]any{"type": "object"}},
			func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return &mcp.CallToolResult{}, nil
			})
		own := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
			&mcp.StreamableHTTPOptions{EventStore: mcp.NewMemoryEventStore(nil)})
		wire := &wireLog{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			wire.record(r)
			own.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		cs := connectTRPC(t, srv.URL, trpc.WithClientGetSSEEnabled(false))
		// go-sdk refuses this POST, for its Last-Event-ID (400): what
		// matters here is the id the client sent.
		_, _ = cs.c.ListTools(t.Context(), &trpc.ListToolsRequest{})
		last := wire.lastEventID(t)
		s := adaptertest.GetSSE(t, srv.URL, cs.sessionID(), last)
		if status := s.Status(t); status != http.StatusOK {
			t.Fatalf("GET resuming %q: %d; want 200", last, status)
		}
		s.AwaitEnd(t, within)
	})
	t.Run("two replicas", func(t *testing.T) {
		t.Parallel()
		testdb.Each(t, func(t *testing.T, dsn string) {
			c := newCluster(t, "go-sdk", dsn, testIdle)
			wire := recordWire(c)
			cs := connectTRPC(t, c.url, trpc.WithClientGetSSEEnabled(false))
			trpcListsTools(t, cs)
			last := wire.lastEventID(t)
			for i := range 2 {
				s := adaptertest.GetSSE(t, c.replica(i).url, cs.sessionID(), last)
				if status := s.Status(t); status != http.StatusOK {
					t.Fatalf("GET on %s resuming initialize's stream: %d; want 200", replicaNames[i], status)
				}
				select {
				case <-s.Ended():
				case <-time.After(within):
					t.Errorf("GET on %s resuming initialize's answered stream still open after %v (events %v); go-sdk ends it at once",
						replicaNames[i], within, s.Pending())
					s.Close()
					continue
				}
				for _, ev := range s.Pending() {
					if ev.Data != "" {
						t.Errorf("GET on %s resuming after initialize's answer sent %+v; want nothing", replicaNames[i], ev)
					}
				}
			}
		})
	})
}

// ---- the client ------------------------------------------------------------------

// trpcSession is a connected trpc-mcp-go client, for count, mustCount and
// mustText.
type trpcSession struct {
	c       *trpc.Client
	version string
}

// connectTRPC makes a client for url with opts, and initializes it (or, at
// 2026-07-28, discovers). Under the race detector its GET stream is off
// (its documented WithClientGetSSEEnabled): v0.0.20 writes the last event
// id it read, and the session id, from the GET stream's goroutine without
// a lock, while the calls' goroutine reads them, which the race detector
// reports in the client (streamable_client.go, lastEventID and sessionID).
// The calls' own wire is the same either way.
func connectTRPC(t *testing.T, url string, opts ...trpc.ClientOption) *trpcSession {
	t.Helper()
	if raceDetector {
		opts = append([]trpc.ClientOption{trpc.WithClientGetSSEEnabled(false)}, opts...)
	}
	c, err := trpc.NewClient(url, trpc.Implementation{Name: trpcClientName, Version: "1.0.0"}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	res, err := c.Initialize(ctx, nil)
	if err != nil {
		t.Fatalf("trpc-mcp-go client: %v", err)
	}
	if res.ServerInfo.Name != serverName {
		t.Errorf("server info %+v; want %s", res.ServerInfo, serverName)
	}
	return &trpcSession{c: c, version: res.ProtocolVersion}
}

func (s *trpcSession) sessionID() string       { return s.c.GetSessionID() }
func (s *trpcSession) protocolVersion() string { return s.version }
func (s *trpcSession) close() error            { return s.c.Close() }

func (s *trpcSession) tool(name string, args map[string]any) (toolResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := &trpc.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := s.c.CallTool(ctx, req)
	if err != nil {
		return toolResult{}, err
	}
	if len(res.Content) == 0 {
		return toolResult{isError: res.IsError}, errors.New("empty tool result")
	}
	text, ok := res.Content[0].(trpc.TextContent)
	if !ok {
		return toolResult{isError: res.IsError}, fmt.Errorf("tool result %T", res.Content[0])
	}
	return toolResult{text: text.Text, isError: res.IsError, structured: res.StructuredContent}, nil
}

// trpcListsTools checks that tools/list, through the client, lists the
// example's tools.
func trpcListsTools(t *testing.T, s *trpcSession) {
	t.Helper()
	res, err := s.c.ListTools(t.Context(), &trpc.ListToolsRequest{})
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	if want := []string{confirmTool, counterTool, notifyTool, researchTool, sampleTool, whoamiTool}; !slices.Equal(names, want) {
		t.Errorf("tools/list: %v; want %v", names, want)
	}
}

// ---- what goes over the wire ---------------------------------------------------

// wireRequest is what a request carried, as the proxy received it.
type wireRequest struct {
	method          string // the JSON-RPC method, or the HTTP method for GET and DELETE
	sessionID       string
	lastEventID     string
	protocolVersion string // the MCP-Protocol-Version header
	mcpMethod       string // the Mcp-Method header
	mcpName         string // the Mcp-Name header
}

// wireLog is the requests a cluster's proxy (or a test server) received.
type wireLog struct {
	mu   sync.Mutex
	reqs []wireRequest
}

// recordWire logs every request c's proxy receives.
func recordWire(c *cluster) *wireLog {
	l := &wireLog{}
	fn := l.record
	c.before.Store(&fn)
	return l
}

func (l *wireLog) record(r *http.Request) {
	w := wireRequest{
		method:          r.Method,
		sessionID:       r.Header.Get("Mcp-Session-Id"),
		lastEventID:     r.Header.Get("Last-Event-ID"),
		protocolVersion: r.Header.Get("MCP-Protocol-Version"),
		mcpMethod:       r.Header.Get("Mcp-Method"),
		mcpName:         r.Header.Get("Mcp-Name"),
	}
	if r.Method == http.MethodPost {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var head struct {
			Method string `json:"method"`
		}
		_ = json.Unmarshal(body, &head)
		w.method = head.Method
	}
	l.mu.Lock()
	l.reqs = append(l.reqs, w)
	l.mu.Unlock()
}

// take returns the requests logged so far and forgets them.
func (l *wireLog) take() []wireRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	reqs := l.reqs
	l.reqs = nil
	return reqs
}

// lastEventID is the first Last-Event-ID a request carried.
func (l *wireLog) lastEventID(t *testing.T) string {
	t.Helper()
	for _, r := range l.take() {
		if r.lastEventID != "" {
			return r.lastEventID
		}
	}
	t.Fatal("no request carried Last-Event-ID")
	return ""
}

// roundRobinPerMethod routes each JSON-RPC method (and GET, DELETE)
// round-robin over the replicas by itself. Plain round-robin would send
// every tools/call of the client at 2026-07-28 to one replica: it sends a
// tools/list before each.
func roundRobinPerMethod(c *cluster) {
	var mu sync.Mutex
	next := map[string]int{}
	c.routeBy(func(method string) int {
		mu.Lock()
		defer mu.Unlock()
		i := next[method] % 2
		next[method]++
		return i
	})
}

// methodHops are the hops of one method.
func methodHops(hops []hop, method string) []hop {
	var out []hop
	for _, h := range hops {
		if h.rpcMethod == method {
			out = append(out, h)
		}
	}
	return out
}
