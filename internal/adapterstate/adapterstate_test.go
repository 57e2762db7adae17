package adapterstate

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

func TestTouchGateBounded(t *testing.T) {
	t.Parallel()
	g := NewTouchGate(time.Second)
	now := time.Now()
	for i := range 1000 {
		if !g.Claim(mcpsession.NewID(), time.Time{}, now) {
			t.Fatalf("claim %d refused", i)
		}
	}
	if !g.Claim("x", now.Add(-2*time.Second), now) || g.Claim("x", time.Time{}, now.Add(time.Millisecond)) {
		t.Error("a second claim within the interval was granted")
	}
	if g.Claim("y", now, now) {
		t.Error("a claim just after another replica's touch was granted")
	}
	if !g.Claim("z", now.Add(time.Hour), now) {
		t.Error("a touchedAt far in the future held the touch back")
	}
	g.Claim("late", time.Time{}, now.Add(2*time.Second))
	if n := g.Size(); n != 1 {
		t.Errorf("after an interval the gate holds %d claims; want 1", n)
	}
}

func TestNewTouchInterval(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		idle, given, want time.Duration
		fails             bool
	}{
		{0, 0, DefaultTouchInterval, false},
		{30 * time.Minute, 0, DefaultTouchInterval, false},
		{2 * time.Minute, 0, 30 * time.Second, false},
		{time.Minute, 29 * time.Second, 29 * time.Second, false},
		{time.Minute, 30 * time.Second, 0, true},
		{0, time.Hour, time.Hour, false},
	} {
		var opts []sqlstore.Option
		if tc.idle > 0 {
			opts = append(opts, sqlstore.WithIdleTimeout(tc.idle))
		}
		c, err := New(Config{Name: "test", Store: testdb.OpenStore(t, "sqlite::memory:", opts...), TouchInterval: tc.given})
		switch {
		case tc.fails:
			if !errors.Is(err, mcpsession.ErrInvalidOption) {
				t.Errorf("idle %v, interval %v: %v; want ErrInvalidOption", tc.idle, tc.given, err)
			}
		case err != nil:
			t.Errorf("idle %v, interval %v: %v", tc.idle, tc.given, err)
		case c.TouchInterval() != tc.want:
			t.Errorf("idle %v, interval %v: touch interval %v; want %v", tc.idle, tc.given, c.TouchInterval(), tc.want)
		}
	}
	if _, err := New(Config{}); !errors.Is(err, mcpsession.ErrInvalidOption) {
		t.Errorf("nil store: %v", err)
	}
}

// The helpers keep application state and the reserved keys apart, on a
// real store, and wrap the adapter's own sentinels.
func TestStateHelpers(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		c, err := New(Config{Name: "test", Store: testdb.OpenStore(t, dsn)})
		if err != nil {
			t.Fatal(err)
		}
		id := mcpsession.NewID()
		if err := c.Create(ctx, id, map[string]any{KeyProtocolVersion: "2025-11-25"}); err != nil {
			t.Fatal(err)
		}
		if err := c.UpdateState(ctx, id, map[string]any{"a": 1, KeyLogLevel: "debug"}); !errors.Is(err, mcpsession.ErrReservedKey) {
			t.Errorf("UpdateState of a reserved key: %v", err)
		}
		if err := c.UpdateState(ctx, id, map[string]any{"a": 1, "b": 2}); err != nil {
			t.Fatal(err)
		}
		err = c.ModifyState(ctx, id, func(st map[string]any) (map[string]any, error) {
			if _, ok := st[KeyProtocolVersion]; ok {
				t.Error("fn saw a reserved key")
			}
			delete(st, "a")
			st["c"] = true
			return st, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.ModifyState(ctx, id, func(st map[string]any) (map[string]any, error) {
			st[KeyClientInfo] = nil
			return st, nil
		}); !errors.Is(err, mcpsession.ErrReservedKey) {
			t.Errorf("ModifyState returning a reserved key: %v", err)
		}
		if err := c.ModifyState(ctx, id, nil); !errors.Is(err, mcpsession.ErrInvalidArgument) {
			t.Errorf("ModifyState(nil): %v", err)
		}
		st, err := c.State(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(st) != 2 || st["b"] != float64(2) || st["c"] != true {
			t.Errorf("state %v; want b=2 c=true", st)
		}
		meta, err := c.Open(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if meta[KeyProtocolVersion] != "2025-11-25" || TouchedAt(meta).IsZero() {
			t.Errorf("record %v lost its reserved keys", meta)
		}
		if err := c.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Open(ctx, id); !errors.Is(err, mcpsession.ErrNotFound) {
			t.Errorf("Open after Delete: %v", err)
		}
		if _, err := c.Open(ctx, "has space"); !errors.Is(err, mcpsession.ErrNotFound) {
			t.Errorf("Open of an invalid id: %v; want ErrNotFound", err)
		}
		if err := c.ModifyState(ctx, id, func(st map[string]any) (map[string]any, error) { return st, nil }); !errors.Is(err, mcpsession.ErrNotFound) {
			t.Errorf("ModifyState after Delete: %v", err)
		}
	})
}

// The handle helpers act for the principal in the context, and only with
// one; what the principal function answers is checked before any use.
func TestHandleHelpersNeedAPrincipal(t *testing.T) {
	t.Parallel()
	st := testdb.OpenStore(t, "sqlite::memory:")
	c, err := New(Config{Name: "test", Store: st, Principal: func(r *http.Request) (string, error) {
		switch r.Header.Get("User") {
		case "none":
			return "", errors.New("secret-token-that-must-not-show")
		case "nul":
			return "a\x00b", nil
		}
		return r.Header.Get("User"), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	bare := context.Background()
	if _, err := c.CreateHandle(bare, nil); !errors.Is(err, mcpsession.ErrNoPrincipal) {
		t.Errorf("CreateHandle without a principal: %v", err)
	}
	if err := c.UpdateHandle(bare, mcpsession.NewID(), nil); !errors.Is(err, mcpsession.ErrNoPrincipal) {
		t.Errorf("UpdateHandle without a principal: %v", err)
	}
	req := func(user string) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set("User", user)
		return r
	}
	if _, err := c.Principal(req("none")); !errors.Is(err, mcpsession.ErrNoPrincipal) || strings.Contains(err.Error(), "secret") {
		t.Errorf("a failing principal function: %v", err)
	}
	if _, err := c.Principal(req("nul")); !errors.Is(err, mcpsession.ErrNoPrincipal) || !errors.Is(err, mcpsession.ErrInvalidPrincipal) {
		t.Errorf("an invalid principal: %v", err)
	}
	p, err := c.Principal(req("dana"))
	if err != nil || p != "dana" {
		t.Fatalf("principal %q %v", p, err)
	}
	ctx := WithPrincipal(bare, p)
	h, err := c.CreateHandle(ctx, map[string]any{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ModifyHandle(ctx, h, nil); !errors.Is(err, mcpsession.ErrInvalidArgument) {
		t.Errorf("ModifyHandle(nil): %v", err)
	}
	if _, err := st.GetHandle(bare, h, "dana"); err != nil {
		t.Errorf("the handle is not dana's in the store: %v", err)
	}
	if _, err := c.GetHandle(WithPrincipalError(bare, errors.New("x")), h); err == nil {
		t.Error("GetHandle with a failed principal succeeded")
	}
	noHandles, err := New(Config{Name: "test", Store: plain{st}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noHandles.CreateHandle(ctx, nil); !errors.Is(err, mcpsession.ErrHandlesUnsupported) {
		t.Errorf("CreateHandle on a store without handles: %v", err)
	}
}

// plain hides every method but the four of mcpsession.Store.
type plain struct{ mcpsession.Store }

// A Memo decodes a session's value once while it stays equal, again when
// it changes, and holds at most its bound of sessions.
func TestMemo(t *testing.T) {
	t.Parallel()
	m := NewMemo[string](2)
	calls := 0
	name := func(raw any) (string, bool) {
		calls++
		s, ok := raw.(map[string]any)["name"].(string)
		return s, ok
	}
	a, b, c := mcpsession.NewID(), mcpsession.NewID(), mcpsession.NewID()
	for range 3 {
		// a fresh map each time, as a store's Get returns
		if got, ok := m.Decode(a, map[string]any{"name": "alice"}, name); !ok || got != "alice" {
			t.Fatalf("Decode = %q, %v; want alice", got, ok)
		}
	}
	if calls != 1 {
		t.Fatalf("decoded %d times for three equal values; want 1", calls)
	}
	raw := map[string]any{"name": "bob"}
	if got, _ := m.Decode(a, raw, name); got != "bob" || calls != 2 {
		t.Fatalf("Decode of a changed value = %q after %d decodes; want bob after 2", got, calls)
	}
	raw["name"] = "changed by the caller"
	if got, _ := m.Decode(a, map[string]any{"name": "bob"}, name); got != "bob" || calls != 2 {
		t.Fatalf("the memo kept the caller's map: Decode = %q after %d decodes", got, calls)
	}
	if _, ok := m.Decode(b, map[string]any{}, name); ok {
		t.Fatal("a value that does not decode reads as decoded")
	}
	if _, ok := m.Decode(b, map[string]any{}, name); ok || calls != 3 {
		t.Fatalf("a failed decode of an equal value ran again: %d decodes; want 3", calls)
	}
	m.Decode(c, map[string]any{"name": "carol"}, name)
	if m.Len() != 2 {
		t.Fatalf("Len = %d after three sessions; want the bound, 2", m.Len())
	}
	if got, _ := m.Decode(c, map[string]any{"name": "carol"}, name); got != "carol" || calls != 4 {
		t.Fatalf("the newest session was evicted: %d decodes; want 4", calls)
	}
	m.Forget(c)
	m.Forget(c)
	if m.Len() != 1 {
		t.Fatalf("Len = %d after Forget; want 1", m.Len())
	}
}
