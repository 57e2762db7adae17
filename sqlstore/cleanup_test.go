package sqlstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/executor"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// fill inserts n sessions in one statement, updated and created age ago.
func fill(t *testing.T, s *sqlstore.Store, prefix string, n int, age time.Duration) {
	t.Helper()
	var q string
	switch testdb.DialectName(s) {
	case "postgres":
		q = `INSERT INTO mcp_sessions (id, metadata, created_at, updated_at, updated_floor)
			SELECT $1 || g, '{"k":1}', t, t, t
			FROM generate_series(1, $2::int) AS g, (SELECT now() - $3 * interval '1 millisecond' AS t) AS c`
	case "sqlite":
		q = `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ?2)
			INSERT INTO mcp_sessions (id, metadata, created_at, updated_at, updated_floor)
			SELECT ?1 || i, '{"k":1}', t, t, t FROM g, (SELECT CAST(unixepoch('subsec') * 1000 AS INTEGER) - ?3 AS t)`
	}
	if _, err := s.DB().ExecContext(t.Context(), q, prefix, n, age.Milliseconds()); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, s *sqlstore.Store) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRowContext(t.Context(), "SELECT count(*) FROM mcp_sessions").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Cleanup deletes in batches until nothing expired is left, and counts all
// of them, whatever the batch size.
func TestCleanupBatches(t *testing.T) {
	for _, d := range dsns {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			for _, batch := range []int{1, 7, 250, 5000} {
				s := testdb.OpenStore(t, d.dsn(t), sqlstore.WithCleanupBatchSize(batch))
				fill(t, s, "old-", 500, 2*time.Hour)
				fill(t, s, "new-", 300, 0)
				n, err := s.Cleanup(t.Context(), time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				if n != 500 {
					t.Fatalf("batch %d: Cleanup = %d; want 500", batch, n)
				}
				if left := count(t, s); left != 300 {
					t.Fatalf("batch %d: %d sessions left; want the 300 live ones", batch, left)
				}
				if n, err := s.Cleanup(t.Context(), time.Hour); n != 0 || err != nil {
					t.Fatalf("second Cleanup = %d, %v; want 0, nil", n, err)
				}
			}
		})
	}
}

// With a max lifetime, Cleanup also removes sessions created too long ago,
// however recently they were used, and counts them once.
func TestCleanupMaxLifetime(t *testing.T) {
	for _, d := range dsns {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			s := testdb.OpenStore(t, d.dsn(t), sqlstore.WithMaxLifetime(24*time.Hour), sqlstore.WithCleanupBatchSize(10))
			fill(t, s, "ancient-", 40, 48*time.Hour) // idle and too old: counted once
			fill(t, s, "live-", 25, 0)
			fill(t, s, "busy-", 30, 0)
			if _, err := s.DB().ExecContext(t.Context(), rewind(s), "busy-%", (30 * time.Hour).Milliseconds()); err != nil {
				t.Fatal(err)
			}
			n, err := s.Cleanup(t.Context(), time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if n != 70 {
				t.Fatalf("Cleanup = %d; want 70 (40 idle, 30 past the max lifetime)", n)
			}
			if left := count(t, s); left != 25 {
				t.Fatalf("%d left; want 25", left)
			}
		})
	}
}

// rewind moves created_at, only, back by $2 ms for ids LIKE $1.
func rewind(s *sqlstore.Store) string {
	if testdb.DialectName(s) == "postgres" {
		return `UPDATE mcp_sessions SET created_at = created_at - $2 * interval '1 millisecond' WHERE id LIKE $1`
	}
	return `UPDATE mcp_sessions SET created_at = created_at - ?2 WHERE id LIKE ?1`
}

// holdLease makes another process the holder of the cleanup lease, for an
// hour, as a replica in the middle of a sweep is.
func holdLease(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	q := `INSERT INTO mcpsession_leases (name, holder, expires_at) VALUES ('cleanup', 'another replica', now() + interval '1 hour')`
	if testdb.DialectName(s) == "sqlite" {
		q = `INSERT INTO mcpsession_leases (name, holder, expires_at) VALUES ('cleanup', 'another replica', CAST(unixepoch('subsec') * 1000 AS INTEGER) + 3600000)`
	}
	testdb.Exec(t, s.DB(), q)
}

// A Cleanup that finds another process holding the cleanup lease skips:
// ErrCleanupInProgress, nothing deleted. Once the lease is free it sweeps,
// and gives the lease back when done.
func TestCleanupSkipsWhileLeased(t *testing.T) {
	for _, d := range dsns {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			s := testdb.OpenStore(t, d.dsn(t))
			ctx := t.Context()
			fill(t, s, "old-", 20, 2*time.Hour)
			holdLease(t, s)
			n, err := s.Cleanup(ctx, time.Hour)
			if !errors.Is(err, mcpsession.ErrCleanupInProgress) || n != 0 {
				t.Fatalf("Cleanup while leased = %d, %v; want 0, ErrCleanupInProgress", n, err)
			}
			if left := count(t, s); left != 20 {
				t.Fatalf("%d left after a skipped Cleanup; want 20", left)
			}
			testdb.Exec(t, s.DB(), `DELETE FROM mcpsession_leases`)
			if n, err := s.Cleanup(ctx, time.Hour); err != nil || n != 20 {
				t.Fatalf("Cleanup once the lease is free = %d, %v; want 20", n, err)
			}
			var held int
			if err := s.DB().QueryRowContext(ctx, `SELECT count(*) FROM mcpsession_leases`).Scan(&held); err != nil || held != 0 {
				t.Fatalf("%d leases left after Cleanup returned (%v); want it given back", held, err)
			}
		})
	}
}

// A lease whose holder died (its time is up) does not stop the next sweep.
func TestCleanupTakesExpiredLease(t *testing.T) {
	for _, d := range dsns {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			s := testdb.OpenStore(t, d.dsn(t))
			fill(t, s, "old-", 5, 2*time.Hour)
			q := `INSERT INTO mcpsession_leases VALUES ('cleanup', 'a dead replica', now() - interval '1 millisecond')`
			if testdb.DialectName(s) == "sqlite" {
				q = `INSERT INTO mcpsession_leases VALUES ('cleanup', 'a dead replica', CAST(unixepoch('subsec') * 1000 AS INTEGER) - 1)`
			}
			testdb.Exec(t, s.DB(), q)
			if n, err := s.Cleanup(t.Context(), time.Hour); err != nil || n != 5 {
				t.Fatalf("Cleanup over an expired lease = %d, %v; want 5, nil", n, err)
			}
		})
	}
}

// A store whose pool holds one connection can clean up: the lease needs no
// connection of its own (a session lock pinned the only one, and each batch
// then waited out its deadline).
func TestCleanupPoolOfOne(t *testing.T) {
	for _, d := range dsns {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			s := testdb.OpenStore(t, d.dsn(t), sqlstore.WithCleanupBatchSize(3))
			s.DB().SetMaxOpenConns(1)
			fill(t, s, "old-", 10, 2*time.Hour)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			if n, err := s.Cleanup(ctx, time.Hour); err != nil || n != 10 {
				t.Fatalf("Cleanup on a pool of one = %d, %v; want 10, nil", n, err)
			}
		})
	}
}

// A Cleanup cut short by its context keeps what it deleted, reports it,
// and releases the lock.
func TestCleanupContextEnds(t *testing.T) {
	for _, d := range dsns {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			s := testdb.OpenStore(t, d.dsn(t), sqlstore.WithCleanupBatchSize(1))
			fill(t, s, "old-", 200, 2*time.Hour)
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			n, err := s.Cleanup(ctx, time.Hour)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Cleanup with a canceled context = %d, %v", n, err)
			}
			if got := 200 - count(t, s); int64(got) != n {
				t.Fatalf("Cleanup reported %d deleted; %d were", n, got)
			}
			rest, err := s.Cleanup(t.Context(), time.Hour)
			if err != nil || n+rest != 200 || count(t, s) != 0 {
				t.Fatalf("Cleanup after an interrupted one = %d, %v; want the other %d", rest, err, 200-n)
			}
		})
	}
}

// Cleanup walks the index: on a table where few rows have expired, the plan
// of each statement it runs reads the updated_floor (or created_at) index.
func TestCleanupUsesIndex(t *testing.T) {
	for _, d := range dsns {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			s := testdb.OpenStore(t, d.dsn(t))
			ctx := t.Context()
			fill(t, s, "live-", 5000, 0)
			fill(t, s, "old-", 20, 48*time.Hour)
			q := executor.Of(s).Statements()
			var explain string
			switch testdb.DialectName(s) {
			case "postgres":
				if _, err := s.DB().ExecContext(ctx, "ANALYZE mcp_sessions"); err != nil {
					t.Fatal(err)
				}
				explain = "EXPLAIN (FORMAT JSON) "
			case "sqlite":
				if _, err := s.DB().ExecContext(ctx, "ANALYZE"); err != nil {
					t.Fatal(err)
				}
				explain = "EXPLAIN QUERY PLAN "
			}
			for _, c := range []struct{ stmt, index string }{
				{q.RaiseFloor, "mcp_sessions_updated_floor_idx"},
				{q.CleanupIdle, "mcp_sessions_updated_floor_idx"},
				{q.CleanupLifetime, "mcp_sessions_created_at_idx"},
			} {
				plan := queryPlan(t, s, explain+c.stmt, time.Hour.Milliseconds(), 2000)
				if !strings.Contains(plan, c.index) {
					t.Errorf("plan does not use %s:\n%s", c.index, plan)
				}
				if strings.Contains(plan, `"Seq Scan"`) || strings.Contains(plan, "SCAN mcp_sessions\n") {
					t.Errorf("plan scans the whole table:\n%s", plan)
				}
			}
			n, err := s.Cleanup(ctx, time.Hour)
			if err != nil || n != 20 {
				t.Fatalf("Cleanup = %d, %v; want 20", n, err)
			}
		})
	}
}

func queryPlan(t *testing.T, s *sqlstore.Store, q string, args ...any) string {
	t.Helper()
	rows, err := s.DB().QueryContext(t.Context(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			switch v := v.(type) {
			case []byte:
				b.Write(v)
			case string:
				b.WriteString(v)
			default:
				if j, err := json.Marshal(v); err == nil {
					b.Write(j)
				} else {
					fmt.Fprint(&b, v)
				}
			}
			b.WriteByte(' ')
		}
		b.WriteByte('\n')
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Stores in different schemas of one Postgres database clean up
// independently: one's cleanup lease does not make the other skip.
func TestCleanupLeasePerSchema(t *testing.T) {
	t.Parallel()
	a := testdb.OpenStore(t, dsns[2].dsn(t))
	b := testdb.OpenStore(t, dsns[2].dsn(t)) // a schema of its own
	fill(t, b, "old-", 5, 2*time.Hour)
	holdLease(t, a)
	if n, err := b.Cleanup(t.Context(), time.Hour); err != nil || n != 5 {
		t.Fatalf("Cleanup in another schema while the first is leased = %d, %v; want 5, nil", n, err)
	}
}
