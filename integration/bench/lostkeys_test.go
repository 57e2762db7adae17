package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/mcpsessiontest"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// writers is how many goroutines update one session at once, each a key of
// its own.
const writers = 32

// writerKey is the key writer g sets.
func writerKey(g int) string { return fmt.Sprintf("writer-%02d", g) }

// lostKeys creates a session, lets writers goroutines each Update a
// different key of it at the same moment, and returns how many of those
// keys the session holds none of afterwards.
func lostKeys(ctx context.Context, s sessions, id string, md map[string]any) (int, error) {
	if err := s.Create(ctx, id, md); err != nil {
		return 0, err
	}
	start := make(chan struct{})
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			<-start
			errs <- s.Update(ctx, id, map[string]any{writerKey(g): float64(g)})
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return 0, err
		}
	}
	m, err := s.Get(ctx, id)
	if err != nil {
		return 0, err
	}
	lost := 0
	for g := range writers {
		if m[writerKey(g)] != float64(g) {
			lost++
		}
	}
	return lost, nil
}

// BenchmarkLostKeys reports, per round of 32 concurrent Updates of
// different keys of one session, how many keys are missing afterwards
// (lost-keys/op): the store merges in the database, the peers read, merge
// and write back, and the last writer wins. Its time per op is the round's,
// not a figure to compare.
func BenchmarkLostKeys(b *testing.B) {
	var ts []struct {
		dialect, impl string
		s             sessions
	}
	add := func(dialect, impl string, s sessions) {
		ts = append(ts, struct {
			dialect, impl string
			s             sessions
		}{dialect, impl, s})
	}
	if postgresAvailable(b) {
		db := openDatabase(b, dialectPostgres, sqlstore.WithIdleTimeout(idleTimeout), sqlstore.WithMaxLifetime(maxLifetime))
		add(dialectPostgres, "store", db.store)
		add(dialectPostgres, "scs", newSCS(b, db.pool, nil))
	}
	if r, err := startRedis(b); err == nil {
		add(dialectRedis, "redis", r)
	} else {
		note("Redis peer skipped: " + err.Error())
	}
	db := openDatabase(b, dialectSQLite, sqlstore.WithIdleTimeout(idleTimeout), sqlstore.WithMaxLifetime(maxLifetime))
	add(dialectSQLite, "store", db.store)

	for _, t := range ts {
		b.Run(fmt.Sprintf("dialect=%s/impl=%s/writers=%d", t.dialect, t.impl, writers), func(b *testing.B) {
			ctx := context.Background()
			md := metadata(sizeSmall)
			total := 0
			for range b.N {
				n, err := lostKeys(ctx, t.s, mcpsession.NewID(), md)
				if err != nil {
					b.Fatal(err)
				}
				total += n
			}
			b.ReportMetric(float64(total)/float64(b.N), "lost-keys/op")
		})
	}
}

// TestStoreLosesNoKeys runs the lost-keys round on the store, on both
// dialects, as a test: the benchmark's counting has to be right for the
// figure to mean anything, and the store must lose nothing.
func TestStoreLosesNoKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		dsn  func(testing.TB) string
	}{
		{dialectSQLite, testdb.SQLiteFile},
		{dialectPostgres, mcpsessiontest.PostgresDSN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dsn := tc.dsn(t)
			s, err := sqlstore.Open(t.Context(), testdb.Dialect(dsn), dsn, sqlstore.WithAutoMigrate())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			for range 3 {
				lost, err := lostKeys(t.Context(), s, mcpsession.NewID(), smallMetadata())
				if err != nil {
					t.Fatal(err)
				}
				if lost != 0 {
					t.Fatalf("%d of %d concurrent Updates of different keys were lost", lost, writers)
				}
			}
		})
	}
}

// lossy is a read-merge-write store whose Updates all read before any
// writes: the schedule under which read-merge-write stores lose keys,
// forced.
type lossy struct {
	mu    sync.Mutex
	data  map[string]map[string]any
	reads sync.WaitGroup
}

func (l *lossy) Create(_ context.Context, id string, md map[string]any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.data[id] = deepCopy(md)
	return nil
}

func (l *lossy) Get(_ context.Context, id string) (map[string]any, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return deepCopy(l.data[id]), nil
}

func (l *lossy) Update(ctx context.Context, id string, p map[string]any) error {
	m, _ := l.Get(ctx, id)
	l.reads.Done()
	l.reads.Wait() // every writer has read
	return l.Create(ctx, id, merge(m, p))
}

func (l *lossy) Touch(context.Context, string) error  { return nil }
func (l *lossy) Delete(context.Context, string) error { return nil }

// TestLostKeysCounts checks the counting on a store that loses all keys
// but the last writer's.
func TestLostKeysCounts(t *testing.T) {
	t.Parallel()
	l := &lossy{data: map[string]map[string]any{}}
	l.reads.Add(writers)
	lost, err := lostKeys(t.Context(), l, "s", smallMetadata())
	if err != nil {
		t.Fatal(err)
	}
	if lost != writers-1 {
		t.Fatalf("lostKeys = %d on a store that keeps only the last write; want %d", lost, writers-1)
	}
}
