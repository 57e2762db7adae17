package adapter

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/principal"
	"github.com/mcpsession/mcpsession/internal/record"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/internal/touchgate"
	"github.com/mcpsession/mcpsession/sqlstore"
)

func TestNewTouchInterval(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		idle, given, want time.Duration
		fails             bool
	}{
		{0, 0, touchgate.DefaultInterval, false},
		{30 * time.Minute, 0, touchgate.DefaultInterval, false},
		{2 * time.Minute, 0, 30 * time.Second, false},
		{time.Minute, 29 * time.Second, 29 * time.Second, false},
		{time.Minute, 30 * time.Second, 0, true},
		{0, time.Hour, time.Hour, false},
	} {
		var opts []sqlstore.Option
		if tc.idle > 0 {
			opts = append(opts, sqlstore.WithIdleTimeout(tc.idle))
		}
		c, err := New(Config{Name: "test", Store: testdb.OpenStore(t, "sqlite::memory:", opts...), Settings: Settings{TouchInterval: tc.given}})
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

// The state helpers keep application state and the reserved keys apart,
// on a real store, for the session of the request's context.
func TestStateHelpers(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		c, err := New(Config{Name: "test", Store: testdb.OpenStore(t, dsn)})
		if err != nil {
			t.Fatal(err)
		}
		id := mcpsession.NewID()
		if err := c.Create(ctx, id, map[string]any{record.KeyProtocolVersion: "2025-11-25"}); err != nil {
			t.Fatal(err)
		}
		if _, err := State(c.Bind(ctx)); !errors.Is(err, mcpsession.ErrNoSession) {
			t.Errorf("State outside a session: %v", err)
		}
		if _, err := State(WithSession(ctx, id)); !errors.Is(err, mcpsession.ErrNoSession) {
			t.Errorf("State without the adapter: %v", err)
		}
		sctx := WithSession(c.Bind(ctx), id)
		if got, err := SessionID(sctx); got != id || err != nil {
			t.Errorf("SessionID = %q, %v", got, err)
		}
		if err := UpdateState(sctx, map[string]any{"a": 1, record.KeyLogLevel: "debug"}); !errors.Is(err, mcpsession.ErrReservedKey) {
			t.Errorf("UpdateState of a reserved key: %v", err)
		}
		if err := UpdateState(sctx, map[string]any{"a": 1, "b": 2}); err != nil {
			t.Fatal(err)
		}
		err = ModifyState(sctx, func(st map[string]any) (map[string]any, error) {
			if _, ok := st[record.KeyProtocolVersion]; ok {
				t.Error("fn saw a reserved key")
			}
			delete(st, "a")
			st["c"] = true
			return st, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := ModifyState(sctx, func(st map[string]any) (map[string]any, error) {
			st[record.KeyClientInfo] = nil
			return st, nil
		}); !errors.Is(err, mcpsession.ErrReservedKey) {
			t.Errorf("ModifyState returning a reserved key: %v", err)
		}
		if err := ModifyState(sctx, nil); !errors.Is(err, mcpsession.ErrInvalidArgument) {
			t.Errorf("ModifyState(nil): %v", err)
		}
		st, err := State(sctx)
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
		if meta[record.KeyProtocolVersion] != "2025-11-25" || record.TouchedAt(meta).IsZero() {
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
		if err := ModifyState(sctx, func(st map[string]any) (map[string]any, error) { return st, nil }); !errors.Is(err, mcpsession.ErrNotFound) {
			t.Errorf("ModifyState after Delete: %v", err)
		}
	})
}

// The handle helpers act for the principal in the context, and only with
// one; what the principal function answers is checked before any use.
func TestHandleHelpersNeedAPrincipal(t *testing.T) {
	t.Parallel()
	st := testdb.OpenStore(t, "sqlite::memory:")
	c, err := New(Config{Name: "test", Store: st, Settings: Settings{Principal: func(r *http.Request) (string, error) {
		switch r.Header.Get("User") {
		case "none":
			return "", errors.New("secret-token-that-must-not-show")
		case "nul":
			return "a\x00b", nil
		}
		return r.Header.Get("User"), nil
	}}})
	if err != nil {
		t.Fatal(err)
	}
	bare := context.Background()
	if _, err := CreateHandle(bare, nil); !errors.Is(err, mcpsession.ErrNoPrincipal) {
		t.Errorf("CreateHandle without the adapter: %v", err)
	}
	if _, err := CreateHandle(c.Bind(bare), nil); !errors.Is(err, mcpsession.ErrNoPrincipal) {
		t.Errorf("CreateHandle without a principal: %v", err)
	}
	if err := UpdateHandle(c.Bind(bare), mcpsession.NewID(), nil); !errors.Is(err, mcpsession.ErrNoPrincipal) {
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
	ctx := c.Bind(principal.With(bare, p))
	h, err := CreateHandle(ctx, map[string]any{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := ModifyHandle(ctx, h, nil); !errors.Is(err, mcpsession.ErrInvalidArgument) {
		t.Errorf("ModifyHandle(nil): %v", err)
	}
	if _, err := st.GetHandle(bare, h, "dana"); err != nil {
		t.Errorf("the handle is not dana's in the store: %v", err)
	}
	if _, err := GetHandle(c.Bind(principal.WithError(bare, errors.New("x"))), h); err == nil {
		t.Error("GetHandle with a failed principal succeeded")
	}
	noHandles, err := New(Config{Name: "test", Store: plain{st}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreateHandle(noHandles.Bind(ctx), nil); !errors.Is(err, mcpsession.ErrHandlesUnsupported) {
		t.Errorf("CreateHandle on a store without handles: %v", err)
	}
}

// plain hides every method but the four of mcpsession.Store.
type plain struct{ mcpsession.Store }
