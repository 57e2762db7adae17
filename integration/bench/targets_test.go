package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// target is one implementation under benchmark, on the backend that holds
// its sessions.
type target struct {
	dialect, impl string
	// sessions returns the implementation for metadata of the size (the
	// scs peer's Touch re-encodes what the request loaded).
	sessions func(size string) sessions
	backend  backend
}

// backend seeds and clears sessions outside the timed loops.
type backend interface {
	// seed stores n sessions idFor(prefix, from)… holding metadata of the
	// size, as Create would, last used now.
	seed(b *testing.B, prefix string, from, n int, size string)
	// deletePrefix deletes the sessions whose id starts with prefix.
	deletePrefix(b *testing.B, prefix string)
}

type sqlBackend struct{ db *database }

func (s sqlBackend) seed(b *testing.B, prefix string, from, n int, size string) {
	s.db.seed(b, prefix, from, n, jsonText(b, metadata(size)), 0)
}

func (s sqlBackend) deletePrefix(b *testing.B, prefix string) { s.db.deletePrefix(b, prefix) }

type scsBackend struct {
	db  *database
	scs *scsSessions
}

func (s scsBackend) seed(b *testing.B, prefix string, from, n int, size string) {
	s.scs.seed(b, s.db.pool, prefix, from, n, metadata(size))
}

func (s scsBackend) deletePrefix(b *testing.B, prefix string) {
	s.scs.deletePrefix(b, s.db.pool, prefix)
}

type redisBackend struct{ r *redisSessions }

func (r redisBackend) seed(b *testing.B, prefix string, from, n int, size string) {
	r.r.seed(b, prefix, from, n, metadata(size))
}

func (r redisBackend) deletePrefix(b *testing.B, _ string) { r.r.flush(b) }

func jsonText(b *testing.B, m map[string]any) string {
	b.Helper()
	doc, err := json.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	return string(doc)
}

// targets opens, for b and its sub-benchmarks, every implementation the
// operation benchmarks compare, in the order they run: on Postgres the
// store, the raw pgx baseline, the store behind package cache, the scs peer
// and the Redis peer; on SQLite the store, the raw database/sql baseline
// and the cache. Store and baseline of one
// dialect share one table; what a missing server rules out is left out,
// with one line on stderr.
func targets(b *testing.B) []target {
	b.Helper()
	var ts []target
	same := func(s sessions) func(string) sessions { return func(string) sessions { return s } }
	storeOpts := []sqlstore.Option{sqlstore.WithIdleTimeout(idleTimeout), sqlstore.WithMaxLifetime(maxLifetime)}
	if postgresAvailable(b) {
		db := openDatabase(b, dialectPostgres, storeOpts...)
		scs := newSCS(b, db.pool, nil)
		ts = append(ts,
			target{dialectPostgres, "store", same(db.store), sqlBackend{db}},
			target{dialectPostgres, "raw", same(db.raw), sqlBackend{db}},
			target{dialectPostgres, implCache, same(newCache(b, db.store)), sqlBackend{db}},
			target{dialectPostgres, "scs", func(size string) sessions {
				return &scsSessions{store: scs.store, loaded: metadata(size)}
			}, scsBackend{db, scs}},
		)
	}
	if r, err := startRedis(b); err == nil {
		ts = append(ts, target{dialectRedis, "redis", same(r), redisBackend{r}})
	} else {
		note("Redis peer skipped: " + err.Error())
	}
	db := openDatabase(b, dialectSQLite, storeOpts...)
	ts = append(ts,
		target{dialectSQLite, "store", same(db.store), sqlBackend{db}},
		target{dialectSQLite, "raw", same(db.raw), sqlBackend{db}},
		target{dialectSQLite, implCache, same(newCache(b, db.store)), sqlBackend{db}},
	)
	return ts
}

// postgresAvailable reports whether the test kit can give b a Postgres
// server: MCPSESSION_TEST_POSTGRES_DSN, or Docker to start one on. When
// it cannot, the Postgres benchmarks and the scs peer are left out with
// one line, or b fails under MCPSESSION_REQUIRE_POSTGRES=1.
func postgresAvailable(b *testing.B) bool {
	b.Helper()
	if os.Getenv(testdb.PostgresEnv) != "" {
		return true
	}
	_, _, err := testdb.PostgresImage()
	if err == nil {
		return true
	}
	line := fmt.Sprintf("Postgres benchmarks and the scs peer skipped: %v, and %s is not set", err, testdb.PostgresEnv)
	if os.Getenv(testdb.RequireEnv) == "1" {
		b.Fatalf("%s; failing because %s=1", line, testdb.RequireEnv)
	}
	note(line)
	return false
}

// errNoRedis means redis-server is not installed.
var errNoRedis = errors.New("redis-server is not installed (Debian: apt-get install redis-server)")

var notes sync.Map

// note prints line on stderr once per run of the test binary.
func note(line string) {
	if _, seen := notes.LoadOrStore(line, true); !seen {
		fmt.Fprintln(os.Stderr, line)
	}
}

// goroutines is how many goroutines the parallel cases run: 16, or the
// nearest multiple of GOMAXPROCS above, since b.RunParallel starts
// GOMAXPROCS times the parallelism. Sub-benchmarks are named after the
// real count.
func goroutines() int {
	procs := runtime.GOMAXPROCS(0)
	return (16 + procs - 1) / procs * procs
}

// parallelisms are the cases of every operation: one goroutine, then 16.
func parallelisms() []int { return []int{1, goroutines()} }

// run times op over b.N iterations, numbered from 0: in a loop when par is
// 1, else on par goroutines that share the numbering.
func run(b *testing.B, par int, op func(ctx context.Context, i int) error) {
	b.Helper()
	b.ReportAllocs()
	ctx := context.Background()
	if par == 1 {
		b.ResetTimer()
		for i := range b.N {
			if err := op(ctx, i); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		return
	}
	b.SetParallelism(par / runtime.GOMAXPROCS(0))
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(ctx, int(next.Add(1)-1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
}

// name is a sub-benchmark's name: key=value pairs that benchstat and
// benchreport group by.
func name(dialect, impl, size string, par int) string {
	return fmt.Sprintf("dialect=%s/impl=%s/size=%s/par=%d", dialect, impl, size, par)
}

// runs numbers the invocations of benchmark functions, so that the ids one
// invocation creates never collide with another's.
var runs atomic.Int64

func runPrefix(letter string) string { return fmt.Sprintf("%s%d-", letter, runs.Add(1)) }
