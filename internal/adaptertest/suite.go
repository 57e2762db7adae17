package adaptertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/record"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// Adapter is an SDK adapter under Run: how to serve a replica with it, and
// its state helpers.
type Adapter struct {
	// Serve starts a replica named name over store and returns its MCP
	// endpoint; the replica stops when t ends. Its server has logging and
	// four tools: "probe", answering a Probe as JSON; "counter", which
	// increments the session's "counter" with ModifyState and answers the
	// new value; "state", which answers Helpers.StateTool of its
	// arguments; and "handle", which answers Helpers.HandleTool of them.
	Serve func(t *testing.T, name string, store mcpsession.Store, cfg ReplicaConfig) string
	// DeleteStatus is what the adapter answers a DELETE that ends a
	// session: its SDK's own status.
	DeleteStatus int
	Helpers      Helpers
	// GETWithoutSession is what the adapter answers a GET that names no
	// session: its SDK's own status; 0 means 400.
	GETWithoutSession int
}

// ReplicaConfig is what a test asks of a replica; zero values mean the
// adapter's defaults.
type ReplicaConfig struct {
	TouchInterval time.Duration
	Clock         func() time.Time
	// Principal is the adapter's WithPrincipal; nil leaves its default.
	Principal func(r *http.Request) (string, error)
}

// Probe is what the probe tool answers: what the session negotiated, as
// the SDK hands it to handlers on the replica serving the call.
type Probe struct {
	Replica         string `json:"replica"`
	Session         string `json:"session"`
	Client          string `json:"client"`
	ProtocolVersion string `json:"protocolVersion"`
	LogLevel        string `json:"logLevel"`
	Roots           bool   `json:"roots"`
}

// Text is the probe tool's answer.
func (p Probe) Text() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// ProbeOn calls the probe tool of session sid on url.
func ProbeOn(t testing.TB, url, sid string) Probe {
	t.Helper()
	var p Probe
	if err := json.Unmarshal([]byte(Tool(t, url, sid, "probe", nil)), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// Helpers are an adapter's state and handle helpers, which return the
// sentinels of package mcpsession.
type Helpers struct {
	SessionID   func(ctx context.Context) (string, error)
	State       func(ctx context.Context) (map[string]any, error)
	UpdateState func(ctx context.Context, keys map[string]any) error
	ModifyState func(ctx context.Context, fn func(map[string]any) (map[string]any, error)) error

	Principal    func(ctx context.Context) (string, error)
	CreateHandle func(ctx context.Context, state map[string]any) (string, error)
	GetHandle    func(ctx context.Context, handle string) (map[string]any, error)
	UpdateHandle func(ctx context.Context, handle string, patch map[string]any) error
	ModifyHandle func(ctx context.Context, handle string, fn func(map[string]any) (map[string]any, error)) error
	TouchHandle  func(ctx context.Context, handle string) error
	DeleteHandle func(ctx context.Context, handle string) error
}

// OutsideSession checks that the state helpers refuse a context no
// adapter served, with mcpsession.ErrNoSession.
func (h Helpers) OutsideSession(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if _, err := h.State(ctx); !errors.Is(err, mcpsession.ErrNoSession) {
		t.Errorf("State: %v", err)
	}
	if err := h.UpdateState(ctx, map[string]any{"a": 1}); !errors.Is(err, mcpsession.ErrNoSession) {
		t.Errorf("UpdateState: %v", err)
	}
	if err := h.ModifyState(ctx, func(m map[string]any) (map[string]any, error) { return m, nil }); !errors.Is(err, mcpsession.ErrNoSession) {
		t.Errorf("ModifyState: %v", err)
	}
	if _, err := h.SessionID(ctx); !errors.Is(err, mcpsession.ErrNoSession) {
		t.Errorf("SessionID: %v", err)
	}
}

// StateTool runs the helper that args["op"] names ("get", "update" with
// "keys", "modify" with "set", "delete" and "fail"), then State, and
// answers the state as JSON, or "error: " and the sentinel's text (or the
// error's) when a helper fails.
func (h Helpers) StateTool(ctx context.Context, args map[string]any) string {
	var err error
	switch args["op"] {
	case "get":
	case "update":
		keys, _ := args["keys"].(map[string]any)
		err = h.UpdateState(ctx, keys)
	case "modify":
		set, _ := args["set"].(map[string]any)
		del, _ := args["delete"].([]any)
		fail, _ := args["fail"].(bool)
		err = h.ModifyState(ctx, func(st map[string]any) (map[string]any, error) {
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
	if err == nil {
		var st map[string]any
		if st, err = h.State(ctx); err == nil {
			b, _ := json.Marshal(st)
			return string(b)
		}
	}
	for _, e := range []error{mcpsession.ErrNoSession, mcpsession.ErrReservedKey, mcpsession.ErrModifyUnsupported, mcpsession.ErrNotFound} {
		if errors.Is(err, e) {
			return "error: " + e.Error()
		}
	}
	return "error: " + err.Error()
}

// Counter is the counter tool's step, for ModifyState: it increments the
// state's "counter" and leaves the new value in n.
func Counter(n *float64) func(map[string]any) (map[string]any, error) {
	return func(st map[string]any) (map[string]any, error) {
		*n, _ = st["counter"].(float64)
		*n++
		st["counter"] = *n
		return st, nil
	}
}

// plainStore hides every method but the four of mcpsession.Store.
type plainStore struct{ mcpsession.Store }

// Run checks what every adapter does alike, each on a SQLite file and on
// Postgres (testdb.Each), with replicas a.Serve starts: two replicas over
// one database serve each other's sessions.
func Run(t *testing.T, a Adapter) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Adapter, string)
	}{
		{"UnknownSessionIs404", unknownSessionIs404},
		{"EscapedInitialize", escapedInitialize},
		{"DeleteEndsSessionEverywhere", deleteEndsSessionEverywhere},
		{"TouchThrottled", touchThrottled},
		{"IdleExpirySlides", idleExpirySlides},
		{"StoreOutageIs503", storeOutageIs503},
		{"StateHelpers", stateHelpers},
		{"ModifyStateSerialised", modifyStateSerialised},
		{"HandleHelpers", handleHelpers},
		{"ModifyHandleSerialised", modifyHandleSerialised},
		{"SessionOfAnotherPrincipal", sessionOfAnotherPrincipal},
		{"PrincipalRefused", principalRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testdb.Each(t, func(t *testing.T, dsn string) { tc.fn(t, a, dsn) })
		})
	}
}

func unknownSessionIs404(t *testing.T, a Adapter, dsn string) {
	url := a.Serve(t, "a", testdb.OpenStore(t, dsn), ReplicaConfig{})
	for _, sid := range []string{mcpsession.NewID(), "has space", strings.Repeat("x", 300)} {
		if status, _ := Call(t, url, sid, "tools/list", nil); status != http.StatusNotFound {
			t.Errorf("POST with session %q: %d; want 404", sid, status)
		}
		for _, m := range []string{http.MethodGet, http.MethodDelete} {
			if r := Send(t, m, url, sid); r.Status != http.StatusNotFound {
				t.Errorf("%s with session %q: %d; want 404", m, sid, r.Status)
			}
		}
	}
	for _, m := range []string{http.MethodGet, http.MethodDelete} {
		want := http.StatusBadRequest
		if m == http.MethodGet && a.GETWithoutSession != 0 {
			want = a.GETWithoutSession
		}
		if r := Send(t, m, url, ""); r.Status != want {
			t.Errorf("%s without a session: %d; want %d", m, r.Status, want)
		}
	}
	sid := Initialize(t, url, "c", LegacyVersion)
	if r := Send(t, http.MethodGet, url, sid); r.Status != http.StatusOK || r.Header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("GET of a live session: %d %q; want 200 text/event-stream", r.Status, r.Header.Get("Content-Type"))
	}
}

// An initialize whose method name is written with JSON escapes is an
// initialize all the same, to the SDK and so to the adapter: the session
// it answers with is in the store, and serves on the other replica.
func escapedInitialize(t *testing.T, a Adapter, dsn string) {
	st := testdb.OpenStore(t, dsn)
	ra := a.Serve(t, "a", st, ReplicaConfig{})
	rb := a.Serve(t, "b", testdb.OpenStore(t, dsn), ReplicaConfig{})
	body := json.RawMessage(`{"jsonrpc":"2.0","id":1,"method":"\u0069nitialize","params":{"protocolVersion":"` + LegacyVersion +
		`","clientInfo":{"name":"escaped","version":"1.0"},"capabilities":{}}}`)
	r := Post(t, ra, "", body)
	sid := r.Header.Get(HeaderSessionID)
	if r.Status != http.StatusOK || sid == "" {
		t.Fatalf("initialize with an escaped method: %d %s, session %q", r.Status, r.Body, sid)
	}
	if _, err := st.Get(t.Context(), sid); err != nil {
		t.Fatalf("the session it answered with: %v; want it stored", err)
	}
	if r := Post(t, rb, sid, map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"}); r.Status != http.StatusAccepted {
		t.Fatalf("notifications/initialized on the other replica: %d %s", r.Status, r.Body)
	}
	if got := ProbeOn(t, rb, sid).Client; got != "escaped" {
		t.Errorf("client on the other replica: %q; want escaped", got)
	}
}

// OpenStream opens a GET stream of sid on url; the channel yields once the
// stream has ended, with the error that ended it (nil for a clean end).
func OpenStream(t testing.TB, url, sid string) <-chan error {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set(HeaderSessionID, sid)
	req.Header.Set("Accept", "text/event-stream")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
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

// A DELETE on one replica ends the session on the other, for POST and GET,
// and ends a GET stream open there.
func deleteEndsSessionEverywhere(t *testing.T, a Adapter, dsn string) {
	st := testdb.OpenStore(t, dsn)
	cfg := ReplicaConfig{TouchInterval: 50 * time.Millisecond}
	ra := a.Serve(t, "a", st, cfg)
	rb := a.Serve(t, "b", testdb.OpenStore(t, dsn), cfg)
	sid := Initialize(t, ra, "c", LegacyVersion)
	ProbeOn(t, rb, sid) // b serves it too before the DELETE

	streamEnded := OpenStream(t, ra, sid) // on a, which will not see the DELETE

	if r := Send(t, http.MethodDelete, rb, sid); r.Status != a.DeleteStatus {
		t.Fatalf("DELETE on b: %d %s; want %d", r.Status, r.Body, a.DeleteStatus)
	}
	if _, err := st.Get(t.Context(), sid); !errors.Is(err, mcpsession.ErrNotFound) {
		t.Fatalf("store after DELETE: %v; want ErrNotFound", err)
	}
	if status, _ := Call(t, ra, sid, "tools/list", nil); status != http.StatusNotFound {
		t.Errorf("POST on a after DELETE on b: %d; want 404", status)
	}
	if r := Send(t, http.MethodGet, ra, sid); r.Status != http.StatusNotFound {
		t.Errorf("GET on a after DELETE on b: %d; want 404", r.Status)
	}
	if r := Send(t, http.MethodDelete, ra, sid); r.Status != http.StatusNotFound {
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
}

// A busy session writes its touch at most once per touch interval, across
// replicas, including when many requests arrive at once.
func touchThrottled(t *testing.T, a Adapter, dsn string) {
	clock := NewClock()
	const interval = time.Minute
	cfg := ReplicaConfig{TouchInterval: interval, Clock: clock.Now}
	sa := &CountingStore{Store: testdb.OpenStore(t, dsn)}
	sb := &CountingStore{Store: testdb.OpenStore(t, dsn)}
	ra := a.Serve(t, "a", sa, cfg)
	rb := a.Serve(t, "b", sb, cfg)
	touches := func() int64 { return sa.Touches.Load() + sb.Touches.Load() }

	sid := Initialize(t, ra, "c", LegacyVersion)
	for i := range 10 {
		ProbeOn(t, []string{ra, rb}[i%2], sid)
	}
	if n := touches(); n != 0 {
		t.Errorf("within the interval after initialize: %d touches; want 0", n)
	}

	clock.Advance(interval)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { ProbeOn(t, ra, sid) })
	}
	wg.Wait()
	if n := touches(); n != 1 {
		t.Errorf("20 concurrent requests on a after one interval: %d touches; want 1", n)
	}
	for i := range 10 {
		ProbeOn(t, []string{rb, ra}[i%2], sid)
	}
	if n := touches(); n != 1 {
		t.Errorf("requests on both replicas in the same interval: %d touches; want 1", n)
	}

	clock.Advance(interval / 2)
	Call(t, rb, sid, "logging/setLevel", map[string]any{"level": "info"}) // a write, which counts as a touch
	clock.Advance(interval / 2)
	ProbeOn(t, ra, sid)
	if n := touches(); n != 1 {
		t.Errorf("one interval after the last touch but half an interval after setLevel: %d touches; want 1", n)
	}
	clock.Advance(interval / 2)
	ProbeOn(t, ra, sid)
	if n := touches(); n != 2 {
		t.Errorf("one interval after setLevel: %d touches; want 2", n)
	}
}

// Idle expiry slides with use: a session used more often than its idle
// timeout lives on past it, and expires once left alone.
func idleExpirySlides(t *testing.T, a Adapter, dsn string) {
	const idle = 300 * time.Millisecond
	st := testdb.OpenStore(t, dsn, sqlstore.WithIdleTimeout(idle))
	ra := a.Serve(t, "a", st, ReplicaConfig{})
	rb := a.Serve(t, "b", testdb.OpenStore(t, dsn, sqlstore.WithIdleTimeout(idle)), ReplicaConfig{})
	// A machine that stalls for about the idle timeout between two probes
	// lets the session expire however well the adapter slides it: such an
	// attempt says nothing, and is made again, up to three times.
	var sid string
	for attempt := 1; ; attempt++ {
		sid = Initialize(t, ra, "c", LegacyVersion)
		if keptAlive(t, ra, rb, sid, idle) {
			break
		}
		if attempt == 3 {
			t.Fatal("three attempts in a row stalled too long between probes to judge the expiry")
		}
		t.Logf("attempt %d stalled too long between probes to judge; trying again", attempt)
	}
	Eventually(t, 10*time.Second, "idle expiry", func() bool {
		_, err := st.Get(t.Context(), sid)
		return errors.Is(err, mcpsession.ErrNotFound)
	})
	if status, _ := Call(t, rb, sid, "tools/list", nil); status != http.StatusNotFound {
		t.Errorf("POST after idle expiry: %d; want 404", status)
	}
	if r := Send(t, http.MethodGet, ra, sid); r.Status != http.StatusNotFound {
		t.Errorf("GET after idle expiry: %d; want 404", r.Status)
	}
}

// keptAlive probes the session every idle/6 on alternate replicas for four
// idle timeouts: each probe must find it. It reports false, without
// failing, when the machine stalled for half the idle timeout between two
// probes (the session may then expire through no fault of the adapter).
func keptAlive(t *testing.T, ra, rb, sid string, idle time.Duration) bool {
	t.Helper()
	start, last := time.Now(), time.Now()
	for i := 0; time.Since(start) < 4*idle; i++ {
		status, body := Call(t, []string{ra, rb}[i%2], sid, "tools/call", map[string]any{"name": "probe"})
		stalled := time.Since(last) > idle/2
		if status != http.StatusOK {
			if stalled {
				return false
			}
			t.Fatalf("probe %d, %v after the previous one: %d %s", i, time.Since(last), status, body)
		}
		if stalled {
			return false
		}
		last = time.Now()
		time.Sleep(idle / 6)
	}
	return true
}

// A store that fails gives 503, never the 404 that would make the client
// discard its session, and no session id it could not store.
func storeOutageIs503(t *testing.T, a Adapter, dsn string) {
	ra := a.Serve(t, "a", testdb.OpenStore(t, dsn), ReplicaConfig{})
	sid := Initialize(t, ra, "c", LegacyVersion)
	level := ProbeOn(t, ra, sid).LogLevel

	// b's database is closed: every call fails as in an outage.
	down := testdb.OpenStore(t, dsn)
	rb := a.Serve(t, "b", down, ReplicaConfig{})
	down.Close()
	if status, body := Call(t, rb, sid, "tools/list", nil); status != http.StatusServiceUnavailable {
		t.Errorf("POST on b: %d %s; want 503", status, body)
	}
	for _, m := range []string{http.MethodGet, http.MethodDelete} {
		if r := Send(t, m, rb, sid); r.Status != http.StatusServiceUnavailable {
			t.Errorf("%s on b: %d; want 503", m, r.Status)
		}
	}
	r := Post(t, rb, "", map[string]any{
		"jsonrpc": "2.0", "id": 1, "method": "initialize",
		"params": map[string]any{"protocolVersion": LegacyVersion, "clientInfo": map[string]any{"name": "x", "version": "1"}, "capabilities": map[string]any{}},
	})
	if r.Status != http.StatusServiceUnavailable || r.Header.Get(HeaderSessionID) != "" {
		t.Errorf("initialize on b: %d, session %q; want 503 and none", r.Status, r.Header.Get(HeaderSessionID))
	}
	if got := ProbeOn(t, ra, sid).Client; got != "c" {
		t.Errorf("on a: client %q", got)
	}

	// c reads but cannot write: logging/setLevel must not look applied,
	// on c or anywhere.
	cs := &CountingStore{Store: testdb.OpenStore(t, dsn)}
	rc := a.Serve(t, "c", cs, ReplicaConfig{})
	cs.FailUpdates.Store(true)
	if status, _ := Call(t, rc, sid, "logging/setLevel", map[string]any{"level": "debug"}); status != http.StatusServiceUnavailable {
		t.Errorf("setLevel whose write failed: %d; want 503", status)
	}
	for name, url := range map[string]string{"a": ra, "c": rc} {
		if got := ProbeOn(t, url, sid).LogLevel; got != level {
			t.Errorf("log level on %s after a failed setLevel: %q; want %q as before", name, got, level)
		}
	}
}

// Tool handlers read and change application state; the adapter's keys stay
// out of their reach.
func stateHelpers(t *testing.T, a Adapter, dsn string) {
	st := testdb.OpenStore(t, dsn)
	ra := a.Serve(t, "a", st, ReplicaConfig{})
	rb := a.Serve(t, "b", testdb.OpenStore(t, dsn), ReplicaConfig{})
	sid := Initialize(t, ra, "c", LegacyVersion)
	state := func(url string, args map[string]any) string { return Tool(t, url, sid, "state", args) }
	reserved := "error: " + mcpsession.ErrReservedKey.Error()

	if got := state(ra, map[string]any{"op": "get"}); got != `{}` {
		t.Errorf("new session's state: %s; want {}", got)
	}
	if got := state(ra, map[string]any{"op": "update", "keys": map[string]any{"x": 1, "y": "two"}}); got != `{"x":1,"y":"two"}` {
		t.Errorf("after UpdateState: %s", got)
	}
	if got := state(rb, map[string]any{"op": "update", "keys": map[string]any{"mcp.logLevel": "debug"}}); got != reserved {
		t.Errorf("UpdateState of a reserved key: %s; want %s", got, reserved)
	}
	if got := state(rb, map[string]any{"op": "modify", "set": map[string]any{"z": true}, "delete": []any{"x"}}); got != `{"y":"two","z":true}` {
		t.Errorf("after ModifyState: %s", got)
	}
	if got := state(ra, map[string]any{"op": "modify", "fail": true}); got != "error: fn failed" {
		t.Errorf("ModifyState whose fn fails: %s", got)
	}
	if got := state(ra, map[string]any{"op": "modify", "set": map[string]any{"mcp.clientInfo": nil}}); got != reserved {
		t.Errorf("ModifyState returning a reserved key: %s; want %s", got, reserved)
	}
	if got := state(ra, map[string]any{"op": "get"}); got != `{"y":"two","z":true}` {
		t.Errorf("after the failed ModifyStates: %s", got)
	}
	meta, err := st.Get(t.Context(), sid)
	if err != nil {
		t.Fatal(err)
	}
	if meta[record.KeyProtocolVersion] != LegacyVersion || meta[record.KeyClientInfo] == nil {
		t.Errorf("reserved keys after the helpers: %v", meta)
	}
	if got := ProbeOn(t, rb, sid).Client; got != "c" {
		t.Errorf("client after the helpers: %q", got)
	}

	plain := a.Serve(t, "plain", plainStore{st}, ReplicaConfig{})
	if got, want := state(plain, map[string]any{"op": "modify"}), "error: "+mcpsession.ErrModifyUnsupported.Error(); got != want {
		t.Errorf("ModifyState on a store without Modify: %s; want %s", got, want)
	}
	if got := state(plain, map[string]any{"op": "update", "keys": map[string]any{"w": 1}}); got != `{"w":1,"y":"two","z":true}` {
		t.Errorf("UpdateState on a plain store: %s", got)
	}
}

// Concurrent read-modify-writes from both replicas all land.
func modifyStateSerialised(t *testing.T, a Adapter, dsn string) {
	ra := a.Serve(t, "a", testdb.OpenStore(t, dsn), ReplicaConfig{})
	rb := a.Serve(t, "b", testdb.OpenStore(t, dsn), ReplicaConfig{})
	sid := Initialize(t, ra, "c", LegacyVersion)
	const n = 30
	seen := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { seen[i] = Tool(t, []string{ra, rb}[i%2], sid, "counter", nil) })
	}
	wg.Wait()
	got := map[string]bool{}
	for _, s := range seen {
		got[s] = true
	}
	if len(got) != n {
		t.Errorf("counter values %v; want %d distinct", seen, n)
	}
	if v := Tool(t, ra, sid, "counter", nil); v != "31" {
		t.Errorf("after %d increments the next is %s; want 31", n, v)
	}
}
