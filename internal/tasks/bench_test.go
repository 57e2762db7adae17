package tasks_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/internal/driver"
	"github.com/mcpsession/mcpsession/internal/executor"
	"github.com/mcpsession/mcpsession/internal/tasks"
	"github.com/mcpsession/mcpsession/internal/testdb"
)

// benchDatabases are the databases the benchmarks run on.
var benchDatabases = []struct {
	name string
	dsn  func(b *testing.B) string
}{
	{"sqlite", func(b *testing.B) string { return testdb.SQLiteFile(b) }},
	{"postgres", func(b *testing.B) string { return testdb.Postgres(b) }},
}

// benchStore is a task store on a new database, and the raw statement
// runner beside it: the same SQL on the same pool, as the store's executor
// runs it (prepared on SQLite, by its text on Postgres).
type benchStore struct {
	tasks *tasks.Store
	q     *driver.TaskStatements
	stmt  func(b *testing.B, query string) func(ctx context.Context, args ...any) *sql.Row
}

func newBenchStore(b *testing.B, dsn string) *benchStore {
	b.Helper()
	s := testdb.OpenStore(b, dsn)
	bb, err := bus.New(s)
	if err != nil {
		b.Fatal(err)
	}
	ts, err := tasks.New(s, bb)
	if err != nil {
		b.Fatal(err)
	}
	prepare := executor.Of(s).Driver().PrepareStatements()
	return &benchStore{tasks: ts, q: executor.Of(s).Driver().Tasks(), stmt: func(b *testing.B, query string) func(ctx context.Context, args ...any) *sql.Row {
		if !prepare {
			return func(ctx context.Context, args ...any) *sql.Row { return s.DB().QueryRowContext(ctx, query, args...) }
		}
		st, err := s.DB().PrepareContext(context.Background(), query)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st.QueryRowContext
	}}
}

// scanTask is what the raw runs scan into: the columns the statements
// select.
func scanTask(row *sql.Row) error {
	var (
		id, principal, tool, status, message, errMsg, replica string
		session                                               sql.NullString
		result                                                []byte
		created, updated, lease                               int64
		ttl, poll                                             sql.NullInt64
		expired, lapsed                                       bool
	)
	return row.Scan(&id, &principal, &session, &tool, &status, &message, &result, &errMsg,
		&created, &updated, &ttl, &poll, &replica, &lease, &expired, &lapsed)
}

// Get through the store beside the SELECT it runs, on the same pool: what
// the store adds (validation, error wrapping, the Task it builds) is the
// difference.
func BenchmarkGet(b *testing.B) {
	for _, d := range benchDatabases {
		b.Run(d.name, func(b *testing.B) {
			bs := newBenchStore(b, d.dsn(b))
			ctx := context.Background()
			task, err := bs.tasks.Create(ctx, tasks.CreateParams{Principal: "alice", Tool: "research", TTL: 3600e9})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := bs.tasks.Complete(ctx, task.ID, "alice", toolResult); err != nil {
				b.Fatal(err)
			}
			b.Run("store", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := bs.tasks.Get(ctx, task.ID, "alice"); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("interleaved", func(b *testing.B) {
				get := bs.stmt(b, bs.q.Get)
				interleaved(b, func() error {
					_, err := bs.tasks.Get(ctx, task.ID, "alice")
					return err
				}, func() error { return scanTask(get(ctx, task.ID, "alice", nil)) })
			})
			b.Run("raw", func(b *testing.B) {
				get := bs.stmt(b, bs.q.Get)
				b.ReportAllocs()
				for b.Loop() {
					if err := scanTask(get(ctx, task.ID, "alice", nil)); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// Create through the store beside the INSERT it runs.
func BenchmarkCreate(b *testing.B) {
	for _, d := range benchDatabases {
		b.Run(d.name, func(b *testing.B) {
			bs := newBenchStore(b, d.dsn(b))
			ctx := context.Background()
			p := tasks.CreateParams{Principal: "alice", Tool: "research", TTL: 3600e9, PollInterval: 1e9}
			b.Run("store", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := bs.tasks.Create(ctx, p); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("interleaved", func(b *testing.B) {
				create := bs.stmt(b, bs.q.Create)
				interleaved(b, func() error {
					_, err := bs.tasks.Create(ctx, p)
					return err
				}, func() error {
					return scanTask(create(ctx, mcpsession.NewID(), "alice", nil, "research", int64(3600000), int64(1000), "replica", int64(30000), nil))
				})
			})
			b.Run("raw", func(b *testing.B) {
				create := bs.stmt(b, bs.q.Create)
				b.ReportAllocs()
				for b.Loop() {
					row := create(ctx, mcpsession.NewID(), "alice", nil, "research", int64(3600000), int64(1000), "replica", int64(30000), nil)
					if err := scanTask(row); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// interleaved runs store and raw in turns in one loop, each timed, so that
// both meet the same moments of a busy host, and reports the mean of each
// and their ratio.
func interleaved(b *testing.B, store, raw func() error) {
	b.Helper()
	var inStore, inRaw time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		if err := store(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := raw(); err != nil {
			b.Fatal(err)
		}
		inStore += t1.Sub(t0)
		inRaw += time.Since(t1)
		n++
	}
	b.ReportMetric(float64(inStore.Microseconds())/float64(n), "store-µs/op")
	b.ReportMetric(float64(inRaw.Microseconds())/float64(n), "raw-µs/op")
	b.ReportMetric(float64(inStore)/float64(inRaw), "store/raw")
}
