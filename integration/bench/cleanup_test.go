package bench

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession/dialects/postgres"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// The cleanup table: a million sessions, a tenth of them expired.
const (
	cleanupRows    = 1_000_000
	cleanupExpired = 100_000
	cleanupTTL     = time.Hour
	// expiredAge is how long ago the expired sessions were last used.
	expiredAge = 2 * cleanupTTL
)

// rawCleanup is the baseline of Cleanup: one DELETE of every row whose
// updated_at is older than the ttl (milliseconds), with the dialect's own
// clock expression, as the store's cleanup statements have it.
var rawCleanup = map[string]string{
	dialectPostgres: `DELETE FROM mcp_sessions WHERE updated_at < now() - $1::bigint * interval '1 millisecond'`,
	dialectSQLite:   `DELETE FROM mcp_sessions WHERE updated_at < CAST(round(unixepoch('subsec') * 1000) AS INTEGER) - ?1`,
}

// cleanupTable is a database holding the cleanup table.
type cleanupTable struct {
	db *database
	// expiredPresent reports whether the expired rows are in place.
	expiredPresent bool
	// noCheckpoint is set once a checkpoint was refused.
	noCheckpoint bool
}

// openCleanupTable seeds a new database of the dialect with cleanupRows
// sessions, cleanupExpired of them last used expiredAge ago. The store
// runs with the cleanup's ttl as its idle timeout and no max lifetime, so
// that Cleanup runs the one idle pass a raw DELETE is compared with.
func openCleanupTable(b *testing.B, dialect string) *cleanupTable {
	b.Helper()
	db := openDatabase(b, dialect, sqlstore.WithIdleTimeout(cleanupTTL))
	doc := jsonText(b, metadata(sizeSmall))
	const batch = 250_000 // one statement per batch keeps SQLite's transaction size sane
	for from := 0; from < cleanupRows-cleanupExpired; from += batch {
		db.seed(b, "l", from, min(batch, cleanupRows-cleanupExpired-from), doc, 0)
	}
	t := &cleanupTable{db: db}
	t.refill(b)
	return t
}

// refill puts the expired rows back if a sweep removed them, lets Postgres
// vacuum, and checkpoints, so that every sweep starts from the same table
// in the state a janitor finds it in.
//
// The checkpoint matters more than anything else here. Rows expire an hour
// or more after they were last written, so by the time a janitor deletes
// them a checkpoint has passed, and the first change to each of their pages
// writes a full image of the page to the WAL (Postgres) or copies it into
// the WAL again (SQLite). Right after the refill those pages would still be
// dirty and already logged, and the sweep would cost a fraction of what it
// costs in production: on Postgres a single DELETE of the 100,000 rows went
// from about 0.1 s to 0.8 s once checkpointed, writing 77 MB of WAL instead
// of 5.
func (t *cleanupTable) refill(b *testing.B) {
	b.Helper()
	if !t.expiredPresent {
		t.db.seed(b, "e", 0, cleanupExpired, jsonText(b, metadata(sizeSmall)), expiredAge)
		t.expiredPresent = true
	}
	t.db.vacuum(b)
	if t.noCheckpoint {
		return
	}
	q := `CHECKPOINT`
	if t.db.dialect == sqlite.Dialect() {
		q = `PRAGMA wal_checkpoint(TRUNCATE)`
	}
	if _, err := t.db.store.DB().ExecContext(context.Background(), q); err != nil {
		// CHECKPOINT needs a superuser or pg_checkpoint, which the
		// server of MCPSESSION_TEST_POSTGRES_DSN may not give.
		t.noCheckpoint = true
		note(fmt.Sprintf("cleanup benchmarks on %s run without a checkpoint before each sweep, which makes them look cheaper: %s: %v",
			t.db.dialect.Name(), q, err))
	}
}

// sweeper is one way of deleting the expired rows.
type sweeper func(ctx context.Context) (int64, error)

func (t *cleanupTable) sweepers() []struct {
	impl  string
	sweep sweeper
} {
	d := t.db
	raw := func(ctx context.Context) (int64, error) {
		q := rawCleanup[d.dialect.Name()]
		if d.dialect == postgres.Dialect() {
			tag, err := d.pool.Exec(ctx, q, cleanupTTL.Milliseconds())
			return tag.RowsAffected(), err
		}
		res, err := d.sqlite.ExecContext(ctx, q, cleanupTTL.Milliseconds())
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
	return []struct {
		impl  string
		sweep sweeper
	}{
		{"store", func(ctx context.Context) (int64, error) { return d.store.Cleanup(ctx, cleanupTTL) }},
		{"raw", raw},
	}
}

func cleanupName(dialect, impl string) string {
	return fmt.Sprintf("dialect=%s/impl=%s/rows=%d/expired=%d", dialect, impl, cleanupRows, cleanupExpired)
}

func availableDialects(b *testing.B) []string {
	if postgresAvailable(b) {
		return sqlDialects
	}
	return []string{dialectSQLite}
}

// BenchmarkCleanup times one sweep of the expired rows: the store's Cleanup
// (batches of 2000 rows, sqlstore.WithCleanupBatchSize's default) beside one raw DELETE.
// Each iteration deletes cleanupExpired rows; putting them back is not
// timed.
func BenchmarkCleanup(b *testing.B) {
	for _, dialect := range availableDialects(b) {
		t := openCleanupTable(b, dialect)
		for _, sw := range t.sweepers() {
			b.Run(cleanupName(dialect, sw.impl), func(b *testing.B) {
				b.ReportAllocs()
				ctx := context.Background()
				for range b.N {
					b.StopTimer()
					t.refill(b)
					b.StartTimer()
					n, err := sw.sweep(ctx)
					b.StopTimer()
					t.expiredPresent = false
					if err != nil {
						b.Fatal(err)
					}
					if n != cleanupExpired {
						b.Fatalf("swept %d rows; want %d", n, cleanupExpired)
					}
				}
			})
		}
	}
}

// BenchmarkCleanupCreates sweeps as BenchmarkCleanup does while another
// goroutine creates sessions in a loop, one after another, and reports the
// latency of those Creates (p50, p99 and max, in milliseconds): how long a request
// that starts a session waits behind a sweep. For the store, Creates go
// through the store; for the raw DELETE, through the raw driver.
func BenchmarkCleanupCreates(b *testing.B) {
	for _, dialect := range availableDialects(b) {
		t := openCleanupTable(b, dialect)
		creators := map[string]sessions{"store": t.db.store, "raw": t.db.raw}
		for _, sw := range t.sweepers() {
			create := creators[sw.impl]
			b.Run(cleanupName(dialect, sw.impl), func(b *testing.B) {
				b.ReportAllocs()
				ctx := context.Background()
				md := metadata(sizeSmall)
				var latencies []time.Duration
				for range b.N {
					b.StopTimer()
					t.refill(b)
					p := runPrefix("k")
					stop := make(chan struct{})
					done := make(chan error, 1)
					b.StartTimer()
					go func() {
						for i := 0; ; i++ {
							select {
							case <-stop:
								done <- nil
								return
							default:
							}
							id := idFor(p, i)
							start := time.Now()
							err := create.Create(ctx, id, md)
							latencies = append(latencies, time.Since(start))
							if err != nil {
								done <- err
								return
							}
						}
					}()
					n, err := sw.sweep(ctx)
					close(stop)
					cerr := <-done
					b.StopTimer()
					t.expiredPresent = false
					if err != nil {
						b.Fatal(err)
					}
					if cerr != nil {
						b.Fatal(cerr)
					}
					if n != cleanupExpired {
						b.Fatalf("swept %d rows; want %d", n, cleanupExpired)
					}
					t.db.deletePrefix(b, p)
				}
				p50, p99, worst := percentile(latencies, 50), percentile(latencies, 99), percentile(latencies, 100)
				b.ReportMetric(p50.Seconds()*1e3, "create-p50-ms")
				b.ReportMetric(p99.Seconds()*1e3, "create-p99-ms")
				b.ReportMetric(worst.Seconds()*1e3, "create-max-ms")
				b.ReportMetric(float64(len(latencies))/float64(b.N), "creates/op")
			})
		}
	}
}

// percentile returns the p-th percentile of ds (nearest rank), sorting ds.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	rank := (len(ds)*p + 99) / 100 // ceil(len*p/100)
	return ds[max(rank, 1)-1]
}
