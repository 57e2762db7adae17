package cache_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/cache"
	"github.com/mcpsession/mcpsession/internal/cacheprobe"
	"github.com/mcpsession/mcpsession/internal/msgbus"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
	"github.com/mcpsession/mcpsession/storetest"
)

// invalidations is the bus topic the cache publishes on, as its package
// documentation names it.
const invalidations = "mcpsession/cache/invalidate"

// replica is one process's stack: a store, a bus running over it, and a
// cache over both.
type replica struct {
	raw   *sqlstore.Store
	bus   *bus.Bus
	cache cache.Store
}

func newReplica(t testing.TB, dsn string, storeOpts []sqlstore.Option, opts ...cache.Option) *replica {
	t.Helper()
	raw := testdb.OpenStore(t, dsn, storeOpts...)
	b, err := bus.New(raw, bus.WithPollInterval(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(raw, b, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.Run(ctx) }()
	t.Cleanup(func() {
		c.Close()
		cancel()
		<-done
	})
	<-b.Ready()
	if (*msgbus.Bus)(b).DatabaseListens() {
		waitListening(t, b)
	}
	return &replica{raw: raw, bus: b, cache: c}
}

func waitListening(t testing.TB, b *bus.Bus) {
	t.Helper()
	ch := make(chan bool, 8)
	defer (*msgbus.Bus)(b).OnListening(func(on bool) { ch <- on })()
	deadline := time.After(30 * time.Second)
	for !(*msgbus.Bus)(b).Listening() {
		select {
		case <-ch:
		case <-deadline:
			t.Fatal("bus not listening within 30s")
		}
	}
}

// The cached store meets the whole contract, on both dialects.
func TestConformance(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		storetest.Run(t, func(t *testing.T) mcpsession.Store {
			return newReplica(t, dsnFor(t, dsn), nil).cache
		})
	})
}

func TestConformanceExpiry(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		storetest.RunExpiry(t, func(t *testing.T, idle, lifetime time.Duration) mcpsession.Store {
			var opts []sqlstore.Option
			if idle > 0 {
				opts = append(opts, sqlstore.WithIdleTimeout(idle))
			}
			if lifetime > 0 {
				opts = append(opts, sqlstore.WithMaxLifetime(lifetime))
			}
			return newReplica(t, dsnFor(t, dsn), opts).cache
		})
	})
}

// dsnFor gives each store of the kit a database of its own: a new file, or
// a new schema.
func dsnFor(t *testing.T, dsn string) string {
	if len(dsn) > 7 && dsn[:7] == "sqlite:" {
		return testdb.SQLiteFile(t)
	}
	return testdb.Postgres(t)
}

// A write on one replica is read on another within the staleness bound:
// Updates show, Deletes answer not found, round after round, and the reads
// in between are served from memory.
func TestWritesSeenOnOtherReplica(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		const bound = 2 * time.Second
		a := newReplica(t, dsn, nil, cache.WithMaxStaleness(bound))
		b := newReplica(t, dsn, nil, cache.WithMaxStaleness(bound))
		cache.Invalidated(a.cache).Arm(t)
		ctx := t.Context()
		var worst time.Duration
		const rounds = 100
		for i := range rounds {
			id := mcpsession.NewID()
			if err := b.cache.Create(ctx, id, map[string]any{"v": 0}); err != nil {
				t.Fatal(err)
			}
			for range 3 { // cached on a
				if _, err := a.cache.Get(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			var write func() error
			var seen func() bool
			if i%2 == 0 {
				write = func() error { return b.cache.Update(ctx, id, map[string]any{"v": 1}) }
				seen = func() bool { md, err := a.cache.Get(ctx, id); return err == nil && md["v"] == float64(1) }
			} else {
				write = func() error { return b.cache.Delete(ctx, id) }
				seen = func() bool { _, err := a.cache.Get(ctx, id); return errors.Is(err, mcpsession.ErrNotFound) }
			}
			cache.Invalidated(a.cache).Drain() // earlier writes' invalidations
			start := time.Now()
			if err := write(); err != nil {
				t.Fatal(err)
			}
			waitSeen(t, a.cache, start, bound, fmt.Sprintf("round %d: the write on b", i), seen)
			worst = max(worst, time.Since(start))
		}
		st := probe(a.cache).Stats()
		if st.Hits < rounds {
			t.Fatalf("a's reads: %+v; want most served from memory", st)
		}
		t.Logf("%d rounds; slowest write seen after %v; a's reads: %+v", rounds, worst, st)
	})
}

// waitSeen returns once seen holds, checking it again each time c drops
// an entry (its Invalidated signal, armed by the caller), and fails t if
// that takes longer than bound from start.
func waitSeen(t testing.TB, c cache.Store, start time.Time, bound time.Duration, what string, seen func() bool) {
	t.Helper()
	deadline := time.NewTimer(time.Until(start.Add(bound)))
	defer deadline.Stop()
	for !seen() {
		select {
		case <-cache.Invalidated(c).C():
		case <-deadline.C:
			t.Fatalf("%s not seen on the other replica %v later; the bound is %v", what, time.Since(start), bound)
		}
	}
}

// keepKillingListeners ends the listeners of r's schema (testdb.KillListeners)
// again and again until ctx ends: each time r's bus is listening again and
// the test has made every rounds (values on rounds) since, so that the
// cache caches between kills. The returned function waits for the end and
// says how many connections were ended.
func keepKillingListeners(ctx context.Context, r *replica, rounds <-chan struct{}, every int) (killed func() int) {
	back := make(chan struct{}, 1)
	stopWatch := (*msgbus.Bus)(r.bus).OnListening(func(on bool) {
		if on {
			select {
			case back <- struct{}{}:
			default:
			}
		}
	})
	done := make(chan int, 1)
	go func() {
		defer stopWatch()
		n := 0
		defer func() { done <- n }()
		for {
			for !(*msgbus.Bus)(r.bus).Listening() {
				select {
				case <-back:
				case <-ctx.Done():
					return
				}
			}
			select { // a round made while the listener was down does not count
			case <-rounds:
			default:
			}
			for range every {
				select {
				case <-rounds:
				case <-ctx.Done():
					return
				}
			}
			if k, err := testdb.KillListeners(ctx, r.raw.DB()); err == nil {
				n += k
			}
		}
	}()
	return func() int { return <-done }
}

// tick sends on rounds without waiting: a round is done.
func tick(rounds chan<- struct{}) {
	select {
	case rounds <- struct{}{}:
	default:
	}
}

// The map Get returns is the caller's: changing it changes nothing cached.
func TestFreshMaps(t *testing.T) {
	t.Parallel()
	r := newReplica(t, testdb.SQLiteFile(t), nil)
	ctx := t.Context()
	id := mcpsession.NewID()
	if err := r.cache.Create(ctx, id, map[string]any{"nested": map[string]any{"x": 1}, "list": []any{1, 2}}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		md, err := r.cache.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if md["nested"].(map[string]any)["x"] != float64(1) || len(md["list"].([]any)) != 2 {
			t.Fatalf("Get = %v: a previous caller's changes leaked", md)
		}
		md["nested"].(map[string]any)["x"] = 99
		md["list"] = append(md["list"].([]any), 3)
		delete(md, "nested")
	}
	if probe(r.cache).Stats().Hits < 2 {
		t.Fatalf("stats %+v: want the repeated reads served from memory", probe(r.cache).Stats())
	}
}

// An entry never outlives the session as the database measured it: read
// shortly before its idle timeout ends, it is gone from memory when the
// database says so, well before the staleness bound.
func TestExpiryOnTheDatabaseClock(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		const idle = 600 * time.Millisecond
		r := newReplica(t, dsn, []sqlstore.Option{sqlstore.WithIdleTimeout(idle)}, cache.WithMaxStaleness(time.Hour))
		ctx := t.Context()
		for attempt := 0; ; attempt++ {
			id := mcpsession.NewID()
			created := time.Now()
			if err := r.cache.Create(ctx, id, nil); err != nil {
				t.Fatal(err)
			}
			// Kept sleeps: the session's time passes on the database's
			// clock, which a test cannot move; the interval is what is
			// under test.
			time.Sleep(idle * 2 / 3)
			_, err := r.cache.Get(ctx, id)
			if time.Since(created) >= idle || err != nil {
				if attempt < 3 {
					continue // the machine stalled; too slow to judge
				}
				t.Fatalf("reading a live session: %v", err)
			}
			time.Sleep(time.Until(created.Add(idle + 50*time.Millisecond)))
			if _, err := r.cache.Get(ctx, id); !errors.Is(err, mcpsession.ErrNotFound) {
				t.Fatalf("Get %v after the session's last write, with a %v idle timeout = %v; want ErrNotFound", time.Since(created), idle, err)
			}
			return
		}
	})
}

// A read in flight when an invalidation arrives does not keep what it read.
func TestReadInFlightNotKept(t *testing.T) {
	t.Parallel()
	dsn := testdb.SQLiteFile(t)
	raw := testdb.OpenStore(t, dsn)
	b, err := bus.New(raw)
	if err != nil {
		t.Fatal(err)
	}
	paused := &pausingStore{Store: raw, reading: make(chan struct{}), resume: make(chan struct{})}
	c, err := cache.New(paused, b)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := t.Context()
	id := mcpsession.NewID()
	if err := raw.Create(ctx, id, map[string]any{"v": "old"}); err != nil {
		t.Fatal(err)
	}
	paused.pause.Store(true)
	got := make(chan map[string]any, 1)
	go func() {
		md, err := c.Get(ctx, id)
		if err != nil {
			t.Error(err)
		}
		got <- md
	}()
	<-paused.reading // read the old value; not yet kept
	paused.pause.Store(false)
	if err := c.Update(ctx, id, map[string]any{"v": "new"}); err != nil {
		t.Fatal(err)
	}
	close(paused.resume)
	if md := <-got; md["v"] != "old" {
		t.Fatalf("the paused read returned %v", md)
	}
	md, err := c.Get(ctx, id)
	if err != nil || md["v"] != "new" {
		t.Fatalf("Get after the Update = %v, %v; the read in flight kept the old value", md, err)
	}
}

// pausingStore is a real store whose GetWithTTL can stop, once it has read,
// until the test lets it return: the moment a read is in flight.
type pausingStore struct {
	*sqlstore.Store
	pause   atomicBool
	reading chan struct{}
	resume  chan struct{}
}

func (p *pausingStore) GetWithTTL(ctx context.Context, id string) (map[string]any, time.Duration, error) {
	md, left, err := p.Store.GetWithTTL(ctx, id)
	if p.pause.Load() {
		close(p.reading)
		<-p.resume
	}
	return md, left, err
}

type atomicBool struct {
	mu sync.Mutex
	v  bool
}

func (a *atomicBool) Load() bool   { a.mu.Lock(); defer a.mu.Unlock(); return a.v }
func (a *atomicBool) Store(v bool) { a.mu.Lock(); a.v = v; a.mu.Unlock() }

// Memory is bounded: past the entry limit the least recently used go.
func TestBoundedEntries(t *testing.T) {
	t.Parallel()
	r := newReplica(t, testdb.SQLiteFile(t), nil, cache.WithMaxEntries(64))
	ctx := t.Context()
	ids := make([]string, 500)
	for i := range ids {
		ids[i] = fmt.Sprintf("s-%03d", i)
		if err := r.raw.Create(ctx, ids[i], map[string]any{"i": i}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.cache.Get(ctx, ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	if n := probe(r.cache).Stats().Entries; n > 64 {
		t.Fatalf("%d entries kept; the limit is 64", n)
	}
	before := probe(r.cache).Stats().Misses
	if _, err := r.cache.Get(ctx, ids[0]); err != nil { // long evicted
		t.Fatal(err)
	}
	if probe(r.cache).Stats().Misses != before+1 {
		t.Fatal("the oldest entry was still cached past the limit")
	}
}

// With the listener's connection killed again and again, and writes made
// behind the caches' backs (no invalidation at all), no read is staler
// than the bound: while the listener is down the cache reads through, and
// no entry outlives the bound.
func TestNoStaleReadBeyondTheBound(t *testing.T) {
	t.Parallel()
	dsn := testdb.Postgres(t)
	const bound = 300 * time.Millisecond
	a := newReplica(t, dsn, nil, cache.WithMaxStaleness(bound))
	b := newReplica(t, dsn, nil)
	ctx := t.Context()
	id := mcpsession.NewID()
	if err := b.raw.Create(ctx, id, map[string]any{"v": 0}); err != nil {
		t.Fatal(err)
	}
	killCtx, stopKilling := context.WithCancel(ctx)
	rounds := make(chan struct{}, 1)
	killed := keepKillingListeners(killCtx, a, rounds, 10)
	superseded := map[float64]time.Time{} // value -> when a newer one was written
	var worst time.Duration
	end := time.Now().Add(3 * time.Second)
	for v := 1; time.Now().Before(end); v++ {
		if err := b.raw.Update(ctx, id, map[string]any{"v": v}); err != nil {
			t.Fatal(err)
		}
		superseded[float64(v-1)] = time.Now()
		for range 5 {
			md, err := a.cache.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			got := md["v"].(float64)
			if at, old := superseded[got]; old {
				stale := time.Since(at)
				worst = max(worst, stale)
				if stale > bound+100*time.Millisecond { // the margin: this test's own scheduling
					t.Fatalf("read %v, superseded %v ago; the bound is %v", got, stale, bound)
				}
			}
		}
		tick(rounds)
	}
	stopKilling()
	n := killed()
	if n == 0 {
		t.Fatal("no listener connection was killed: the test proved nothing")
	}
	t.Logf("listener connections killed: %d; stalest read %v (bound %v); a's reads: %+v", n, worst, bound, probe(a.cache).Stats())
}

// Bad options are refused at New, each with ErrInvalidOption.
func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	raw := testdb.OpenStore(t, "sqlite::memory:")
	b, err := bus.New(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cache.New(nil, b); !errors.Is(err, mcpsession.ErrInvalidOption) {
		t.Errorf("New(nil store): %v", err)
	}
	if _, err := cache.New(raw, nil); !errors.Is(err, mcpsession.ErrInvalidOption) {
		t.Errorf("New(nil bus): %v", err)
	}
	for name, o := range map[string]cache.Option{
		"nil":                         nil,
		"WithMaxStaleness(0)":         cache.WithMaxStaleness(0),
		"WithMaxEntries(1)":           cache.WithMaxEntries(1),
		"WithMaxBytes(1)":             cache.WithMaxBytes(1),
		"WithPublishInterval(-1ns)":   cache.WithPublishInterval(-1),
		"WithPublishInterval(1s+1ns)": cache.WithPublishInterval(time.Second + 1),
		"WithLogger(nil)":             cache.WithLogger(nil),
		"WithRefreshAhead(-0.1)":      cache.WithRefreshAhead(-0.1),
		"WithRefreshAhead(0.6)":       cache.WithRefreshAhead(0.6),
		"WithRefreshAhead(NaN)":       cache.WithRefreshAhead(math.NaN()),
	} {
		if c, err := cache.New(raw, b, o); !errors.Is(err, mcpsession.ErrInvalidOption) {
			t.Errorf("New with %s: %v; want ErrInvalidOption", name, err)
			if c != nil {
				c.Close()
			}
		}
	}
	for _, d := range []time.Duration{0, time.Second} {
		c, err := cache.New(raw, b, cache.WithPublishInterval(d))
		if err != nil {
			t.Errorf("WithPublishInterval(%v): %v", d, err)
			continue
		}
		c.Close()
	}
}

// The writes of one publish interval travel in one message: a write after
// a quiet spell is sent alone, and the writes made within the interval
// after it together, once the interval has passed.
func TestWritesOfOneIntervalInOneMessage(t *testing.T) {
	t.Parallel()
	r := newReplica(t, testdb.SQLiteFile(t), nil, cache.WithPublishInterval(time.Second))
	msgs := make(chan int, 16)
	defer (*msgbus.Bus)(r.bus).Subscribe(invalidations, func(m msgbus.Message) { msgs <- len(strings.Fields(string(m.Payload))) - 1 })() // the origin, then the keys
	ctx := t.Context()
	ids := make([]string, 6)
	for i := range ids {
		ids[i] = mcpsession.NewID()
		if err := r.raw.Create(ctx, ids[i], nil); err != nil {
			t.Fatal(err)
		}
	}
	next := func() int {
		t.Helper()
		select {
		case n := <-msgs:
			return n
		case <-time.After(10 * time.Second):
			t.Fatal("no message within 10s")
			return 0
		}
	}
	if err := r.cache.Update(ctx, ids[0], map[string]any{"k": 1}); err != nil {
		t.Fatal(err)
	}
	if n := next(); n != 1 {
		t.Fatalf("the first message has %d keys; want 1", n)
	}
	start := time.Now()
	for _, id := range ids[1:] {
		if err := r.cache.Update(ctx, id, map[string]any{"k": 1}); err != nil {
			t.Fatal(err)
		}
	}
	took := time.Since(start)
	n := next()
	if took >= time.Second {
		t.Skipf("the five Updates took %v, over the interval: the test needs them within it", took)
	}
	if n != 5 {
		t.Errorf("the second message has %d keys; want the five of the interval", n)
	}
}

// A Store ignores its own messages: it dropped their keys when it wrote,
// and what it read since is fresh. (Before, its own message dropped the
// entry read after the write, and the next read went to the database.)
func TestOwnMessagesIgnored(t *testing.T) {
	t.Parallel()
	r := newReplica(t, testdb.SQLiteFile(t), nil)
	ctx := t.Context()
	// Hold the bus's delivery on a message published before the write, so
	// that the write's own message arrives only after the read below.
	blocked, release := make(chan struct{}), make(chan struct{})
	defer (*msgbus.Bus)(r.bus).Subscribe("test/block", func(msgbus.Message) { close(blocked); <-release })()
	own, marker := make(chan struct{}, 1), make(chan struct{}, 1)
	defer (*msgbus.Bus)(r.bus).Subscribe(invalidations, func(msgbus.Message) { own <- struct{}{} })()
	defer (*msgbus.Bus)(r.bus).Subscribe("test/marker", func(msgbus.Message) { marker <- struct{}{} })()
	wait := func(c <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-c:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s not within 10s", what)
		}
	}
	if _, err := (*msgbus.Bus)(r.bus).Publish(ctx, "test/block", nil); err != nil {
		t.Fatal(err)
	}
	wait(blocked, "the blocking message")
	id := mcpsession.NewID()
	if err := r.cache.Create(ctx, id, map[string]any{"v": 1}); err != nil {
		t.Fatal(err)
	}
	if err := probe(r.cache).Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.cache.Get(ctx, id); err != nil { // a miss, kept
		t.Fatal(err)
	}
	close(release)
	wait(own, "the write's own message")
	if _, err := (*msgbus.Bus)(r.bus).Publish(ctx, "test/marker", nil); err != nil {
		t.Fatal(err)
	}
	wait(marker, "a message after it") // every subscriber has had the own message
	before := probe(r.cache).Stats().Hits
	if md, err := r.cache.Get(ctx, id); err != nil || md["v"] != float64(1) {
		t.Fatalf("Get = %v, %v", md, err)
	}
	if st := probe(r.cache).Stats(); st.Hits != before+1 {
		t.Fatalf("stats %+v: the read after the own message went to the database", st)
	}
}

// probe returns what the cache shows its own module (cacheprobe.Probe).
func probe(c cache.Store) cacheprobe.Probe {
	p, ok := cacheprobe.Of(c)
	if !ok {
		panic("cache.New made no cacheprobe.Probe")
	}
	return p
}
