package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mcpsession/mcpsession"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// realClient is one of the two real client libraries, as a user runs it:
// pinned to a session-based revision, or at its defaults (the sessionless
// one).
type realClient struct {
	name   string
	pinned bool
	// connect connects and initializes (or discovers) through url, sending
	// token as an Authorization: Bearer credential ("" sends none).
	connect func(t *testing.T, url, token string) clientSession
}

// clientSession is what the test does with a connected client.
type clientSession interface {
	sessionID() string
	protocolVersion() string
	tool(name string, args map[string]any) (toolResult, error)
	close() error
}

// toolResult is a tools/call answer as the client library decoded it.
type toolResult struct {
	text       string // the first content, which must be text
	isError    bool
	structured any // structuredContent
}

var realClients = []realClient{
	{"go-sdk pinned to 2025-11-25", true, connectGoSDK(&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})},
	{"go-sdk at its defaults", false, connectGoSDK(nil)},
	{"mcp-go pinned to 2025-11-25", true, connectMCPGo(true)},
	{"mcp-go at its defaults", false, connectMCPGo(false)},
}

// pinnedOf is the same library as rc, pinned to 2025-11-25.
func pinnedOf(rc realClient) realClient {
	for _, p := range realClients {
		if p.pinned && strings.SplitN(p.name, " ", 2)[0] == strings.SplitN(rc.name, " ", 2)[0] {
			return p
		}
	}
	panic("no pinned client for " + rc.name)
}

// Both real clients, pinned and at their defaults, through a round-robin
// proxy over two replicas. Pinned clients have a session: whoami reads the
// same on both replicas, 50 parallel counter calls split across them give
// 1..50 exactly once each, all counted in the session (no handle), and
// after the client's close (a DELETE) the session is 404 on both. Clients
// at their defaults speak the sessionless revision: both replicas serve
// whoami, no session reaches the database, and counter starts a counter
// of its own under a new handle.
func TestE2ERealClients(t *testing.T) {
	t.Parallel()
	eachCluster(t, func(t *testing.T, sdk, dsn string) {
		for _, rc := range realClients {
			t.Run(rc.name, func(t *testing.T) {
				c := newCluster(t, sdk, dsn, testIdle)
				cs := rc.connect(t, c.url, "")
				if rc.pinned {
					pinnedClient(t, c, sdk, cs)
				} else {
					defaultClient(t, c, sdk, dsn, cs)
				}
			})
		}
	})
}

func pinnedClient(t *testing.T, c *cluster, sdk string, cs clientSession) {
	sid := cs.sessionID()
	if sid == "" || cs.protocolVersion() != "2025-11-25" {
		t.Fatalf("session %q, protocol %q; want a session on 2025-11-25", sid, cs.protocolVersion())
	}
	c.hops()
	want := fmt.Sprintf(`{"client":"e2e-client","protocolVersion":"2025-11-25","logLevel":"%s"}`, defaultLevel[sdk])
	for range 6 {
		if got := mustText(t, cs, "whoami"); got != want {
			t.Fatalf("whoami: %s; want %s", got, want)
		}
	}
	if served := toolReplicas(c.hops()); served[0] == 0 || served[1] == 0 {
		t.Errorf("whoami calls per replica %v; want both used", served)
	}

	const n = 50
	values := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			out, err := count(cs, "")
			if err != nil {
				t.Errorf("counter call %d: %v", i, err)
				return
			}
			if out.Handle != "" {
				t.Errorf("counter call %d in a session returned handle %q", i, out.Handle)
			}
			values[i] = int(out.Count)
		})
	}
	wg.Wait()
	if !onceEach(values, 1) {
		t.Fatalf("counter values %v; want 1..%d once each", values, n)
	}
	served := toolReplicas(c.hops())
	if served[0] == 0 || served[1] == 0 {
		t.Errorf("counter calls per replica %v; want both used", served)
	}
	t.Logf("%d parallel counter calls, %d on a and %d on b: 1..%d once each", n, served[0], served[1], n)

	if err := cs.close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	for i := range 2 {
		if status, body := rawPost(t, c.replica(i).url, sid, toolsList); status != http.StatusNotFound {
			t.Errorf("POST on %s after the client's close: %d %s; want 404", replicaNames[i], status, body)
		}
	}
}

func defaultClient(t *testing.T, c *cluster, sdk, dsn string, cs clientSession) {
	defer cs.close()
	if cs.sessionID() != "" || cs.protocolVersion() != "2026-07-28" {
		t.Fatalf("session %q, protocol %q; want sessionless 2026-07-28", cs.sessionID(), cs.protocolVersion())
	}
	c.hops()
	want := fmt.Sprintf(`{"client":"e2e-client","protocolVersion":"2026-07-28","logLevel":"%s"}`, defaultLevel[sdk])
	for range 4 {
		if got := mustText(t, cs, "whoami"); got != want {
			t.Fatalf("whoami: %s; want %s", got, want)
		}
	}
	if served := toolReplicas(c.hops()); served[0] == 0 || served[1] == 0 {
		t.Errorf("whoami calls per replica %v; want both used", served)
	}
	first, err := count(cs, "")
	if err != nil || first.Count != 1 || mcpsession.ValidateID(first.Handle) != nil {
		t.Fatalf("counter without a session: %+v %v; want count 1 and a new handle", first, err)
	}
	if next, err := count(cs, first.Handle); err != nil || next.Count != 2 || next.Handle != first.Handle {
		t.Errorf("counter on the new handle: %+v %v; want 2 on the same handle", next, err)
	}
	if n := sessionRows(t, dsn); n != 0 {
		t.Errorf("%d sessions in the database; want 0", n)
	}
}

// The real clients at their defaults, counting on a handle, against two
// replicas over one database: a handle created on one counts on the
// other; 40 parallel calls split across both count exactly; calls with
// another principal's token, or none, are tool errors and change nothing;
// a client of the same library pinned to 2025-11-25, with the owner's
// token, counts on the handle too, and in its session without one; the
// handle outlives the replica that created it, and a restart of it.
func TestE2ERealClientHandles(t *testing.T) {
	t.Parallel()
	eachCluster(t, func(t *testing.T, sdk, dsn string) {
		for _, rc := range realClients {
			if rc.pinned {
				continue
			}
			t.Run(rc.name, func(t *testing.T) { handleClient(t, sdk, dsn, rc) })
		}
	})
}

func handleClient(t *testing.T, sdk, dsn string, rc realClient) {
	c := newCluster(t, sdk, dsn, testIdle)
	const a, b = 0, 1
	owner := rc.connect(t, c.url, "token-of-owner")
	c.routeBy(func(string) int { return a })
	first := mustCount(t, owner, "", 1)
	h := first.Handle
	if mcpsession.ValidateID(h) != nil || len(h) < 22 {
		t.Fatalf("handle %q: not a valid MCP id of 128 bits or more", h)
	}
	c.routeBy(func(string) int { return b })
	mustCount(t, owner, h, 2)

	// 40 at once, round-robin over both replicas.
	c.routeBy(nil)
	c.hops()
	const n = 40
	values := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			out, err := count(owner, h)
			if err != nil || out.Handle != h {
				t.Errorf("parallel call %d: %+v %v", i, out, err)
				return
			}
			values[i] = int(out.Count)
		})
	}
	wg.Wait()
	if !onceEach(values, 3) {
		t.Fatalf("parallel counts %v; want 3..%d once each", values, 2+n)
	}
	served := toolReplicas(c.hops())
	if served[0] == 0 || served[1] == 0 {
		t.Errorf("parallel calls per replica %v; want both used", served)
	}
	t.Logf("%d parallel calls on one handle, %d on a and %d on b: 3..%d once each", n, served[0], served[1], 2+n)
	next := int64(2 + n + 1)

	// Another principal's token, and no token at all: tool errors on both
	// replicas, and the count does not move.
	for _, token := range []string{"token-of-someone-else", ""} {
		other := rc.connect(t, c.url, token)
		for range 2 {
			res, err := other.tool("counter", map[string]any{"handle": h})
			if err != nil || !res.isError {
				t.Errorf("counter on the owner's handle with token %q: %+v %v; want a tool error", token, res, err)
			}
		}
	}
	mustCount(t, owner, h, next)
	next++

	// Both eras on one endpoint: a pinned client with the owner's token
	// counts on the handle, and in its own session without one.
	pinned := pinnedOf(rc).connect(t, c.url, "token-of-owner")
	if pinned.sessionID() == "" {
		t.Fatal("the pinned client has no session")
	}
	mustCount(t, pinned, h, next)
	next++
	if out := mustCount(t, pinned, "", 1); out.Handle != "" {
		t.Errorf("counter in the session returned handle %q", out.Handle)
	}

	// The replica that created the handle stops; the other counts on.
	c.stop(a)
	c.routeBy(func(string) int { return b })
	mustCount(t, owner, h, next)
	next++
	c.restart(b)
	mustCount(t, owner, h, next)
	next++
	c.restart(a)
	c.routeBy(func(string) int { return a })
	mustCount(t, owner, h, next)
	if got := handleCount(t, dsn, testIdle, h, bearer("token-of-owner")); got != next {
		t.Errorf("the handle's count in the database: %d; want %d", got, next)
	}
}

// Handles expire when idle for -idle-timeout: a call with an expired
// handle is a tool error, and one without starts a new counter.
func TestE2EHandleIdleExpiry(t *testing.T) {
	t.Parallel()
	eachCluster(t, func(t *testing.T, sdk, dsn string) {
		for _, rc := range realClients {
			if rc.pinned {
				continue
			}
			t.Run(rc.name, func(t *testing.T) {
				const idle = 2 * time.Second // long beside a call on a loaded machine: a call that outlasts it ends the session
				c := newCluster(t, sdk, dsn, idle)
				cs := rc.connect(t, c.url, "")
				h := mustCount(t, cs, "", 1).Handle
				mustCount(t, cs, h, 2)
				waitHandleExpired(t, dsn, idle, h, "", 10*time.Second)
				if res, err := cs.tool("counter", map[string]any{"handle": h}); err != nil || !res.isError {
					t.Errorf("counter on an expired handle: %+v %v; want a tool error", res, err)
				}
				if fresh := mustCount(t, cs, "", 1); fresh.Handle == h {
					t.Error("a new counter got the expired handle")
				}
			})
		}
	})
}

// count calls counter, on handle unless it is "", and checks that text
// and structuredContent agree.
func count(cs clientSession, handle string) (counterOutput, error) {
	args := map[string]any{}
	if handle != "" {
		args["handle"] = handle
	}
	res, err := cs.tool("counter", args)
	if err != nil {
		return counterOutput{}, err
	}
	if res.isError {
		return counterOutput{}, fmt.Errorf("tool error: %s", res.text)
	}
	var out counterOutput
	if !decodeStructured(res.structured, &out) {
		return counterOutput{}, fmt.Errorf("structuredContent %#v is not counter's output", res.structured)
	}
	if res.text != strconv.FormatInt(out.Count, 10) {
		return out, fmt.Errorf("text %q; structuredContent %+v", res.text, out)
	}
	return out, nil
}

func mustCount(t *testing.T, cs clientSession, handle string, want int64) counterOutput {
	t.Helper()
	out, err := count(cs, handle)
	if err != nil {
		t.Fatalf("counter on %q: %v", handle, err)
	}
	if out.Count != want || (handle != "" && out.Handle != handle) {
		t.Fatalf("counter on %q: %+v; want count %d", handle, out, want)
	}
	return out
}

// decodeStructured reads structuredContent, as the client decoded it,
// into out, refusing keys counter's output does not have.
func decodeStructured(v any, out *counterOutput) bool {
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(out) == nil
}

// onceEach reports whether values are from, from+1, ... once each.
func onceEach(values []int, from int) bool {
	values = slices.Clone(values)
	slices.Sort(values)
	for i, v := range values {
		if v != from+i {
			return false
		}
	}
	return true
}

// bearer is the example's principal of a request with token.
func bearer(token string) string {
	r, _ := http.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	p, _ := bearerPrincipal(r)
	return p
}

// toolReplicas counts the tools/call each replica answered with 200.
func toolReplicas(hops []hop) (served [2]int) {
	for _, h := range hops {
		if h.rpcMethod == "tools/call" && h.status == http.StatusOK {
			served[h.replica]++
		}
	}
	return served
}

func mustText(t *testing.T, cs clientSession, name string) string {
	t.Helper()
	res, err := cs.tool(name, nil)
	if err != nil || res.isError {
		t.Fatalf("%s: %+v %v", name, res, err)
	}
	return res.text
}

// ---- go-sdk's client -----------------------------------------------------------

type goSDKSession struct{ s *mcp.ClientSession }

func connectGoSDK(opts *mcp.ClientSessionOptions) func(t *testing.T, url, token string) clientSession {
	return func(t *testing.T, url, token string) clientSession {
		t.Helper()
		c := mcp.NewClient(&mcp.Implementation{Name: "e2e-client", Version: "1.0.0"}, nil)
		tr := &mcp.StreamableClientTransport{Endpoint: url}
		if token != "" {
			tr.HTTPClient = &http.Client{Transport: withBearer{token}}
		}
		s, err := c.Connect(context.Background(), tr, opts)
		if err != nil {
			t.Fatalf("go-sdk client: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return goSDKSession{s}
	}
}

func (g goSDKSession) sessionID() string       { return g.s.ID() }
func (g goSDKSession) protocolVersion() string { return g.s.InitializeResult().ProtocolVersion }
func (g goSDKSession) close() error            { return g.s.Close() }

func (g goSDKSession) tool(name string, args map[string]any) (toolResult, error) {
	if args == nil {
		args = map[string]any{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := g.s.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		return toolResult{}, err
	}
	if len(res.Content) == 0 {
		return toolResult{isError: res.IsError}, errors.New("empty tool result")
	}
	text, _ := res.Content[0].(*mcp.TextContent)
	if text == nil {
		return toolResult{isError: res.IsError}, fmt.Errorf("tool result %T", res.Content[0])
	}
	return toolResult{text: text.Text, isError: res.IsError, structured: res.StructuredContent}, nil
}

// withBearer sends a bearer token with every request.
type withBearer struct{ token string }

func (b withBearer) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(req)
}

// ---- mcp-go's client -----------------------------------------------------------

type mcpgoSession struct {
	c       *client.Client
	version string
}

func connectMCPGo(pinned bool) func(t *testing.T, url, token string) clientSession {
	return func(t *testing.T, url, token string) clientSession {
		t.Helper()
		var topts []transport.StreamableHTTPCOption
		if token != "" {
			topts = append(topts, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
		}
		tr, err := transport.NewStreamableHTTP(url, topts...)
		if err != nil {
			t.Fatal(err)
		}
		var opts []client.ClientOption
		if pinned {
			opts = append(opts, client.WithProtocolVersion(mcpgo.LATEST_LEGACY_PROTOCOL_VERSION))
		}
		c := client.NewClient(tr, opts...)
		t.Cleanup(func() { c.Close() })
		if err := c.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		res, err := c.Initialize(context.Background(), mcpgo.InitializeRequest{Params: mcpgo.InitializeParams{
			ClientInfo: mcpgo.Implementation{Name: "e2e-client", Version: "1.0.0"},
		}})
		if err != nil {
			t.Fatalf("mcp-go client: %v", err)
		}
		return &mcpgoSession{c: c, version: res.ProtocolVersion}
	}
}

func (m *mcpgoSession) sessionID() string       { return m.c.GetSessionId() }
func (m *mcpgoSession) protocolVersion() string { return m.version }
func (m *mcpgoSession) close() error            { return m.c.Close() }

func (m *mcpgoSession) tool(name string, args map[string]any) (toolResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := m.c.CallTool(ctx, mcpgo.CallToolRequest{Params: mcpgo.CallToolParams{Name: name, Arguments: args}})
	if err != nil {
		return toolResult{}, err
	}
	if len(res.Content) == 0 {
		return toolResult{isError: res.IsError}, errors.New("empty tool result")
	}
	text, ok := res.Content[0].(mcpgo.TextContent)
	if !ok {
		return toolResult{isError: res.IsError}, fmt.Errorf("tool result %T", res.Content[0])
	}
	return toolResult{text: text.Text, isError: res.IsError, structured: res.StructuredContent}, nil
}
