package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/optional"
)

// ttl is the expiry the timing checks use: long enough that a loaded
// machine rarely stalls past it, short enough to keep the kit quick.
const ttl = 300 * time.Millisecond

func testCleaner(t *testing.T, k *kit) {
	s := k.open(t)
	c, ok := s.(mcpsession.Cleaner)
	if !ok {
		t.Skip("store does not implement mcpsession.Cleaner")
	}
	ctx := t.Context()
	keep := mcpsession.NewID()
	mustCreate(t, s, keep, mcpMetadata())
	for _, bad := range []time.Duration{0, -time.Second, time.Millisecond - 1} {
		n, err := c.Cleanup(ctx, bad)
		wantErr(t, fmt.Sprintf("Cleanup(%v)", bad), err, mcpsession.ErrInvalidArgument)
		if n != 0 {
			t.Fatalf("Cleanup(%v) = %d; want 0", bad, n)
		}
	}
	wantMetadata(t, s, keep, mcpMetadata())
	if err := s.Delete(ctx, keep); err != nil {
		t.Fatal(err)
	}

	if n, err := c.Cleanup(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("Cleanup of an empty store = %d, %v; want 0, nil", n, err)
	}

	timing(t, func(p *pace) error {
		s := k.open(t)
		c := s.(mcpsession.Cleaner)
		old := ids(3)
		for _, id := range old {
			mustCreate(t, s, id, nil)
		}
		sleepPast(ctx, time.Now(), ttl)
		fresh := mcpsession.NewID()
		start := time.Now()
		mustCreate(t, s, fresh, map[string]any{"fresh": true})
		n, err := c.Cleanup(ctx, ttl)
		p.within(start, ttl)
		if err != nil {
			return fmt.Errorf("cleanup: %w", err)
		}
		if _, err := s.Get(ctx, fresh); err != nil {
			return fmt.Errorf("Cleanup(%v) removed a session %v old: Get = %w", ttl, time.Since(start), err)
		}
		if n != int64(len(old)) {
			return fmt.Errorf("Cleanup(%v) = %d; want %d", ttl, n, len(old))
		}
		for _, id := range old {
			wantNotFound(t, s, id)
		}
		return s.Delete(ctx, fresh)
	})
}

func testToucher(t *testing.T, k *kit) {
	s := k.open(t)
	tc, ok := s.(mcpsession.Toucher)
	if !ok {
		t.Skip("store does not implement mcpsession.Toucher")
	}
	ctx := t.Context()
	wantErr(t, "Touch of a missing session", tc.Touch(ctx, mcpsession.NewID()), mcpsession.ErrNotFound)
	id := mcpsession.NewID()
	mustCreate(t, s, id, mcpMetadata())
	if err := tc.Touch(ctx, id); err != nil {
		t.Fatal(err)
	}
	wantMetadata(t, s, id, mcpMetadata())
	if err := s.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Touch of a deleted session", tc.Touch(ctx, id), mcpsession.ErrNotFound)
	wantNotFound(t, s, id)

	// Touching slides the session past a Cleanup that would have taken it.
	if _, ok := s.(mcpsession.Cleaner); !ok {
		return
	}
	timing(t, func(p *pace) error {
		s := k.open(t)
		tc, c := s.(mcpsession.Toucher), s.(mcpsession.Cleaner)
		id := mcpsession.NewID()
		created := time.Now()
		mustCreate(t, s, id, nil)
		sleepPast(ctx, created, ttl*2/3)
		touched := time.Now()
		if err := tc.Touch(ctx, id); err != nil {
			return err
		}
		sleepPast(ctx, created, ttl) // older than ttl since Create, younger since Touch
		if _, err := c.Cleanup(ctx, ttl); err != nil {
			return err
		}
		_, err := s.Get(ctx, id)
		p.within(touched, ttl)
		if err != nil {
			return fmt.Errorf("Cleanup(%v) took a session touched %v before: %w", ttl, time.Since(touched), err)
		}
		return nil
	})
}

var errFromFn = errors.New("storetest: refused by the function")

func testModifier(t *testing.T, k *kit) {
	s := k.open(t)
	mod, ok := s.(mcpsession.Modifier)
	if !ok {
		t.Skip("store does not implement mcpsession.Modifier")
	}
	ctx := t.Context()
	id := mcpsession.NewID()
	mustCreate(t, s, id, mcpMetadata())

	// fn sees the stored metadata; what it returns is the whole new
	// metadata, so keys can be removed.
	err := mod.Modify(ctx, id, func(m map[string]any) (map[string]any, error) {
		if w := roundTrip(t, mcpMetadata()); show(m) != show(w) {
			return nil, fmt.Errorf("the function was passed %s; want %s", show(m), show(w))
		}
		delete(m, "capabilities")
		m["counter"] = 1
		return m, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := mcpMetadata()
	delete(want, "capabilities")
	want["counter"] = 1
	wantMetadata(t, s, id, want)

	// An error from fn writes nothing and comes back as is.
	err = mod.Modify(ctx, id, func(m map[string]any) (map[string]any, error) {
		m["counter"] = 99
		return m, fmt.Errorf("wrapped: %w", errFromFn)
	})
	wantErr(t, "Modify whose function fails", err, errFromFn)
	wantMetadata(t, s, id, want)

	// A nil result is the empty object.
	if err := mod.Modify(ctx, id, func(map[string]any) (map[string]any, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	wantMetadata(t, s, id, map[string]any{})

	// Missing: ErrNotFound, and fn is not called.
	called := false
	err = mod.Modify(ctx, mcpsession.NewID(), func(m map[string]any) (map[string]any, error) { called = true; return m, nil })
	wantErr(t, "Modify of a missing session", err, mcpsession.ErrNotFound)
	if called {
		t.Fatal("Modify of a missing session called its function")
	}
	if err := mod.Modify(ctx, id, nil); err == nil {
		t.Fatal("Modify with a nil function: nil error")
	}
}

// testModifierConcurrent increments one counter from many goroutines with
// Modify while others Update other keys of the same session: no increment
// and no key may be lost.
func testModifierConcurrent(t *testing.T, k *kit) {
	s := k.open(t)
	mod, ok := s.(mcpsession.Modifier)
	if !ok {
		t.Skip("store does not implement mcpsession.Modifier")
	}
	id := mcpsession.NewID()
	mustCreate(t, s, id, map[string]any{"counter": 0})
	const incrementers, increments, updaters = 10, 5, 10
	var wg sync.WaitGroup
	errs := make(chan error, incrementers+updaters)
	for range incrementers {
		wg.Go(func() {
			for range increments {
				err := mod.Modify(t.Context(), id, func(m map[string]any) (map[string]any, error) {
					n, _ := m["counter"].(float64)
					m["counter"] = n + 1
					return m, nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for u := range updaters {
		wg.Go(func() {
			if err := s.Update(t.Context(), id, map[string]any{fmt.Sprintf("u%d", u): u}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := mustGet(t, s, id)
	if got["counter"] != float64(incrementers*increments) {
		t.Fatalf("counter = %v after %d concurrent increments", got["counter"], incrementers*increments)
	}
	for u := range updaters {
		if got[fmt.Sprintf("u%d", u)] != float64(u) {
			t.Fatalf("key u%d lost beside concurrent Modify: %s", u, show(got))
		}
	}
}

func testSharedGetter(t *testing.T, k *kit) {
	s := k.open(t)
	sg, ok := s.(optional.SharedGetter)
	if !ok {
		t.Skip("store does not implement optional.SharedGetter")
	}
	ctx := t.Context()
	if m, err := sg.GetShared(ctx, mcpsession.NewID()); !errors.Is(err, mcpsession.ErrNotFound) {
		t.Fatalf("GetShared of a missing session = %s, %v; want ErrNotFound", show(m), err)
	}
	id := mcpsession.NewID()
	mustCreate(t, s, id, mcpMetadata())
	want := roundTrip(t, mcpMetadata())
	var first map[string]any
	for i := range 3 { // a miss, then what a cache serves from memory
		got, err := sg.GetShared(ctx, id)
		if err != nil {
			t.Fatalf("GetShared: %v", err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("GetShared %d:\n got %s\nwant %s", i, show(got), show(want))
		}
		if first == nil {
			first = got
		}
	}
	if err := s.Update(ctx, id, map[string]any{"protocolVersion": "changed", "x": 1}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, want) {
		t.Fatalf("a map GetShared returned changed after an Update: %s", show(first))
	}
	wantAfter := roundTrip(t, mcpMetadata())
	wantAfter["protocolVersion"], wantAfter["x"] = "changed", float64(1)
	if got, err := sg.GetShared(ctx, id); err != nil || !reflect.DeepEqual(got, wantAfter) {
		t.Fatalf("GetShared after Update = %s, %v; want %s", show(got), err, show(wantAfter))
	}
	if err := s.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if m, err := sg.GetShared(ctx, id); !errors.Is(err, mcpsession.ErrNotFound) {
		t.Fatalf("GetShared after Delete = %s, %v; want ErrNotFound", show(m), err)
	}
}
