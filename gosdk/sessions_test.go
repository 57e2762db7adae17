package gosdk

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/mcpsession/mcpsession/internal/httpstatus"
	"github.com/mcpsession/mcpsession/internal/record"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	withIdle := testdb.OpenStore(t, "sqlite::memory:", sqlstore.WithIdleTimeout(time.Minute))
	noIdle := testdb.OpenStore(t, "sqlite::memory:")
	server := mcp.NewServer(&mcp.Implementation{Name: "t", Version: "1"}, nil)
	for name, tc := range map[string]struct {
		store  mcpsession.Store
		server *mcp.Server
		opt    Option
	}{
		"nil store":          {nil, server, WithLogger(slog.Default())},
		"nil server":         {noIdle, nil, WithLogger(slog.Default())},
		"nil option":         {noIdle, server, nil},
		"zero interval":      {noIdle, server, WithTouchInterval(0)},
		"interval = idle/2":  {withIdle, server, WithTouchInterval(30 * time.Second)},
		"nil logger":         {noIdle, server, WithLogger(nil)},
		"zero local ttl":     {noIdle, server, WithLocalIdleTimeout(0)},
		"zero max local":     {noIdle, server, WithMaxLocalSessions(0)},
		"sdk session expiry": {noIdle, server, WithStreamableHTTPOptions(mcp.StreamableHTTPOptions{SessionTimeout: time.Minute})},
		"event store":        {noIdle, server, WithStreamableHTTPOptions(mcp.StreamableHTTPOptions{EventStore: mcp.NewMemoryEventStore(nil)})},
	} {
		if _, err := New(tc.store, tc.server, tc.opt); !errors.Is(err, mcpsession.ErrInvalidOption) {
			t.Errorf("%s: %v; want mcpsession.ErrInvalidOption", name, err)
		}
	}
	s, err := New(withIdle, server, WithStreamableHTTPOptions(mcp.StreamableHTTPOptions{DisableLocalhostProtection: true}))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.core.TouchInterval(); got != 15*time.Second {
		t.Errorf("touch interval with a 1m idle timeout: %v; want 15s", got)
	}
}

// Initialize stores what go-sdk negotiated, under the reserved keys; every
// replica's go-sdk session hands handlers the same InitializeParams.
func TestInitializeStoresNegotiated(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		st := testdb.OpenStore(t, dsn)
		a := newReplica(t, "a", st)
		b := newReplica(t, "b", testdb.OpenStore(t, dsn))
		for _, tc := range []struct{ asked, want string }{
			{"2025-06-18", "2025-06-18"},
			{"2024-11-05", "2024-11-05"},
			{"1999-01-01", "2025-11-25"},
		} {
			r := rawPost(t, a.url, "", map[string]any{
				"jsonrpc": "2.0", "id": 1, "method": "initialize",
				"params": map[string]any{
					"protocolVersion": tc.asked,
					"clientInfo":      map[string]any{"name": "raw", "version": "1.0"},
					"capabilities":    map[string]any{"roots": map[string]any{"listChanged": true}, "sampling": map[string]any{}},
				},
			})
			sid := r.Header.Get(httpstatus.HeaderSessionID)
			if r.Status != http.StatusOK || sid == "" || !strings.Contains(string(r.Body), `"protocolVersion":"`+tc.want+`"`) {
				t.Fatalf("asked %q: %d %s, session %q; want %s", tc.asked, r.Status, r.Body, sid, tc.want)
			}
			meta, err := st.Get(t.Context(), sid)
			if err != nil {
				t.Fatal(err)
			}
			if got := meta[record.KeyProtocolVersion]; got != tc.want {
				t.Errorf("asked %q: stored protocol version %v; want %s", tc.asked, got, tc.want)
			}
			info, _ := meta[record.KeyClientInfo].(map[string]any)
			caps, _ := meta[record.KeyClientCapabilities].(map[string]any)
			roots, _ := caps["roots"].(map[string]any)
			if info["name"] != "raw" || roots["listChanged"] != true || caps["sampling"] == nil || meta[record.KeyTouchedAt] == nil {
				t.Errorf("record %v; want client info, the capabilities as sent, and touchedAt", meta)
			}
			if _, ok := meta[record.KeyLogLevel]; ok {
				t.Errorf("record %v has a log level before logging/setLevel", meta)
			}
			onA, onB := probeOn(t, a.url, sid), probeOn(t, b.url, sid)
			want := probeResult{Replica: "a", Session: sid, Client: "raw", ProtocolVersion: tc.asked, Roots: true}
			if onA != want {
				t.Errorf("on a: %+v; want %+v", onA, want)
			}
			want.Replica = "b"
			if onB != want {
				t.Errorf("on b (session made from the record): %+v; want %+v", onB, want)
			}
		}
	})
}

// The log level set on one replica is the one go-sdk applies on the other:
// ServerSession.Log sends what the level lets through, everywhere.
func TestLogLevelOnEveryReplica(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		a := newReplica(t, "a", testdb.OpenStore(t, dsn))
		b := newReplica(t, "b", testdb.OpenStore(t, dsn))
		sid := initialize(t, a.url, "alice", "2025-11-25")
		if got := logged(t, b.url, sid); len(got) != 0 {
			t.Errorf("log messages before setLevel, on b: %v; want none (go-sdk's default)", got)
		}
		for _, step := range []struct {
			setOn *replica
			level string
			want  []string
		}{
			{b, "debug", []string{"info", "debug"}},
			{a, "info", []string{"info"}},
			{b, "warning", nil},
			{a, "debug", []string{"info", "debug"}},
		} {
			if status, res := call(t, step.setOn.url, sid, "logging/setLevel", map[string]any{"level": step.level}); status != http.StatusOK || strings.Contains(string(res), "code") {
				t.Fatalf("setLevel %s on %s: %d %s", step.level, step.setOn.name, status, res)
			}
			for _, r := range []*replica{a, b} {
				if got := logged(t, r.url, sid); !slices.Equal(got, step.want) {
					t.Errorf("after setLevel %s on %s, log messages on %s: %v; want %v", step.level, step.setOn.name, r.name, got, step.want)
				}
				if got := probeOn(t, r.url, sid).LogLevel; got != step.level {
					t.Errorf("after setLevel %s on %s, LogLevel on %s: %q", step.level, step.setOn.name, r.name, got)
				}
			}
		}
		// Both replicas kept one go-sdk session each throughout: the level
		// was handed to the one they had, not a new one.
		if na, nb := a.sessions.localCount(), b.sessions.localCount(); na != 1 || nb != 1 {
			t.Errorf("go-sdk sessions held: a %d, b %d; want 1 each", na, nb)
		}

		// A setLevel whose store write fails never reaches go-sdk: the
		// level go-sdk applies stays the stored one, there and elsewhere.
		cs := &countingStore{Store: testdb.OpenStore(t, dsn)}
		c := newReplica(t, "c", cs)
		logged(t, c.url, sid) // c holds a go-sdk session of it
		cs.FailUpdates.Store(true)
		if status, _ := call(t, c.url, sid, "logging/setLevel", map[string]any{"level": "emergency"}); status != http.StatusServiceUnavailable {
			t.Errorf("setLevel whose write failed: %d; want 503", status)
		}
		for _, r := range []*replica{a, c} {
			if got := logged(t, r.url, sid); !slices.Equal(got, []string{"info", "debug"}) {
				t.Errorf("log messages on %s after a failed setLevel: %v; want info and debug, as before", r.name, got)
			}
		}
	})
}

// A replica's shutdown, its idle close and its bound on sessions in memory
// drop go-sdk sessions from its memory but not from the store.
func TestShutdownAndEvictionKeepSessions(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		st := testdb.OpenStore(t, dsn)
		idle := newReplica(t, "idle", testdb.OpenStore(t, dsn), WithLocalIdleTimeout(20*time.Millisecond))
		sid := initialize(t, idle.url, "c", "2025-11-25")
		eventually(t, 10*time.Second, "the idle close", func() bool { return idle.sessions.localCount() == 0 })
		if _, err := st.Get(t.Context(), sid); err != nil {
			t.Fatalf("after the idle close: %v", err)
		}
		if got := probeOn(t, idle.url, sid).Client; got != "c" {
			t.Errorf("after the idle close the replica sees client %q", got)
		}

		bounded := newReplica(t, "bounded", testdb.OpenStore(t, dsn), WithMaxLocalSessions(2))
		var ids []string
		for range 5 {
			ids = append(ids, initialize(t, bounded.url, "c", "2025-11-25"))
		}
		if n := bounded.sessions.localCount(); n != 2 {
			t.Errorf("go-sdk sessions held with a bound of 2: %d", n)
		}
		for _, id := range ids {
			if got := callTool(t, bounded.url, id, "counter", nil); got != "1" {
				t.Errorf("counter of a session closed for room: %s; want 1", got)
			}
		}

		a := newReplica(t, "a", testdb.OpenStore(t, dsn))
		sid2 := initialize(t, a.url, "d", "2025-11-25")
		stream := openStream(t, a.url, sid2)
		if err := a.sessions.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
		select {
		case <-stream:
		case <-time.After(10 * time.Second):
			t.Fatal("Shutdown left the GET stream open")
		}
		if status, _ := call(t, a.url, sid2, "tools/list", nil); status != http.StatusServiceUnavailable {
			t.Errorf("POST after Shutdown: %d; want 503", status)
		}
		for _, id := range append(ids, sid, sid2) {
			if _, err := st.Get(t.Context(), id); err != nil {
				t.Errorf("session after Shutdown: %v", err)
			}
		}
		if got := probeOn(t, idle.url, sid2).Client; got != "d" {
			t.Errorf("after a's shutdown the other replica sees client %q", got)
		}
	})
}

// Requests of the sessionless revision, from go-sdk's own client at its
// defaults, are served on the same endpoint and never reach the store.
func TestSessionlessNeverTouchesStore(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		cs := &countingStore{Store: testdb.OpenStore(t, dsn)}
		a := newReplica(t, "a", cs)

		c := mcp.NewClient(&mcp.Implementation{Name: "modern", Version: "1"}, nil)
		session, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: a.url}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer session.Close()
		if v := session.InitializeResult().ProtocolVersion; v != sessionless || session.ID() != "" {
			t.Fatalf("negotiated %q with session %q; want sessionless %s", v, session.ID(), sessionless)
		}
		p := probeVia(t, session)
		if p.Client != "modern" || p.Session != "" || p.ProtocolVersion != sessionless || p.Replica != "a" {
			t.Errorf("probe: %+v", p)
		}
		if text := toolVia(t, session, "state", map[string]any{"op": "get"}); text != "error: "+ErrNoSession.Error() {
			t.Errorf("State in a sessionless request: %s; want ErrNoSession", text)
		}
		// GET and DELETE of the sessionless revision, which names no
		// session: go-sdk's 405. (One that names a session is the
		// session's, as with go-sdk's handler.)
		for _, m := range []string{http.MethodGet, http.MethodDelete} {
			req, _ := http.NewRequest(m, a.url, nil)
			req.Header.Set(headerProtocolVersion, sessionless)
			if r := adaptertest.Do(t, req); r.Status != http.StatusMethodNotAllowed {
				t.Errorf("sessionless %s: %d; want 405", m, r.Status)
			}
		}
		if n := cs.Total(); n != 0 {
			t.Errorf("the store saw %d calls; want 0", n)
		}
		if n := a.sessions.localCount(); n != 0 {
			t.Errorf("%d go-sdk sessions held for sessionless requests; want 0", n)
		}
	})
}

func TestHelpersOutsideSession(t *testing.T) {
	t.Parallel()
	helpers.OutsideSession(t)
	if _, err := LogLevel(context.Background()); !errors.Is(err, ErrNoSession) {
		t.Errorf("LogLevel: %v", err)
	}
}

// go-sdk's own client, pinned to a session-based revision, moves between
// replicas with its session; its Close ends the session everywhere.
func TestClientAcrossReplicas(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		st := testdb.OpenStore(t, dsn)
		a := newReplica(t, "a", st)
		b := newReplica(t, "b", testdb.OpenStore(t, dsn))
		c := mcp.NewClient(&mcp.Implementation{Name: "go-client", Version: "1"}, nil)
		session, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: a.url}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
		if err != nil {
			t.Fatal(err)
		}
		sid := session.ID()
		if sid == "" || session.InitializeResult().ProtocolVersion != "2025-11-25" {
			t.Fatalf("session %q, version %q", sid, session.InitializeResult().ProtocolVersion)
		}
		if got := probeOn(t, b.url, sid); got.Client != "go-client" || got.ProtocolVersion != "2025-11-25" || !got.Roots {
			t.Errorf("on b: %+v", got)
		}
		if got := toolVia(t, session, "counter", nil); got != "1" {
			t.Errorf("counter through the client: %s", got)
		}
		if got := callTool(t, b.url, sid, "counter", nil); got != "2" {
			t.Errorf("counter on b: %s; want 2", got)
		}
		if err := session.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Get(t.Context(), sid); !errors.Is(err, mcpsession.ErrNotFound) {
			t.Errorf("store after the client's Close: %v; want ErrNotFound", err)
		}
		if status, _ := call(t, b.url, sid, "tools/list", nil); status != http.StatusNotFound {
			t.Errorf("POST on b after Close: %d; want 404", status)
		}
	})
}

func toolVia(t *testing.T, s *mcp.ClientSession, name string, args map[string]any) string {
	t.Helper()
	if args == nil {
		args = map[string]any{}
	}
	res, err := s.CallTool(t.Context(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(res.Content) == 0 {
		t.Fatalf("%s: no content", name)
	}
	tc, _ := res.Content[0].(*mcp.TextContent)
	if tc == nil {
		t.Fatalf("%s: %T", name, res.Content[0])
	}
	return tc.Text
}

func probeVia(t *testing.T, s *mcp.ClientSession) probeResult {
	t.Helper()
	var p probeResult
	if err := json.Unmarshal([]byte(toolVia(t, s, "probe", nil)), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// Each replica holds at most one go-sdk session per stored session, and
// none for a session that ended or never was.
func TestOneGoSDKSessionPerReplica(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		a := newReplica(t, "a", testdb.OpenStore(t, dsn))
		b := newReplica(t, "b", testdb.OpenStore(t, dsn))
		counts := func() [2]int { return [2]int{a.sessions.localCount(), b.sessions.localCount()} }

		for _, sid := range []string{mcpsession.NewID(), "has space"} {
			call(t, a.url, sid, "tools/list", nil)
			send(t, http.MethodGet, b.url, sid)
		}
		if got := counts(); got != [2]int{} {
			t.Errorf("go-sdk sessions after requests for unknown ids: %v; want none", got)
		}

		sid := initialize(t, a.url, "c", "2025-11-25")
		a.sessions.drop(sid) // neither replica holds it: both make one, concurrently
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() { callTool(t, []*replica{a, b}[i%2].url, sid, "counter", nil) })
		}
		wg.Wait()
		if got := counts(); got != [2]int{1, 1} {
			t.Errorf("go-sdk sessions after 20 concurrent first requests: %v; want 1 each", got)
		}

		if r := send(t, http.MethodDelete, a.url, sid); r.Status != http.StatusNoContent {
			t.Fatalf("DELETE: %d", r.Status)
		}
		if got := counts(); got != [2]int{0, 1} {
			t.Errorf("go-sdk sessions right after a DELETE on a: %v; want a none, b its own", got)
		}
		if status, _ := call(t, b.url, sid, "tools/list", nil); status != http.StatusNotFound {
			t.Errorf("POST on b after the DELETE: %d; want 404", status)
		}
		if got := counts(); got != [2]int{} {
			t.Errorf("go-sdk sessions after b's 404: %v; want none", got)
		}
	})
}

// With go-sdk's Stateless option, every request is served as go-sdk's
// stateless handler serves it: initialize gives no session id, nothing is
// kept in the store, and state handles still work, on every replica.
func TestStatelessOption(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		cs := &countingStore{Store: testdb.OpenStore(t, dsn)}
		opt := WithStreamableHTTPOptions(mcp.StreamableHTTPOptions{Stateless: true})
		a, b := newReplica(t, "a", cs, opt), newReplica(t, "b", cs, opt)
		r := rawPost(t, a.url, "", map[string]any{"jsonrpc": "2.0", "id": 1, "method": "initialize",
			"params": map[string]any{"protocolVersion": adaptertest.LegacyVersion, "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "c", "version": "1"}}})
		if r.Status != http.StatusOK || r.Header.Get(httpstatus.HeaderSessionID) != "" {
			t.Fatalf("initialize: %d, session %q; want 200 and none", r.Status, r.Header.Get(httpstatus.HeaderSessionID))
		}
		if n := cs.Total(); n != 0 {
			t.Errorf("initialize reached the store %d times; want 0", n)
		}
		h := callTool(t, a.url, "", "handle", map[string]any{"op": "create", "state": map[string]any{"n": 1}})
		var handle string
		if err := json.Unmarshal([]byte(h), &handle); err != nil || handle == "" {
			t.Fatalf("create on a: %s", h)
		}
		if got := callTool(t, b.url, "", "handle", map[string]any{"op": "get", "handle": handle}); got != `{"n":1}` {
			t.Errorf("get on b: %s; want {\"n\":1}", got)
		}
		if r := adaptertest.Send(t, http.MethodGet, a.url, ""); r.Status != http.StatusMethodNotAllowed {
			t.Errorf("GET: %d; want go-sdk's stateless 405", r.Status)
		}
		if n := a.sessions.localCount() + b.sessions.localCount(); n != 0 {
			t.Errorf("%d go-sdk sessions held; want 0", n)
		}
	})
}
