package adaptertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/record"
	"github.com/mcpsession/mcpsession/internal/testdb"
)

// UserHeader carries the tests' principal. Only tests take a principal
// from an unverified header: a real server derives it from a token its
// authentication middleware has verified.
const UserHeader = "X-Test-User"

// TestPrincipal is the tests' principal function: UserHeader's value ("" when
// absent: anonymous), except that "refuse" fails and "invalid" answers a
// principal no store accepts.
func TestPrincipal(r *http.Request) (string, error) {
	switch u := r.Header.Get(UserHeader); u {
	case "refuse":
		return "", errors.New("no credentials")
	case "invalid":
		return "in\x00valid", nil
	default:
		return u, nil
	}
}

// As returns the headers of a request by user (TestPrincipal); nil is the
// anonymous principal.
func As(user string) http.Header {
	h := http.Header{}
	h.Set(UserHeader, user)
	return h
}

// HandleTool runs the handle helper that args["op"] names ("principal",
// "create" with "state", "get", "update" with "patch", "modify" with "set"
// and "fail", "count", "touch", "delete"; each but the first two on
// args["handle"]) and answers its result as JSON ("ok" for none), or
// "error: " and the sentinel's text (or the error's).
func (h Helpers) HandleTool(ctx context.Context, args map[string]any) string {
	handle, _ := args["handle"].(string)
	var out any
	var err error
	switch args["op"] {
	case "principal":
		out, err = h.Principal(ctx)
	case "create":
		st, _ := args["state"].(map[string]any)
		out, err = h.CreateHandle(ctx, st)
	case "get":
		out, err = h.GetHandle(ctx, handle)
	case "update":
		patch, _ := args["patch"].(map[string]any)
		err = h.UpdateHandle(ctx, handle, patch)
	case "modify":
		set, _ := args["set"].(map[string]any)
		fail, _ := args["fail"].(bool)
		err = h.ModifyHandle(ctx, handle, func(st map[string]any) (map[string]any, error) {
			for k, v := range set {
				st[k] = v
			}
			if fail {
				return st, errors.New("fn failed")
			}
			return st, nil
		})
	case "count":
		var n float64
		err = h.ModifyHandle(ctx, handle, Counter(&n))
		out = n
	case "touch":
		err = h.TouchHandle(ctx, handle)
	case "delete":
		err = h.DeleteHandle(ctx, handle)
	default:
		err = fmt.Errorf("unknown op %v", args["op"])
	}
	if err != nil {
		for _, e := range []error{mcpsession.ErrHandleNotFound, mcpsession.ErrHandlesUnsupported, mcpsession.ErrNoPrincipal} {
			if errors.Is(err, e) {
				return "error: " + e.Error()
			}
		}
		return "error: " + err.Error()
	}
	if out == nil {
		return "ok"
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// Handles live in the store, for their principal, on every replica and in
// both eras; any other principal, and any malformed handle, meets one
// not-found, and changes nothing.
func handleHelpers(t *testing.T, a Adapter, dsn string) {
	st := testdb.OpenStore(t, dsn)
	cfg := ReplicaConfig{Principal: TestPrincipal}
	ra := a.Serve(t, "a", st, cfg)
	rb := a.Serve(t, "b", testdb.OpenStore(t, dsn), cfg)
	alice := As("alice")
	handle := func(url string, who http.Header, args map[string]any) string {
		return ModernTool(t, url, who, "handle", args)
	}
	notFound := "error: " + mcpsession.ErrHandleNotFound.Error()

	if got := handle(ra, alice, map[string]any{"op": "principal"}); got != `"alice"` {
		t.Errorf("principal of alice's request: %s", got)
	}
	if got := handle(rb, nil, map[string]any{"op": "principal"}); got != `""` {
		t.Errorf("principal of a request without credentials: %s; want anonymous", got)
	}

	var h string
	if err := json.Unmarshal([]byte(handle(ra, alice, map[string]any{"op": "create", "state": map[string]any{"n": 1}})), &h); err != nil {
		t.Fatal(err)
	}
	if err := mcpsession.ValidateID(h); err != nil || len(h) < 22 {
		t.Fatalf("handle %q: %v", h, err)
	}
	steps := []struct {
		url  string
		args map[string]any
		want string
	}{
		{rb, map[string]any{"op": "get"}, `{"n":1}`},
		{rb, map[string]any{"op": "update", "patch": map[string]any{"m": "x"}}, "ok"},
		{ra, map[string]any{"op": "modify", "set": map[string]any{"k": true}}, "ok"},
		{rb, map[string]any{"op": "modify", "set": map[string]any{"lost": true}, "fail": true}, "error: fn failed"},
		{ra, map[string]any{"op": "touch"}, "ok"},
		{rb, map[string]any{"op": "get"}, `{"k":true,"m":"x","n":1}`},
	}
	for i, s := range steps {
		s.args["handle"] = h
		if got := handle(s.url, alice, s.args); got != s.want {
			t.Errorf("step %d %v: %s; want %s", i, s.args["op"], got, s.want)
		}
	}

	// Bob, and nobody, get not-found from every helper; their deletes
	// succeed and do nothing.
	for name, who := range map[string]http.Header{"bob": As("bob"), "anonymous": nil} {
		for _, op := range []string{"get", "update", "modify", "count", "touch"} {
			args := map[string]any{"op": op, "handle": h, "patch": map[string]any{"n": 99}, "set": map[string]any{"n": 99}}
			if got := handle([]string{ra, rb}[len(op)%2], who, args); got != notFound {
				t.Errorf("%s %s of alice's handle: %s; want %s", name, op, got, notFound)
			}
		}
		if got := handle(ra, who, map[string]any{"op": "delete", "handle": h}); got != "ok" {
			t.Errorf("%s delete of alice's handle: %s; want ok, as for any handle", name, got)
		}
	}
	if got, err := st.GetHandle(t.Context(), h, "alice"); err != nil || len(got) != 3 || got["n"] != float64(1) {
		t.Errorf("alice's handle in the store after the others' calls: %v %v", got, err)
	}

	for _, bad := range []string{"", "has space", strings.Repeat("x", 300), mcpsession.NewID()} {
		for _, op := range []string{"get", "update", "count", "touch"} {
			if got := handle(rb, alice, map[string]any{"op": op, "handle": bad, "patch": map[string]any{}}); got != notFound {
				t.Errorf("%s of handle %q: %s; want %s", op, bad, got, notFound)
			}
		}
		if got := handle(rb, alice, map[string]any{"op": "delete", "handle": bad}); got != "ok" {
			t.Errorf("delete of handle %q: %s; want ok", bad, got)
		}
	}

	// A legacy session's requests have a principal too.
	sid := InitializeWith(t, ra, "c", LegacyVersion, alice)
	inSession := func(url string, args map[string]any) string { return ToolWith(t, url, sid, alice, "handle", args) }
	if got := inSession(rb, map[string]any{"op": "principal"}); got != `"alice"` {
		t.Errorf("principal in alice's session: %s", got)
	}
	if got := inSession(rb, map[string]any{"op": "count", "handle": h}); got != "1" {
		t.Errorf("count on alice's handle in her session: %s; want 1", got)
	}

	if got := handle(rb, alice, map[string]any{"op": "delete", "handle": h}); got != "ok" {
		t.Errorf("alice's delete: %s", got)
	}
	if got := inSession(ra, map[string]any{"op": "get", "handle": h}); got != notFound {
		t.Errorf("get after delete: %s; want %s", got, notFound)
	}

	plain := a.Serve(t, "plain", plainStore{st}, cfg)
	if got, want := handle(plain, alice, map[string]any{"op": "create"}), "error: "+mcpsession.ErrHandlesUnsupported.Error(); got != want {
		t.Errorf("create on a store without handles: %s; want %s", got, want)
	}
}

// Concurrent counts on one handle from both replicas all land.
func modifyHandleSerialised(t *testing.T, a Adapter, dsn string) {
	cfg := ReplicaConfig{Principal: TestPrincipal}
	ra := a.Serve(t, "a", testdb.OpenStore(t, dsn), cfg)
	rb := a.Serve(t, "b", testdb.OpenStore(t, dsn), cfg)
	who := As("carol")
	var h string
	if err := json.Unmarshal([]byte(ModernTool(t, ra, who, "handle", map[string]any{"op": "create"})), &h); err != nil {
		t.Fatal(err)
	}
	const n = 20
	seen := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			seen[i] = ModernTool(t, []string{ra, rb}[i%2], who, "handle", map[string]any{"op": "count", "handle": h})
		})
	}
	wg.Wait()
	got := map[string]bool{}
	for _, s := range seen {
		got[s] = true
	}
	if len(got) != n || !got["1"] || !got[fmt.Sprint(n)] {
		t.Errorf("counts %v; want 1..%d once each", seen, n)
	}
}

// A session's requests from another principal than the one that
// initialized it are 403, whatever their method, on every replica, and
// touch nothing.
func sessionOfAnotherPrincipal(t *testing.T, a Adapter, dsn string) {
	clock := NewClock()
	const interval = time.Minute
	cfg := ReplicaConfig{Principal: TestPrincipal, TouchInterval: interval, Clock: clock.Now}
	sa := &CountingStore{Store: testdb.OpenStore(t, dsn)}
	sb := &CountingStore{Store: testdb.OpenStore(t, dsn)}
	ra := a.Serve(t, "a", sa, cfg)
	rb := a.Serve(t, "b", sb, cfg)
	alice := As("alice")
	sid := InitializeWith(t, ra, "c", LegacyVersion, alice)
	meta, err := sa.Get(t.Context(), sid)
	if err != nil || meta[record.KeyPrincipal] != "alice" {
		t.Fatalf("record of alice's session: %v %v", meta, err)
	}
	anonSID := Initialize(t, rb, "c", LegacyVersion)

	clock.Advance(interval) // any request that is served now touches
	for _, tc := range []struct {
		sid, session string
		who          http.Header
	}{
		{sid, "alice's", As("bob")},
		{sid, "alice's", nil},
		{anonSID, "an anonymous", alice},
	} {
		for i, url := range []string{ra, rb} {
			if status, body := CallWith(t, url, tc.sid, tc.who, "tools/list", nil); status != http.StatusForbidden {
				t.Errorf("POST of %s session by %q on replica %d: %d %s; want 403", tc.session, tc.who.Get(UserHeader), i, status, body)
			}
			for _, m := range []string{http.MethodGet, http.MethodDelete} {
				if r := SendWith(t, m, url, tc.sid, tc.who); r.Status != http.StatusForbidden {
					t.Errorf("%s of %s session by %q on replica %d: %d; want 403", m, tc.session, tc.who.Get(UserHeader), i, r.Status)
				}
			}
		}
	}
	if n := sa.Touches.Load() + sb.Touches.Load() + sa.Deletes.Load() + sb.Deletes.Load(); n != 0 {
		t.Errorf("the refused requests touched or deleted %d times; want 0", n)
	}
	var p Probe
	if err := json.Unmarshal([]byte(ToolWith(t, rb, sid, alice, "probe", nil)), &p); err != nil || p.Client != "c" {
		t.Errorf("alice's own request after the others': %+v %v", p, err)
	}
	if got := ToolWith(t, ra, anonSID, nil, "handle", map[string]any{"op": "principal"}); got != `""` {
		t.Errorf("principal in the anonymous session: %s", got)
	}
}

// A request whose principal function fails is 401, one whose principal
// no store takes is 500, in both eras, and neither is served.
func principalRefused(t *testing.T, a Adapter, dsn string) {
	st := &CountingStore{Store: testdb.OpenStore(t, dsn)}
	ra := a.Serve(t, "a", st, ReplicaConfig{Principal: TestPrincipal})
	sid := Initialize(t, ra, "c", LegacyVersion)
	for user, want := range map[string]int{"refuse": http.StatusUnauthorized, "invalid": http.StatusInternalServerError} {
		who := As(user)
		r := PostWith(t, ra, "", who, map[string]any{
			"jsonrpc": "2.0", "id": 1, "method": "initialize",
			"params": map[string]any{"protocolVersion": LegacyVersion, "clientInfo": map[string]any{"name": "x", "version": "1"}, "capabilities": map[string]any{}},
		})
		if r.Status != want || r.Header.Get(HeaderSessionID) != "" {
			t.Errorf("initialize by %q: %d, session %q; want %d and none", user, r.Status, r.Header.Get(HeaderSessionID), want)
		}
		if status, body := CallModern(t, ra, who, "tools/call", map[string]any{"name": "handle", "arguments": map[string]any{"op": "create"}}); status != want {
			t.Errorf("sessionless tools/call by %q: %d %s; want %d", user, status, body, want)
		}
		if status, _ := CallWith(t, ra, sid, who, "tools/list", nil); status != want {
			t.Errorf("POST of a session by %q: %d; want %d", user, status, want)
		}
		for _, m := range []string{http.MethodGet, http.MethodDelete} {
			if r := SendWith(t, m, ra, sid, who); r.Status != want {
				t.Errorf("%s by %q: %d; want %d", m, user, r.Status, want)
			}
		}
	}
	if n := st.Creates.Load() + st.Deletes.Load(); n != 1 {
		t.Errorf("%d creates and deletes; want only the first initialize's", n)
	}
}
