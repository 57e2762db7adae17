package gosdk

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/adapterstate"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
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
		"stateless":          {noIdle, server, WithStreamableHTTPOptions(mcp.StreamableHTTPOptions{Stateless: true})},
		"json response":      {noIdle, server, WithStreamableHTTPOptions(mcp.StreamableHTTPOptions{JSONResponse: true})},
		"sdk session expiry": {noIdle, server, WithStreamableHTTPOptions(mcp.StreamableHTTPOptions{SessionTimeout: time.Minute})},
		"event store":        {noIdle, server, WithStreamableHTTPOptions(mcp.StreamableHTTPOptions{EventStore: mcp.NewMemoryEventStore(nil)})},
	} {
		if _, err := New(tc.store, tc.server, tc.opt); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: %v; want ErrInvalidOption", name, err)
		}
	}
	s, err := New(withIdle, server, WithStreamableHTTPOptions(mcp.StreamableHTTPOptions{DisableLocalhostProtection: true}))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.TouchInterval(); got != 15*time.Second {
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
			sid := r.Header.Get(adapterstate.HeaderSessionID)
			if r.Status != http.StatusOK || sid == "" || !strings.Contains(string(r.Body), `"protocolVersion":"`+tc.want+`"`) {
				t.Fatalf("asked %q: %d %s, session %q; want %s", tc.asked, r.Status, r.Body, sid, tc.want)
			}
			meta, err := st.Get(t.Context(), sid)
			if err != nil {
				t.Fatal(err)
			}
			if got := meta[adapterstate.KeyProtocolVersion]; got != tc.want {
				t.Errorf("asked %q: stored protocol version %v; want %s", tc.asked, got, tc.want)
			}
			info, _ := meta[adapterstate.KeyClientInfo].(map[string]any)
			caps, _ := meta[adapterstate.KeyClientCapabilities].(map[string]any)
			roots, _ := caps["roots"].(map[string]any)
			if info["name"] != "raw" || roots["listChanged"] != true || caps["sampling"] == nil || meta[adapterstate.KeyTouchedAt] == nil {
				t.Errorf("record %v; want client info, the capabilities as sent, and touchedAt", meta)
			}
			if _, ok := meta[adapterstate.KeyLogLevel]; ok {
				t.Errorf("record %v has a log level before logging/setLevel", meta)
			}
			onA, onB := probeOn(t, a.url, sid), probeOn(t, b.url, sid)
			want := probeResult{Replica: "a", Session: sid, Client: "raw", Requested: tc.asked, Roots: true, Sampling: true}
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
	})
}

func TestUnknownSessionIs404(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		a := newReplica(t, "a", testdb.OpenStore(t, dsn))
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
		sid := initialize(t, a.url, "c", "2025-11-25")
		if r := send(t, http.MethodGet, a.url, sid); r.Status != http.StatusOK || r.Header.Get("Content-Type") != "text/event-stream" {
			t.Errorf("GET of a live session: %d %q; want 200 text/event-stream", r.Status, r.Header.Get("Content-Type"))
		}
		if n := a.sessions.localCount(); n != 1 {
			t.Errorf("go-sdk sessions held after 404s: %d; want 1 (no session for an unknown id)", n)
		}
	})
}

// A DELETE on one replica ends the session on the other, for POST and GET,
// and ends a GET stream open there.
func TestDeleteEndsSessionEverywhere(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		st := testdb.OpenStore(t, dsn)
		a := newReplica(t, "a", st, WithTouchInterval(50*time.Millisecond))
		b := newReplica(t, "b", testdb.OpenStore(t, dsn), WithTouchInterval(50*time.Millisecond))
		sid := initialize(t, a.url, "c", "2025-11-25")
		probeOn(t, b.url, sid) // b holds a go-sdk session of it too

		streamEnded := openStream(t, a.url, sid) // on a, which will not see the DELETE

		if r := send(t, http.MethodDelete, b.url, sid); r.Status != http.StatusNoContent {
			t.Fatalf("DELETE on b: %d %s", r.Status, r.Body)
		}
		if _, err := st.Get(t.Context(), sid); !errors.Is(err, mcpsession.ErrNotFound) {
			t.Fatalf("store after DELETE: %v; want ErrNotFound", err)
		}
		if n := b.sessions.localCount(); n != 0 {
			t.Errorf("b holds %d go-sdk sessions after the DELETE; want 0", n)
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
		case <-time.After(10 * time.Second):
			t.Fatal("the GET stream on a stayed open after the session was deleted")
		}
		if n := a.sessions.localCount(); n != 0 {
			t.Errorf("a holds %d go-sdk sessions after the 404; want 0", n)
		}
	})
}

// openStream opens a GET stream of sid on url; the channel yields once the
// stream has ended.
func openStream(t *testing.T, url, sid string) <-chan error {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set(adapterstate.HeaderSessionID, sid)
	req.Header.Set("Accept", "text/event-stream")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: %v %v", resp, err)
	}
	ended := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ended <- err
	}()
	return ended
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
		a := newReplica(t, "a", sa, opts...)
		b := newReplica(t, "b", sb, opts...)
		touches := func() int64 { return sa.Touches.Load() + sb.Touches.Load() }

		sid := initialize(t, a.url, "c", "2025-11-25")
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
		a := newReplica(t, "a", st)
		b := newReplica(t, "b", testdb.OpenStore(t, dsn, sqlstore.WithIdleTimeout(idle)))
		sid := initialize(t, a.url, "c", "2025-11-25")
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
		a := newReplica(t, "a", testdb.OpenStore(t, dsn))
		sid := initialize(t, a.url, "c", "2025-11-25")

		// b's database is closed: every call fails as in an outage.
		down := testdb.OpenStore(t, dsn)
		b := newReplica(t, "b", down)
		down.Close()
		if status, body := call(t, b.url, sid, "tools/list", nil); status != http.StatusServiceUnavailable {
			t.Errorf("POST on b: %d %s; want 503", status, body)
		}
		for _, m := range []string{http.MethodGet, http.MethodDelete} {
			if r := send(t, m, b.url, sid); r.Status != http.StatusServiceUnavailable {
				t.Errorf("%s on b: %d; want 503", m, r.Status)
			}
		}
		r := rawPost(t, b.url, "", map[string]any{
			"jsonrpc": "2.0", "id": 1, "method": "initialize",
			"params": map[string]any{"protocolVersion": "2025-11-25", "clientInfo": map[string]any{"name": "x", "version": "1"}, "capabilities": map[string]any{}},
		})
		if r.Status != http.StatusServiceUnavailable || r.Header.Get(adapterstate.HeaderSessionID) != "" {
			t.Errorf("initialize on b: %d, session %q; want 503 and none", r.Status, r.Header.Get(adapterstate.HeaderSessionID))
		}
		if n := b.sessions.localCount(); n != 0 {
			t.Errorf("b holds %d go-sdk sessions after a failed initialize; want 0", n)
		}
		if got := probeOn(t, a.url, sid).Client; got != "c" {
			t.Errorf("on a: client %q", got)
		}

		// c reads but cannot write: logging/setLevel must not look applied,
		// on c or anywhere.
		cs := &countingStore{Store: testdb.OpenStore(t, dsn)}
		c := newReplica(t, "c", cs)
		cs.FailUpdates.Store(true)
		if status, _ := call(t, c.url, sid, "logging/setLevel", map[string]any{"level": "debug"}); status != http.StatusServiceUnavailable {
			t.Errorf("setLevel whose write failed: %d; want 503", status)
		}
		for _, r := range []*replica{a, c} {
			if got := logged(t, r.url, sid); len(got) != 0 {
				t.Errorf("log messages on %s after a failed setLevel: %v; want none", r.name, got)
			}
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
		if p.Client != "modern" || p.Session != "" || p.Requested != sessionless {
			t.Errorf("probe: %+v", p)
		}
		if text := toolVia(t, session, "state", map[string]any{"op": "get"}); text != "error: "+ErrNoSession.Error() {
			t.Errorf("State in a sessionless request: %s; want ErrNoSession", text)
		}
		// GET and DELETE of the sessionless revision: go-sdk's 405.
		for _, m := range []string{http.MethodGet, http.MethodDelete} {
			req, _ := http.NewRequest(m, a.url, nil)
			req.Header.Set(headerProtocolVersion, sessionless)
			req.Header.Set(adapterstate.HeaderSessionID, mcpsession.NewID())
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

// Tool handlers read and change application state; the adapter's keys stay
// out of their reach.
func TestStateHelpers(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		st := testdb.OpenStore(t, dsn)
		a := newReplica(t, "a", st)
		b := newReplica(t, "b", testdb.OpenStore(t, dsn))
		sid := initialize(t, a.url, "c", "2025-11-25")
		state := func(r *replica, args map[string]any) string { return callTool(t, r.url, sid, "state", args) }

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
		if meta[adapterstate.KeyProtocolVersion] != "2025-11-25" || meta[adapterstate.KeyClientInfo] == nil || meta[adapterstate.KeyInitialized] != true {
			t.Errorf("reserved keys after the helpers: %v", meta)
		}
		if got := probeOn(t, b.url, sid).Client; got != "c" {
			t.Errorf("client after the helpers: %q", got)
		}

		plain := newReplica(t, "plain", plainStore{st})
		if got := state(plain, map[string]any{"op": "modify"}); !strings.Contains(got, ErrModifyUnsupported.Error()) {
			t.Errorf("ModifyState on a store without Modify: %s", got)
		}
		if got := state(plain, map[string]any{"op": "update", "keys": map[string]any{"w": 1}}); got != `{"w":1,"y":"two","z":true}` {
			t.Errorf("UpdateState on a plain store: %s", got)
		}
	})
}

// Concurrent read-modify-writes from both replicas all land, while both
// replicas make their go-sdk session of it at once.
func TestModifyStateSerialised(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		a := newReplica(t, "a", testdb.OpenStore(t, dsn))
		b := newReplica(t, "b", testdb.OpenStore(t, dsn))
		sid := initialize(t, a.url, "c", "2025-11-25")
		a.sessions.drop(sid) // neither replica holds it: both make one, concurrently
		const n = 30
		seen := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { seen[i] = callTool(t, []*replica{a, b}[i%2].url, sid, "counter", nil) })
		}
		wg.Wait()
		got := map[string]bool{}
		for _, s := range seen {
			got[s] = true
		}
		if len(got) != n {
			t.Errorf("counter values %v; want %d distinct", seen, n)
		}
		if v := callTool(t, a.url, sid, "counter", nil); v != "31" {
			t.Errorf("after %d increments the next is %s; want 31", n, v)
		}
		if na, nb := a.sessions.localCount(), b.sessions.localCount(); na != 1 || nb != 1 {
			t.Errorf("go-sdk sessions held: a %d, b %d; want 1 each", na, nb)
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
	if _, err := LogLevel(ctx); !errors.Is(err, ErrNoSession) {
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
		if got := probeOn(t, b.url, sid); got.Client != "go-client" || got.Requested != "2025-11-25" || !got.Roots {
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
	if err := jsonUnmarshal(toolVia(t, s, "probe", nil), &p); err != nil {
		t.Fatal(err)
	}
	return p
}
