package mcpgo

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession"
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
		if _, err := New(tc.store, tc.opt); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: %v; want ErrInvalidOption", name, err)
		}
	}
	for _, tc := range []struct {
		idle time.Duration
		opts []Option
		want time.Duration
	}{
		{0, nil, DefaultTouchInterval},
		{30 * time.Minute, nil, DefaultTouchInterval},
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
		if got := s.TouchInterval(); got != tc.want {
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

func TestUnknownSessionIs404(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		a := newReplica(t, "a", testdb.OpenStore(t, dsn), replicaConfig{})
		for _, sid := range []string{mcpsession.NewID(), "has space", strings.Repeat("x", 300)} {
			if status, _ := call(t, a.url, sid, "tools/list", nil); status != http.StatusNotFound {
				t.Errorf("POST with session %q: %d; want 404", sid, status)
			}
			for _, m := range []string{http.MethodGet, http.MethodDelete} {
				if r := send(t, m, a.url, sid); r.Status != http.StatusNotFound {
					t.Errorf("%s with session %q: %d; want 404", m, sid, r.Status)
				}
			}
		}
		for _, m := range []string{http.MethodGet, http.MethodDelete} {
			if r := send(t, m, a.url, ""); r.Status != http.StatusBadRequest {
				t.Errorf("%s without a session: %d; want 400", m, r.Status)
			}
		}
		sid := initialize(t, a.url, "c", "2025-06-18")
		if r := send(t, http.MethodGet, a.url, sid); r.Status != http.StatusOK || r.Header.Get("Content-Type") != "text/event-stream" {
			t.Errorf("GET of a live session: %d %q; want 200 text/event-stream", r.Status, r.Header.Get("Content-Type"))
		}
	})
}

// A DELETE on one replica ends the session on the other, for POST and GET,
// and ends a GET stream open there.
func TestDeleteEndsSessionEverywhere(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		st := testdb.OpenStore(t, dsn)
		a := newReplica(t, "a", st, replicaConfig{opts: []Option{WithTouchInterval(50 * time.Millisecond)}})
		b := newReplica(t, "b", testdb.OpenStore(t, dsn), replicaConfig{opts: []Option{WithTouchInterval(50 * time.Millisecond)}})
		sid := initialize(t, a.url, "c", "2025-06-18")

		// A GET stream on a, the replica that will not see the DELETE.
		req, _ := http.NewRequest(http.MethodGet, a.url, nil)
		req.Header.Set(server.HeaderKeySessionID, sid)
		req.Header.Set("Accept", "text/event-stream")
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		resp, err := http.DefaultClient.Do(req.WithContext(ctx))
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET: %v %v", resp, err)
		}
		streamEnded := make(chan error, 1)
		go func() {
			_, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			streamEnded <- err
		}()

		if r := send(t, http.MethodDelete, b.url, sid); r.Status != http.StatusOK {
			t.Fatalf("DELETE on b: %d %s", r.Status, r.Body)
		}
		if _, err := st.Get(t.Context(), sid); !errors.Is(err, mcpsession.ErrNotFound) {
			t.Fatalf("store after DELETE: %v; want ErrNotFound", err)
		}
		if status, _ := call(t, a.url, sid, "tools/list", nil); status != http.StatusNotFound {
			t.Errorf("POST on a after DELETE on b: %d; want 404", status)
		}
		if r := send(t, http.MethodGet, a.url, sid); r.Status != http.StatusNotFound {
			t.Errorf("GET on a after DELETE on b: %d; want 404", r.Status)
		}
		if r := send(t, http.MethodDelete, a.url, sid); r.Status != http.StatusNotFound {
			t.Errorf("second DELETE: %d; want 404", r.Status)
		}
		select {
		case err := <-streamEnded:
			if err != nil {
				t.Errorf("GET stream ended with %v; want a clean end", err)
			}
		case <-ctx.Done():
			t.Fatal("the GET stream on a stayed open after the session was deleted")
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

// A busy session writes its touch at most once per touch interval, across
// replicas, including when many requests arrive at once.
func TestTouchThrottled(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		clock := adaptertest.NewClock()
		const interval = time.Minute
		opts := []Option{WithTouchInterval(interval), withClock(clock.Now)}
		sa := &countingStore{Store: testdb.OpenStore(t, dsn)}
		sb := &countingStore{Store: testdb.OpenStore(t, dsn)}
		a := newReplica(t, "a", sa, replicaConfig{opts: opts})
		b := newReplica(t, "b", sb, replicaConfig{opts: opts})
		touches := func() int64 { return sa.Touches.Load() + sb.Touches.Load() }

		sid := initialize(t, a.url, "c", "2025-06-18")
		for i := range 10 {
			probeOn(t, []*replica{a, b}[i%2].url, sid)
		}
		if n := touches(); n != 0 {
			t.Errorf("within the interval after initialize: %d touches; want 0", n)
		}

		clock.Advance(interval)
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() { probeOn(t, a.url, sid) })
		}
		wg.Wait()
		if n := touches(); n != 1 {
			t.Errorf("20 concurrent requests on a after one interval: %d touches; want 1", n)
		}
		for i := range 10 {
			probeOn(t, []*replica{b, a}[i%2].url, sid)
		}
		if n := touches(); n != 1 {
			t.Errorf("requests on both replicas in the same interval: %d touches; want 1", n)
		}

		clock.Advance(interval / 2)
		call(t, b.url, sid, "logging/setLevel", map[string]any{"level": "info"}) // a write, which counts as a touch
		clock.Advance(interval / 2)
		probeOn(t, a.url, sid)
		if n := touches(); n != 1 {
			t.Errorf("one interval after the last touch but half an interval after setLevel: %d touches; want 1", n)
		}
		clock.Advance(interval / 2)
		probeOn(t, a.url, sid)
		if n := touches(); n != 2 {
			t.Errorf("one interval after setLevel: %d touches; want 2", n)
		}
	})
}

// Idle expiry slides with use: a session used more often than its idle
// timeout lives on past it, and expires once left alone.
func TestIdleExpirySlides(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		const idle = 300 * time.Millisecond
		st := testdb.OpenStore(t, dsn, sqlstore.WithIdleTimeout(idle))
		a := newReplica(t, "a", st, replicaConfig{})
		b := newReplica(t, "b", testdb.OpenStore(t, dsn, sqlstore.WithIdleTimeout(idle)), replicaConfig{})
		sid := initialize(t, a.url, "c", "2025-06-18")
		start := time.Now()
		for i := 0; time.Since(start) < 4*idle; i++ {
			probeOn(t, []*replica{a, b}[i%2].url, sid)
			time.Sleep(idle / 6)
		}
		eventually(t, 10*time.Second, "idle expiry", func() bool {
			_, err := st.Get(t.Context(), sid)
			return errors.Is(err, mcpsession.ErrNotFound)
		})
		if status, _ := call(t, b.url, sid, "tools/list", nil); status != http.StatusNotFound {
			t.Errorf("POST after idle expiry: %d; want 404", status)
		}
		if r := send(t, http.MethodGet, a.url, sid); r.Status != http.StatusNotFound {
			t.Errorf("GET after idle expiry: %d; want 404", r.Status)
		}
	})
}

// A store that fails gives 503, never the 404 that would make the client
// discard its session, and no session id it could not store.
func TestStoreOutageIs503(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		a := newReplica(t, "a", testdb.OpenStore(t, dsn), replicaConfig{})
		sid := initialize(t, a.url, "c", "2025-06-18")

		// b's database is closed: every call fails as in an outage.
		down := testdb.OpenStore(t, dsn)
		b := newReplica(t, "b", down, replicaConfig{})
		down.Close()
		if status, body := call(t, b.url, sid, "tools/list", nil); status != http.StatusServiceUnavailable {
			t.Errorf("POST on b: %d %s; want 503", status, body)
		}
		for _, m := range []string{http.MethodGet, http.MethodDelete} {
			if r := send(t, m, b.url, sid); r.Status != http.StatusServiceUnavailable {
				t.Errorf("%s on b: %d; want 503", m, r.Status)
			}
		}
		r := post(t, b.url, "", map[string]any{
			"jsonrpc": "2.0", "id": 1, "method": "initialize",
			"params": map[string]any{"protocolVersion": "2025-06-18", "clientInfo": map[string]any{"name": "x", "version": "1"}, "capabilities": map[string]any{}},
		})
		if r.Status != http.StatusServiceUnavailable || r.Header.Get(server.HeaderKeySessionID) != "" {
			t.Errorf("initialize on b: %d, session %q; want 503 and none", r.Status, r.Header.Get(server.HeaderKeySessionID))
		}
		if got := probeOn(t, a.url, sid).Client; got != "c" {
			t.Errorf("on a: client %q", got)
		}

		// c reads but cannot write: logging/setLevel must not look applied.
		cs := &countingStore{Store: testdb.OpenStore(t, dsn)}
		c := newReplica(t, "c", cs, replicaConfig{})
		cs.FailUpdates.Store(true)
		if status, _ := call(t, c.url, sid, "logging/setLevel", map[string]any{"level": "debug"}); status != http.StatusServiceUnavailable {
			t.Errorf("setLevel whose write failed: %d; want 503", status)
		}
		if got := probeOn(t, a.url, sid).LogLevel; got != "error" {
			t.Errorf("level after a failed setLevel: %q; want error", got)
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

// Tool handlers read and change application state; the adapter's keys stay
// out of their reach.
func TestStateHelpers(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		st := testdb.OpenStore(t, dsn)
		a := newReplica(t, "a", st, replicaConfig{})
		b := newReplica(t, "b", testdb.OpenStore(t, dsn), replicaConfig{})
		sid := initialize(t, a.url, "c", "2025-06-18")
		state := func(r *replica, args map[string]any) string { return tool(t, r.url, sid, "state", args) }

		if got := state(a, map[string]any{"op": "get"}); got != `{}` {
			t.Errorf("new session's state: %s; want {}", got)
		}
		if got := state(a, map[string]any{"op": "update", "keys": map[string]any{"x": 1, "y": "two"}}); got != `{"x":1,"y":"two"}` {
			t.Errorf("after UpdateState: %s", got)
		}
		if got := state(b, map[string]any{"op": "update", "keys": map[string]any{"mcp.logLevel": "debug"}}); !strings.Contains(got, ErrReservedKey.Error()) {
			t.Errorf("UpdateState of a reserved key: %s; want ErrReservedKey", got)
		}
		if got := state(b, map[string]any{"op": "modify", "set": map[string]any{"z": true}, "delete": []any{"x"}}); got != `{"y":"two","z":true}` {
			t.Errorf("after ModifyState: %s", got)
		}
		if got := state(a, map[string]any{"op": "modify", "fail": true}); !strings.Contains(got, "fn failed") {
			t.Errorf("ModifyState whose fn fails: %s", got)
		}
		if got := state(a, map[string]any{"op": "modify", "set": map[string]any{"mcp.clientInfo": nil}}); !strings.Contains(got, ErrReservedKey.Error()) {
			t.Errorf("ModifyState returning a reserved key: %s; want ErrReservedKey", got)
		}
		if got := state(a, map[string]any{"op": "get"}); got != `{"y":"two","z":true}` {
			t.Errorf("after the failed ModifyStates: %s", got)
		}
		meta, err := st.Get(t.Context(), sid)
		if err != nil {
			t.Fatal(err)
		}
		if meta[keyProtocolVersion] != "2025-06-18" || meta[keyClientInfo] == nil {
			t.Errorf("reserved keys after the helpers: %v", meta)
		}
		if got := probeOn(t, b.url, sid).Client; got != "c" {
			t.Errorf("client after the helpers: %q", got)
		}

		plain := newReplica(t, "plain", plainStore{st}, replicaConfig{})
		if got := state(plain, map[string]any{"op": "modify"}); !strings.Contains(got, ErrModifyUnsupported.Error()) {
			t.Errorf("ModifyState on a store without Modify: %s", got)
		}
		if got := state(plain, map[string]any{"op": "update", "keys": map[string]any{"w": 1}}); got != `{"w":1,"y":"two","z":true}` {
			t.Errorf("UpdateState on a plain store: %s", got)
		}
	})
}

// Concurrent read-modify-writes from both replicas all land.
func TestModifyStateSerialised(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		a := newReplica(t, "a", testdb.OpenStore(t, dsn), replicaConfig{})
		b := newReplica(t, "b", testdb.OpenStore(t, dsn), replicaConfig{})
		sid := initialize(t, a.url, "c", "2025-06-18")
		const n = 30
		seen := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { seen[i] = tool(t, []*replica{a, b}[i%2].url, sid, "counter", nil) })
		}
		wg.Wait()
		got := map[string]bool{}
		for _, s := range seen {
			got[s] = true
		}
		if len(got) != n {
			t.Errorf("counter values %v; want %d distinct", seen, n)
		}
		if v := tool(t, a.url, sid, "counter", nil); v != "31" {
			t.Errorf("after %d increments the next is %s; want 31", n, v)
		}
	})
}

func TestHelpersOutsideSession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, err := State(ctx); !errors.Is(err, ErrNoSession) {
		t.Errorf("State: %v", err)
	}
	if err := UpdateState(ctx, map[string]any{"a": 1}); !errors.Is(err, ErrNoSession) {
		t.Errorf("UpdateState: %v", err)
	}
	if err := ModifyState(ctx, func(m map[string]any) (map[string]any, error) { return m, nil }); !errors.Is(err, ErrNoSession) {
		t.Errorf("ModifyState: %v", err)
	}
	if _, err := SessionID(ctx); !errors.Is(err, ErrNoSession) {
		t.Errorf("SessionID: %v", err)
	}
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
