package mcpgo

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/cache"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/mcpsession/mcpsession/internal/record"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	withIdle := testdb.OpenStore(t, "sqlite::memory:", sqlstore.WithIdleTimeout(time.Minute))
	noIdle := testdb.OpenStore(t, "sqlite::memory:")
	for name, tc := range map[string]struct {
		store mcpsession.Store
		opt   Option
	}{
		"nil store":             {nil, WithLogger(slog.Default())},
		"nil option":            {noIdle, nil},
		"zero interval":         {noIdle, WithTouchInterval(0)},
		"negative interval":     {noIdle, WithTouchInterval(-time.Second)},
		"interval = idle/2":     {withIdle, WithTouchInterval(30 * time.Second)},
		"interval > idle":       {withIdle, WithTouchInterval(2 * time.Minute)},
		"nil logger":            {noIdle, WithLogger(nil)},
		"nil http context func": {noIdle, WithHTTPContextFunc(nil)},
	} {
		if _, err := New(tc.store, tc.opt); !errors.Is(err, mcpsession.ErrInvalidOption) {
			t.Errorf("%s: %v; want mcpsession.ErrInvalidOption", name, err)
		}
	}
	for _, tc := range []struct {
		idle time.Duration
		opts []Option
		want time.Duration
	}{
		{0, nil, time.Minute},
		{30 * time.Minute, nil, time.Minute},
		{2 * time.Minute, nil, 30 * time.Second},
		{300 * time.Millisecond, nil, 75 * time.Millisecond},
		{time.Minute, []Option{WithTouchInterval(29 * time.Second)}, 29 * time.Second},
		{0, []Option{WithTouchInterval(time.Hour)}, time.Hour},
	} {
		st := noIdle
		if tc.idle > 0 {
			st = testdb.OpenStore(t, "sqlite::memory:", sqlstore.WithIdleTimeout(tc.idle))
		}
		s, err := New(st, tc.opts...)
		if err != nil {
			t.Fatalf("idle %v: %v", tc.idle, err)
		}
		if got := s.core.TouchInterval(); got != tc.want {
			t.Errorf("idle %v: touch interval %v; want %v", tc.idle, got, tc.want)
		}
	}
}

// Initialize stores what the server negotiated, under the reserved keys,
// and the answer and the record agree on the protocol version.
func TestInitializeStoresNegotiated(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		st := testdb.OpenStore(t, dsn)
		a := newReplica(t, "a", st, replicaConfig{})
		for _, tc := range []struct{ asked, want string }{
			{"2025-06-18", "2025-06-18"},
			{"1999-01-01", mcp.LATEST_LEGACY_PROTOCOL_VERSION},
			{"", "2025-03-26"},
		} {
			sid := initialize(t, a.url, "raw", tc.asked)
			meta, err := st.Get(t.Context(), sid)
			if err != nil {
				t.Fatal(err)
			}
			if got := meta[keyProtocolVersion]; got != tc.want {
				t.Errorf("asked %q: stored protocol version %v; want %s", tc.asked, got, tc.want)
			}
			if got := probeOn(t, a.url, sid).ProtocolVersion; got != tc.want {
				t.Errorf("asked %q: handler sees %q; want %s", tc.asked, got, tc.want)
			}
			info, _ := meta[keyClientInfo].(map[string]any)
			caps, _ := meta[keyClientCapabilities].(map[string]any)
			if info["name"] != "raw" || caps["roots"] == nil || meta[keyTouchedAt] == nil {
				t.Errorf("record %v; want client info, capabilities and touchedAt", meta)
			}
			if _, ok := meta[keyLogLevel]; ok {
				t.Errorf("record %v has a log level before logging/setLevel", meta)
			}
		}
	})
}

// State set on one replica reads the same on the other: client info,
// capabilities, protocol version, log level.
func TestStateRestoredOnEveryReplica(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		a := newReplica(t, "a", testdb.OpenStore(t, dsn), replicaConfig{})
		b := newReplica(t, "b", testdb.OpenStore(t, dsn), replicaConfig{})
		sid := initialize(t, a.url, "alice", "2025-06-18")

		onB := probeOn(t, b.url, sid)
		want := probeResult{Replica: "b", Session: sid, Client: "alice", ProtocolVersion: "2025-06-18", LogLevel: "error", Roots: true}
		if onB != want {
			t.Errorf("on b before setLevel: %+v; want %+v", onB, want)
		}
		if status, res := call(t, b.url, sid, "logging/setLevel", map[string]any{"level": "debug"}); status != http.StatusOK || strings.Contains(string(res), "code") {
			t.Fatalf("setLevel on b: %d %s", status, res)
		}
		want.LogLevel = "debug"
		for _, r := range []*replica{a, b, a} {
			want.Replica = r.name
			if got := probeOn(t, r.url, sid); got != want {
				t.Errorf("on %s: %+v; want %+v", r.name, got, want)
			}
		}
		if status, _ := call(t, a.url, sid, "logging/setLevel", map[string]any{"level": "warning"}); status != http.StatusOK {
			t.Fatalf("setLevel on a: %d", status)
		}
		if got := probeOn(t, b.url, sid).LogLevel; got != "warning" {
			t.Errorf("on b after setLevel on a: level %q; want warning", got)
		}
	})
}

// The client's info is decoded once per session and replica, but a changed
// record is read as changed, through the cache (shared maps) and without.
func TestRestoreFollowsTheRecord(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		for name, st := range map[string]mcpsession.Store{"store": testdb.OpenStore(t, dsn), "cache": newCachedStore(t, dsn)} {
			a := newReplica(t, "a", st, replicaConfig{})
			sid := initialize(t, a.url, "alice", "2025-06-18")
			for range 2 {
				if got := probeOn(t, a.url, sid).Client; got != "alice" {
					t.Fatalf("%s: client %q; want alice", name, got)
				}
			}
			if err := st.Update(t.Context(), sid, map[string]any{keyClientInfo: map[string]any{"name": "renamed", "version": "2"}}); err != nil {
				t.Fatal(err)
			}
			if got := probeOn(t, a.url, sid).Client; got != "renamed" {
				t.Errorf("%s: client %q after the record changed; want renamed", name, got)
			}
		}
	})
}

// A replica's shutdown and its idle sweep drop the session from its memory
// (mcp-go calls Terminate for both) but not from the store.
func TestShutdownAndSweepKeepSessions(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		st := testdb.OpenStore(t, dsn)
		a := newReplica(t, "a", st, replicaConfig{})
		swept := make(chan string, 10)
		hooks := &server.Hooks{}
		hooks.AddOnUnregisterSession(func(_ context.Context, cs server.ClientSession) { swept <- cs.SessionID() })
		sw := newReplica(t, "sweeper", st, replicaConfig{
			hooks:     hooks,
			httpAfter: []server.StreamableHTTPOption{server.WithSessionIdleTTL(20 * time.Millisecond)},
		})

		sid := initialize(t, sw.url, "c", "2025-06-18") // registered in sw's memory
		select {
		case got := <-swept:
			if got != sid {
				t.Fatalf("swept %q; want %q", got, sid)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the idle sweep did not run")
		}
		if _, err := st.Get(t.Context(), sid); err != nil {
			t.Fatalf("after the idle sweep: %v", err)
		}
		if got := probeOn(t, sw.url, sid).Client; got != "c" {
			t.Errorf("after the sweep the sweeping replica sees client %q", got)
		}

		sid2 := initialize(t, a.url, "d", "2025-06-18")
		if err := a.mcp.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{sid, sid2} {
			if _, err := st.Get(t.Context(), id); err != nil {
				t.Errorf("session after Shutdown: %v", err)
			}
		}
		if got := probeOn(t, sw.url, sid2).Client; got != "d" {
			t.Errorf("after a's shutdown the other replica sees client %q", got)
		}
	})
}

// Requests of the sessionless revision go through untouched: the store sees
// no call at all.
func TestSessionlessNeverTouchesStore(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		cs := &countingStore{Store: testdb.OpenStore(t, dsn)}
		a := newReplica(t, "a", cs, replicaConfig{})

		c, err := client.NewStreamableHttpClient(a.url) // v1.2.1 defaults to 2026-07-28
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		res, err := c.Initialize(t.Context(), mcp.InitializeRequest{Params: mcp.InitializeParams{ClientInfo: mcp.Implementation{Name: "modern"}}})
		if err != nil {
			t.Fatal(err)
		}
		if res.ProtocolVersion != mcp.ProtocolVersion20260728 || c.GetSessionId() != "" {
			t.Fatalf("negotiated %q with session %q; want sessionless %s", res.ProtocolVersion, c.GetSessionId(), mcp.ProtocolVersion20260728)
		}
		got, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "probe"}})
		if err != nil {
			t.Fatal(err)
		}
		var p probeResult
		if err := json.Unmarshal([]byte(got.Content[0].(mcp.TextContent).Text), &p); err != nil {
			t.Fatal(err)
		}
		if p.Client != "modern" || p.Session != "" || p.ProtocolVersion != mcp.ProtocolVersion20260728 {
			t.Errorf("probe: %+v", p)
		}
		got, err = c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "state", Arguments: map[string]any{"op": "get"}}})
		if err != nil {
			t.Fatal(err)
		}
		if text := got.Content[0].(mcp.TextContent).Text; text != "error: "+ErrNoSession.Error() {
			t.Errorf("State in a sessionless request: %s; want ErrNoSession", text)
		}
		// GET and DELETE of the sessionless revision: mcp-go's 405, not ours.
		for _, m := range []string{http.MethodGet, http.MethodDelete} {
			req, _ := http.NewRequest(m, a.url, nil)
			req.Header.Set(mcp.HeaderProtocolVersion, mcp.ProtocolVersion20260728)
			req.Header.Set(server.HeaderKeySessionID, mcpsession.NewID())
			if r := do(t, req); r.Status != http.StatusMethodNotAllowed {
				t.Errorf("sessionless %s: %d; want 405", m, r.Status)
			}
		}
		if n := cs.Total(); n != 0 {
			t.Errorf("the store saw %d calls; want 0", n)
		}
	})
}

func TestHelpersOutsideSession(t *testing.T) {
	t.Parallel()
	helpers.OutsideSession(t)
}

// The mcp-go client, pinned to a session-based revision, moves between
// replicas with its session, and after a DELETE elsewhere gets
// ErrSessionTerminated until it initializes again.
func TestClientAcrossReplicas(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		a := newReplica(t, "a", testdb.OpenStore(t, dsn), replicaConfig{})
		b := newReplica(t, "b", testdb.OpenStore(t, dsn), replicaConfig{})
		tr, err := transport.NewStreamableHTTP(a.url)
		if err != nil {
			t.Fatal(err)
		}
		c := client.NewClient(tr, client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
		defer c.Close()
		if err := c.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		init := mcp.InitializeRequest{Params: mcp.InitializeParams{ClientInfo: mcp.Implementation{Name: "go-client"}}}
		if _, err := c.Initialize(t.Context(), init); err != nil {
			t.Fatal(err)
		}
		sid := c.GetSessionId()
		if got := probeOn(t, b.url, sid); got.Client != "go-client" || got.ProtocolVersion != mcp.LATEST_LEGACY_PROTOCOL_VERSION {
			t.Errorf("on b: %+v", got)
		}
		if r := send(t, http.MethodDelete, b.url, sid); r.Status != http.StatusOK {
			t.Fatalf("DELETE on b: %d", r.Status)
		}
		_, err = c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "probe"}})
		if !errors.Is(err, transport.ErrSessionTerminated) {
			t.Fatalf("call after DELETE: %v; want ErrSessionTerminated", err)
		}
		if _, err := c.Initialize(t.Context(), init); err != nil {
			t.Fatal(err)
		}
		if c.GetSessionId() == sid || c.GetSessionId() == "" {
			t.Errorf("new session %q after %q", c.GetSessionId(), sid)
		}
		if _, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "probe"}}); err != nil {
			t.Errorf("call after re-initialize: %v", err)
		}
	})
}

// Without Handler in front of mcp-go, the principal still reaches tool
// handlers and initialize, through the context function and the session
// id manager; a session's request from another principal is then refused
// with mcp-go's 404 rather than a 403, and served no further.
func TestPrincipalWithoutHandler(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		st := testdb.OpenStore(t, dsn)
		a := newReplica(t, "a", st, replicaConfig{opts: []Option{WithPrincipal(adaptertest.TestPrincipal)}, noHandler: true})
		alice := adaptertest.As("alice")
		if got := adaptertest.ModernTool(t, a.url, alice, "handle", map[string]any{"op": "principal"}); got != `"alice"` {
			t.Errorf("sessionless principal: %s", got)
		}
		sid := adaptertest.InitializeWith(t, a.url, "c", adaptertest.LegacyVersion, alice)
		meta, err := st.Get(t.Context(), sid)
		if err != nil || meta[record.KeyPrincipal] != "alice" {
			t.Fatalf("record: %v %v", meta, err)
		}
		if got := adaptertest.ToolWith(t, a.url, sid, alice, "handle", map[string]any{"op": "principal"}); got != `"alice"` {
			t.Errorf("principal in the session: %s", got)
		}
		if status, body := adaptertest.CallWith(t, a.url, sid, adaptertest.As("bob"), "tools/list", nil); status != http.StatusNotFound {
			t.Errorf("bob on alice's session without Handler: %d %s; want mcp-go's 404", status, body)
		}
		if got := adaptertest.ModernTool(t, a.url, adaptertest.As("refuse"), "handle", map[string]any{"op": "principal"}); got != "error: "+ErrNoPrincipal.Error() {
			t.Errorf("a refused principal without Handler: %s; want ErrNoPrincipal", got)
		}
	})
}

// newCachedStore is a cache over a store of dsn, serving from memory on
// both dialects.
func newCachedStore(t *testing.T, dsn string) cache.Store {
	t.Helper()
	st := testdb.OpenStore(t, dsn)
	c, err := cache.New(st, adaptertest.StartBus(t, st, bus.WithPollInterval(20*time.Millisecond)), cache.WithPolledInvalidation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
