package cache

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// clock is a test's clock for entries' lives: it moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// newClocked returns a cache over a store of its own, on the dialect of
// dsn, with entries' lives on a clock the test moves. The bus is not run:
// these tests make no writes through the cache that another would hear.
func newClocked(t *testing.T, dsn string, opts ...Option) (*store, *sqlstore.Store, *clock) {
	t.Helper()
	if strings.HasPrefix(dsn, "sqlite:") {
		dsn = testdb.SQLiteFile(t)
	} else {
		dsn = testdb.Postgres(t)
	}
	raw := testdb.OpenStore(t, dsn)
	b, err := bus.New(raw)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := New(raw, b, append([]Option{WithPolledInvalidation()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	c := pub.(*store)
	t.Cleanup(func() { c.Close() })
	clk := &clock{t: time.Now()}
	c.now = clk.now
	return c, raw, clk
}

// A hit in the last part of an entry's life reads the session again in the
// background, and the new entry serves past the old one's end: after one
// miss, a session read at 85% and then at 110% of the bound is a hit both
// times, holding what was written behind the cache's back before the
// background read. Without refreshing ahead the second read misses.
func TestRefreshAhead(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		const bound = time.Second
		for _, part := range []float64{0.2, 0} {
			c, raw, clk := newClocked(t, dsn, WithMaxStaleness(bound), withRefreshAhead(part))
			ctx := t.Context()
			id := mcpsession.NewID()
			if err := raw.Create(ctx, id, map[string]any{"v": 0}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Get(ctx, id); err != nil { // the miss
				t.Fatal(err)
			}
			if err := raw.Update(ctx, id, map[string]any{"v": 1}); err != nil { // behind the cache's back
				t.Fatal(err)
			}
			clk.add(bound * 85 / 100)
			md, err := c.Get(ctx, id) // a hit, in the last fifth
			if err != nil || md["v"] != float64(0) {
				t.Fatalf("part=%v: Get at 85%% of the bound = %v, %v; want the cached v=0", part, md, err)
			}
			c.bgWG.Wait() // the background read, if one started, is done
			clk.add(bound * 25 / 100)
			md, err = c.Get(ctx, id) // past the first entry's end
			if err != nil {
				t.Fatal(err)
			}
			st := c.Stats()
			if part == 0 {
				if st.Refreshes != 0 || st.Misses != 2 {
					t.Errorf("without refreshing ahead: %+v; want 0 refreshes and 2 misses", st)
				}
				continue
			}
			if st.Refreshes != 1 || st.Misses != 1 || st.Hits != 2 {
				t.Errorf("part=%v: %+v; want 1 refresh, 1 miss, 2 hits", part, st)
			}
			if md["v"] != float64(1) {
				t.Errorf("part=%v: Get after the background read = %v; want v=1, what it read", part, md)
			}
		}
	})
}

// A background read that finds the session gone drops its entry at once,
// before the bound would have.
func TestRefreshFindsSessionGone(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		const bound = time.Second
		c, raw, clk := newClocked(t, dsn, WithMaxStaleness(bound), withRefreshAhead(0.5))
		ctx := t.Context()
		id := mcpsession.NewID()
		if err := raw.Create(ctx, id, map[string]any{"v": 0}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Get(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := raw.Delete(ctx, id); err != nil { // behind the cache's back: nothing announced
			t.Fatal(err)
		}
		clk.add(bound * 6 / 10)
		if _, err := c.Get(ctx, id); err != nil { // within the bound: the entry may still answer
			t.Fatalf("Get at 60%% of the bound: %v; want the cached entry", err)
		}
		c.bgWG.Wait()
		if _, err := c.Get(ctx, id); !errors.Is(err, mcpsession.ErrNotFound) {
			t.Fatalf("Get after the background read found the session gone: %v; want ErrNotFound", err)
		}
		if st := c.Stats(); st.Refreshes != 1 || st.Entries != 0 {
			t.Errorf("%+v; want 1 refresh and no entry", st)
		}
	})
}
