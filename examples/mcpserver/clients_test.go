package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// realClient is one of the two real client libraries, as a user runs it:
// pinned to a session-based revision, or at its defaults (the sessionless
// one).
type realClient struct {
	name   string
	pinned bool
	// connect connects and initializes (or discovers) through url.
	connect func(t *testing.T, url string) clientSession
}

// clientSession is what the test does with a connected client.
type clientSession interface {
	sessionID() string
	protocolVersion() string
	tool(name string) (text string, isError bool, err error)
	close() error
}

var realClients = []realClient{
	{"go-sdk pinned to 2025-11-25", true, connectGoSDK(&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})},
	{"go-sdk at its defaults", false, connectGoSDK(nil)},
	{"mcp-go pinned to 2025-11-25", true, connectMCPGo(true)},
	{"mcp-go at its defaults", false, connectMCPGo(false)},
}

// Both real clients, pinned and at their defaults, through a round-robin
// proxy over two replicas. Pinned clients have a session: whoami reads the
// same on both replicas, 50 parallel counter calls split across them give
// 1..50 exactly once each, and after the client's close (a DELETE) the
// session is 404 on both. Clients at their defaults speak the sessionless
// revision: both replicas serve whoami, nothing reaches the database, and
// counter, whose state lives in a session, answers an error until state
// handles replace sessions for that revision.
func TestE2ERealClients(t *testing.T) {
	t.Parallel()
	eachSDK(t, func(t *testing.T, sdk, dsn string) {
		for _, rc := range realClients {
			t.Run(rc.name, func(t *testing.T) {
				c := newCluster(t, sdk, dsn, testIdle)
				cs := rc.connect(t, c.url)
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
			text, isError, err := cs.tool("counter")
			if err != nil || isError {
				t.Errorf("counter call %d: %q %v", i, text, err)
				return
			}
			values[i], _ = strconv.Atoi(text)
		})
	}
	wg.Wait()
	slices.Sort(values)
	for i, v := range values {
		if v != i+1 {
			t.Fatalf("counter values %v; want 1..%d once each", values, n)
		}
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
	// Until state handles: no session, so no session state.
	if text, isError, err := cs.tool("counter"); err == nil && !isError {
		t.Errorf("counter without a session: %q; want an error", text)
	}
	if n := sessionRows(t, dsn); n != 0 {
		t.Errorf("%d sessions in the database; want 0", n)
	}
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
	text, isError, err := cs.tool(name)
	if err != nil || isError {
		t.Fatalf("%s: %q %v", name, text, err)
	}
	return text
}

// ---- go-sdk's client -----------------------------------------------------------

type goSDKSession struct{ s *mcp.ClientSession }

func connectGoSDK(opts *mcp.ClientSessionOptions) func(t *testing.T, url string) clientSession {
	return func(t *testing.T, url string) clientSession {
		t.Helper()
		c := mcp.NewClient(&mcp.Implementation{Name: "e2e-client", Version: "1.0.0"}, nil)
		s, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: url}, opts)
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

func (g goSDKSession) tool(name string) (string, bool, error) {
	res, err := g.s.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: map[string]any{}})
	if err != nil {
		return "", false, err
	}
	if len(res.Content) == 0 {
		return "", res.IsError, errors.New("empty tool result")
	}
	text, _ := res.Content[0].(*mcp.TextContent)
	if text == nil {
		return "", res.IsError, fmt.Errorf("tool result %T", res.Content[0])
	}
	return text.Text, res.IsError, nil
}

// ---- mcp-go's client -----------------------------------------------------------

type mcpgoSession struct {
	c       *client.Client
	version string
}

func connectMCPGo(pinned bool) func(t *testing.T, url string) clientSession {
	return func(t *testing.T, url string) clientSession {
		t.Helper()
		tr, err := transport.NewStreamableHTTP(url)
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

func (m *mcpgoSession) tool(name string) (string, bool, error) {
	res, err := m.c.CallTool(context.Background(), mcpgo.CallToolRequest{Params: mcpgo.CallToolParams{Name: name}})
	if err != nil {
		return "", false, err
	}
	if len(res.Content) == 0 {
		return "", res.IsError, errors.New("empty tool result")
	}
	text, _ := res.Content[0].(mcpgo.TextContent)
	return text.Text, res.IsError, nil
}
