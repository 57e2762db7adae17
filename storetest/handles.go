package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/jsonvalue"
)

// RunHandles checks the contract of mcpsession.HandleStore on stores
// returned by open, which must return an empty store, not shared with any
// other call, whose handles do not expire during the test (an idle timeout
// of minutes or more) and whose state limit is sqlstore's default (or as
// opts say).
//
// It checks what is particular to handles (minting, principals, a foreign
// principal seeing nothing), and every rule handles share with sessions
// (values, merges, the lock of ModifyHandle, bad input, contexts), the
// latter through a view that gives each test id a handle of its own.
func RunHandles(t *testing.T, open func(t *testing.T) mcpsession.HandleStore, opts ...Option) {
	t.Helper()
	hk := &handleKit{open: open}
	for _, c := range []struct {
		name string
		run  func(*testing.T, *handleKit)
	}{
		{"Minted", testHandleMinted},
		{"Principals", testHandlePrincipals},
		{"ForeignPrincipal", testHandleForeign},
		{"Unknown", testHandleUnknown},
		{"InvalidArguments", testHandleInvalid},
		{"ModifyCounts", testHandleModifyCounts},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, hk)
		})
	}
	t.Run("AsSessions", func(t *testing.T) {
		k := newKit(t, func(t *testing.T) mcpsession.Store { return newHandleView(open(t), "principal:as-sessions") }, opts)
		runRules(t, k, storeRules, true)
	})
}

// RunHandleExpiry checks the handle idle timeout and max lifetime on stores
// returned by open, which expire handles idle longer than idle (0: not
// within the test) or created longer than lifetime ago (0: never): the same
// rules as RunExpiry, through the same view as RunHandles. The store's
// HandleCleaner, when it has one, must sweep with the idle timeout it was
// opened with.
func RunHandleExpiry(t *testing.T, open func(t *testing.T, idle, lifetime time.Duration) mcpsession.HandleStore) {
	t.Helper()
	runExpiryRules(t, func(t *testing.T, idle, lifetime time.Duration) mcpsession.Store {
		return newHandleView(open(t, idle, lifetime), "principal:expiry")
	})
}

type handleKit struct {
	open func(*testing.T) mcpsession.HandleStore
}

func wantHandleNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, mcpsession.ErrHandleNotFound) || !errors.Is(err, mcpsession.ErrNotFound) {
		t.Fatalf("%s: error %v; want one matching ErrHandleNotFound (and ErrNotFound)", what, err)
	}
}

func mustCreateHandle(t *testing.T, hs mcpsession.HandleStore, principal string, state map[string]any) string {
	t.Helper()
	h, err := hs.CreateHandle(t.Context(), principal, state)
	if err != nil {
		t.Fatalf("CreateHandle(%q): %v", principal, err)
	}
	return h
}

func wantState(t *testing.T, hs mcpsession.HandleStore, h, principal string, want map[string]any) {
	t.Helper()
	got, err := hs.GetHandle(t.Context(), h, principal)
	if err != nil {
		t.Fatalf("GetHandle(%q): %v", principal, err)
	}
	if d := jsonvalue.Diff(got, roundTrip(t, want)); d != "" {
		t.Fatalf("state of a handle of %q: %s", principal, d)
	}
}

// testHandleMinted: handles are valid MCP ids, long enough to carry 128
// random bits, never repeated; nil state is {}.
func testHandleMinted(t *testing.T, hk *handleKit) {
	hs := hk.open(t)
	seen := map[string]bool{}
	for i := range 300 {
		var state map[string]any
		if i%2 == 0 {
			state = map[string]any{"i": i}
		}
		h := mustCreateHandle(t, hs, "", state)
		if err := mcpsession.ValidateID(h); err != nil {
			t.Fatalf("handle %q is not a valid MCP id: %v", h, err)
		}
		if len(h) < 22 { // 128 bits need 22 characters of base64, 26 of base32
			t.Fatalf("handle %q is too short to carry 128 random bits", h)
		}
		if seen[h] {
			t.Fatalf("handle %q minted twice", h)
		}
		seen[h] = true
		if state == nil {
			state = map[string]any{}
		}
		wantState(t, hs, h, "", state)
	}
}

// testHandlePrincipals: principals are opaque strings compared exactly:
// "" (anonymous), "alice", "Alice" and "alice " are four owners.
func testHandlePrincipals(t *testing.T, hk *handleKit) {
	hs := hk.open(t)
	ctx := t.Context()
	owners := []string{"", "alice", "Alice", "alice ", "user:42", "日本語", string(make255('p'))}
	handles := map[string]string{}
	for _, p := range owners {
		handles[p] = mustCreateHandle(t, hs, p, map[string]any{"owner": p})
	}
	for _, p := range owners {
		wantState(t, hs, handles[p], p, map[string]any{"owner": p})
		for _, q := range owners {
			if q == p {
				continue
			}
			_, err := hs.GetHandle(ctx, handles[p], q)
			wantHandleNotFound(t, fmt.Sprintf("GetHandle of %q's handle as %q", p, q), err)
		}
	}
}

// testHandleForeign: a handle used with another principal behaves exactly
// as an unknown one, and changes nothing: not the state, not the expiry,
// not its existence.
func testHandleForeign(t *testing.T, hk *handleKit) {
	hs := hk.open(t)
	ctx := t.Context()
	const owner, stranger = "owner", "stranger"
	h := mustCreateHandle(t, hs, owner, map[string]any{"n": 1})
	unknown := mcpsession.NewID()
	for _, target := range []string{h, unknown} {
		what := "a foreign handle"
		if target == unknown {
			what = "an unknown handle"
		}
		_, err := hs.GetHandle(ctx, target, stranger)
		wantHandleNotFound(t, "GetHandle of "+what, err)
		wantHandleNotFound(t, "UpdateHandle of "+what, hs.UpdateHandle(ctx, target, stranger, map[string]any{"n": 2}))
		wantHandleNotFound(t, "TouchHandle of "+what, hs.TouchHandle(ctx, target, stranger))
		called := false
		err = hs.ModifyHandle(ctx, target, stranger, func(m map[string]any) (map[string]any, error) {
			called = true
			return map[string]any{"n": 3}, nil
		})
		wantHandleNotFound(t, "ModifyHandle of "+what, err)
		if called {
			t.Fatalf("ModifyHandle of %s called its function", what)
		}
		if err := hs.DeleteHandle(ctx, target, stranger); err != nil {
			t.Fatalf("DeleteHandle of %s: %v; want nil, as for any handle", what, err)
		}
	}
	wantState(t, hs, h, owner, map[string]any{"n": 1})
	// The owner's own calls still work after all that.
	if err := hs.UpdateHandle(ctx, h, owner, map[string]any{"m": true}); err != nil {
		t.Fatal(err)
	}
	wantState(t, hs, h, owner, map[string]any{"n": 1, "m": true})
	if err := hs.DeleteHandle(ctx, h, owner); err != nil {
		t.Fatal(err)
	}
	_, err := hs.GetHandle(ctx, h, owner)
	wantHandleNotFound(t, "GetHandle after its owner deleted it", err)
}

// testHandleUnknown: handles never minted, and deleted ones, are not found
// by any call, and a deleted one is not brought back.
func testHandleUnknown(t *testing.T, hk *handleKit) {
	hs := hk.open(t)
	ctx := t.Context()
	h := mustCreateHandle(t, hs, "p", nil)
	if err := hs.DeleteHandle(ctx, h, "p"); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{h, mcpsession.NewID(), "never-minted"} {
		_, err := hs.GetHandle(ctx, target, "p")
		wantHandleNotFound(t, "GetHandle of "+target, err)
		wantHandleNotFound(t, "UpdateHandle of "+target, hs.UpdateHandle(ctx, target, "p", map[string]any{"x": 1}))
		wantHandleNotFound(t, "TouchHandle of "+target, hs.TouchHandle(ctx, target, "p"))
		err = hs.ModifyHandle(ctx, target, "p", func(m map[string]any) (map[string]any, error) { return m, nil })
		wantHandleNotFound(t, "ModifyHandle of "+target, err)
		if err := hs.DeleteHandle(ctx, target, "p"); err != nil {
			t.Fatalf("DeleteHandle of %s: %v", target, err)
		}
		_, err = hs.GetHandle(ctx, target, "p")
		wantHandleNotFound(t, "GetHandle after the failed writes", err)
	}
}

// testHandleInvalid: a handle no store could mint is ErrInvalidID, a
// principal that cannot be stored is ErrInvalidPrincipal, on every call,
// and nothing is written.
func testHandleInvalid(t *testing.T, hk *handleKit) {
	hs := hk.open(t)
	ctx := t.Context()
	good := mustCreateHandle(t, hs, "p", map[string]any{"n": 1})
	identity := func(m map[string]any) (map[string]any, error) { return m, nil }
	for _, bad := range []string{"", "a b", "nul\x00", "é", string(append(make255('a'), 'a'))} {
		_, err := hs.GetHandle(ctx, bad, "p")
		wantErr(t, fmt.Sprintf("GetHandle(%q)", bad), err, mcpsession.ErrInvalidID)
		wantErr(t, fmt.Sprintf("UpdateHandle(%q)", bad), hs.UpdateHandle(ctx, bad, "p", nil), mcpsession.ErrInvalidID)
		wantErr(t, fmt.Sprintf("TouchHandle(%q)", bad), hs.TouchHandle(ctx, bad, "p"), mcpsession.ErrInvalidID)
		wantErr(t, fmt.Sprintf("ModifyHandle(%q)", bad), hs.ModifyHandle(ctx, bad, "p", identity), mcpsession.ErrInvalidID)
		wantErr(t, fmt.Sprintf("DeleteHandle(%q)", bad), hs.DeleteHandle(ctx, bad, "p"), mcpsession.ErrInvalidID)
	}
	for _, bad := range []string{"\xff", "a\x00b", string(make([]byte, mcpsession.MaxPrincipalLength+1))} {
		_, err := hs.CreateHandle(ctx, bad, map[string]any{"n": 2})
		wantErr(t, "CreateHandle with a bad principal", err, mcpsession.ErrInvalidPrincipal)
		_, err = hs.GetHandle(ctx, good, bad)
		wantErr(t, "GetHandle with a bad principal", err, mcpsession.ErrInvalidPrincipal)
		wantErr(t, "UpdateHandle with a bad principal", hs.UpdateHandle(ctx, good, bad, nil), mcpsession.ErrInvalidPrincipal)
		wantErr(t, "TouchHandle with a bad principal", hs.TouchHandle(ctx, good, bad), mcpsession.ErrInvalidPrincipal)
		wantErr(t, "ModifyHandle with a bad principal", hs.ModifyHandle(ctx, good, bad, identity), mcpsession.ErrInvalidPrincipal)
		wantErr(t, "DeleteHandle with a bad principal", hs.DeleteHandle(ctx, good, bad), mcpsession.ErrInvalidPrincipal)
	}
	for name, m := range badMetadata() {
		_, err := hs.CreateHandle(ctx, "p", m)
		wantErr(t, "CreateHandle with "+name, err, mcpsession.ErrInvalidMetadata)
	}
	wantState(t, hs, good, "p", map[string]any{"n": 1})
}

// testHandleModifyCounts: concurrent ModifyHandle calls on one handle never
// lose an increment: the counter the example's tool keeps.
func testHandleModifyCounts(t *testing.T, hk *handleKit) {
	hs := hk.open(t)
	h := mustCreateHandle(t, hs, "counter", map[string]any{"count": 0})
	const workers, rounds = 16, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for range workers {
		wg.Go(func() {
			for range rounds {
				errs <- hs.ModifyHandle(t.Context(), h, "counter", func(m map[string]any) (map[string]any, error) {
					n, _ := m["count"].(float64)
					m["count"] = n + 1
					return m, nil
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	wantState(t, hs, h, "counter", map[string]any{"count": workers * rounds})
}

// handleView shows a HandleStore as an mcpsession.Store (and Toucher,
// Modifier, Cleaner when it has CleanupHandles) owned by one principal, so
// that the rules handles share with sessions are stated once: each id a
// rule uses names a handle of its own, minted by its first Create. An id
// that names no handle maps to a fresh one no store holds.
type handleView struct {
	hs        mcpsession.HandleStore
	principal string

	mu   sync.Mutex
	byID map[string]string
}

// handleViewCleaner is a handleView over a store that is a HandleCleaner.
type handleViewCleaner struct {
	*handleView
	hc mcpsession.HandleCleaner
}

func newHandleView(hs mcpsession.HandleStore, principal string) mcpsession.Store {
	v := &handleView{hs: hs, principal: principal, byID: map[string]string{}}
	if hc, ok := hs.(mcpsession.HandleCleaner); ok {
		return handleViewCleaner{v, hc}
	}
	return v
}

func (v *handleView) handle(id string) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if h, ok := v.byID[id]; ok {
		return h
	}
	return mcpsession.NewID()
}

func (v *handleView) Create(ctx context.Context, id string, md map[string]any) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if h, ok := v.byID[id]; ok {
		if _, err := v.hs.GetHandle(ctx, h, v.principal); err == nil {
			return mcpsession.ErrExists
		}
	}
	h, err := v.hs.CreateHandle(ctx, v.principal, md)
	if err != nil {
		return err
	}
	v.byID[id] = h
	return nil
}

func (v *handleView) Get(ctx context.Context, id string) (map[string]any, error) {
	return v.hs.GetHandle(ctx, v.handle(id), v.principal)
}

func (v *handleView) Update(ctx context.Context, id string, md map[string]any) error {
	return v.hs.UpdateHandle(ctx, v.handle(id), v.principal, md)
}

func (v *handleView) Delete(ctx context.Context, id string) error {
	return v.hs.DeleteHandle(ctx, v.handle(id), v.principal)
}

func (v *handleView) Touch(ctx context.Context, id string) error {
	return v.hs.TouchHandle(ctx, v.handle(id), v.principal)
}

func (v *handleView) Modify(ctx context.Context, id string, fn func(map[string]any) (map[string]any, error)) error {
	return v.hs.ModifyHandle(ctx, v.handle(id), v.principal, fn)
}

// Cleanup sweeps with the store's own handle idle timeout: the expiry rules
// pass the ttl the store was opened with.
func (v handleViewCleaner) Cleanup(ctx context.Context, ttl time.Duration) (int64, error) {
	if ttl < time.Millisecond {
		return 0, fmt.Errorf("%w: %v", mcpsession.ErrInvalidArgument, ttl)
	}
	return v.hc.CleanupHandles(ctx)
}
