package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// setFloor moves a session's updated_floor (only) back by age from
// updated_at, as if it was last raised or created age before its last
// write: the state of a session in use that the sweep has not passed yet.
func setFloor(t *testing.T, s *sqlstore.Store, id string, age time.Duration) {
	t.Helper()
	q := `UPDATE mcp_sessions SET updated_floor = updated_at - ?2 WHERE id = ?1`
	if testdb.DialectName(s) == "postgres" {
		q = `UPDATE mcp_sessions SET updated_floor = updated_at - $2 * interval '1 millisecond' WHERE id = $1`
	}
	testdb.Exec(t, s.DB(), q, id, age.Milliseconds())
}

// age moves a session's updated_at and updated_floor back by d, as if it
// was last written d ago.
func age(t *testing.T, s *sqlstore.Store, id string, d time.Duration) {
	t.Helper()
	q := `UPDATE mcp_sessions SET updated_at = updated_at - ?2, updated_floor = updated_floor - ?2 WHERE id = ?1`
	if testdb.DialectName(s) == "postgres" {
		q = `UPDATE mcp_sessions SET updated_at = updated_at - $2 * interval '1 millisecond',
updated_floor = updated_floor - $2 * interval '1 millisecond' WHERE id = $1`
	}
	testdb.Exec(t, s.DB(), q, id, d.Milliseconds())
}

// floorIsUpdatedAt reports whether a session's updated_floor equals its
// updated_at.
func floorIsUpdatedAt(t *testing.T, s *sqlstore.Store, id string) bool {
	t.Helper()
	q := `SELECT updated_floor = updated_at FROM mcp_sessions WHERE id = ?1`
	if testdb.DialectName(s) == "postgres" {
		q = `SELECT updated_floor = updated_at FROM mcp_sessions WHERE id = $1`
	}
	var eq bool
	if err := s.DB().QueryRowContext(t.Context(), q, id).Scan(&eq); err != nil {
		t.Fatalf("updated_floor of a session: %v", err)
	}
	return eq
}

// The idle sweep walks updated_floor, which writes leave behind: live
// sessions whose floor is past the ttl, interleaved with expired ones and
// more of them than a batch, are kept and have their floor raised to
// updated_at; the expired ones, and only they, are deleted.
func TestCleanupRaisesFloorsOfLiveSessions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		s := testdb.OpenStore(t, dsn, sqlstore.WithCleanupBatchSize(3))
		ctx := t.Context()
		var live, expired []string
		for i := range 20 {
			id := mcpsession.NewID()
			if err := s.Create(ctx, id, map[string]any{"i": i}); err != nil {
				t.Fatal(err)
			}
			// Floors 2 h + i min ago, alternately a session written since
			// (live) and one idle since (expired).
			if i%2 == 0 {
				setFloor(t, s, id, 2*time.Hour+time.Duration(i)*time.Minute)
				live = append(live, id)
			} else {
				age(t, s, id, 2*time.Hour+time.Duration(i)*time.Minute)
				expired = append(expired, id)
			}
		}
		n, err := s.Cleanup(ctx, time.Hour)
		if err != nil || n != int64(len(expired)) {
			t.Fatalf("Cleanup(1h) = %d, %v; want the %d expired", n, err, len(expired))
		}
		for _, id := range live {
			if _, err := s.Get(ctx, id); err != nil {
				t.Fatalf("live session after Cleanup: %v", err)
			}
			if !floorIsUpdatedAt(t, s, id) {
				t.Fatal("Cleanup left a live session's updated_floor below its updated_at")
			}
		}
		for _, id := range expired {
			if _, err := s.Get(ctx, id); err == nil {
				t.Fatal("an expired session survived Cleanup")
			}
		}
		// Raised, the live ones are out of the walk: nothing to do.
		if n, err := s.Cleanup(ctx, time.Hour); err != nil || n != 0 {
			t.Fatalf("second Cleanup(1h) = %d, %v; want 0", n, err)
		}
	})
}

// On Postgres, the writes of a live session and of a live handle change no
// indexed column, so each is a HOT update: no new index entries and no
// index WAL. Before updated_floor, updated_at was indexed and none was.
func TestWritesOfLiveRecordsAreHOT(t *testing.T) {
	dsn := testdb.Postgres(t)
	s := testdb.OpenStore(t, dsn, sqlstore.WithIdleTimeout(time.Hour))
	// One connection: the statistics of the writes below are that
	// backend's until it flushes them, which pg_stat_force_next_flush
	// asks of the backend that calls it.
	s.DB().SetMaxOpenConns(1)
	ctx := t.Context()
	id := mcpsession.NewID()
	if err := s.Create(ctx, id, map[string]any{"n": 0}); err != nil {
		t.Fatal(err)
	}
	h, err := s.CreateHandle(ctx, "alice", map[string]any{"n": 0})
	if err != nil {
		t.Fatal(err)
	}
	before := updateCounts(t, s)
	const rounds = 10
	for i := range rounds {
		if err := s.Touch(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := s.Update(ctx, id, map[string]any{"n": i}); err != nil {
			t.Fatal(err)
		}
		if err := s.Modify(ctx, id, func(m map[string]any) (map[string]any, error) { m["m"] = i; return m, nil }); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchHandle(ctx, h, "alice"); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateHandle(ctx, h, "alice", map[string]any{"n": i}); err != nil {
			t.Fatal(err)
		}
		if err := s.ModifyHandle(ctx, h, "alice", func(m map[string]any) (map[string]any, error) { m["m"] = i; return m, nil }); err != nil {
			t.Fatal(err)
		}
	}
	// Each table saw 3 writes a round.
	want := map[string]tableUpdates{"mcp_sessions": {3 * rounds, 3 * rounds}, "mcp_handles": {3 * rounds, 3 * rounds}}
	got := waitUpdateCounts(t, s, before, want)
	for table, w := range want {
		if got[table] != w {
			t.Errorf("%s: %d updates, %d of them HOT; want %d, all HOT", table, got[table].upd, got[table].hot, w.upd)
		}
	}
}

type tableUpdates struct{ upd, hot int64 }

// updateCounts reads n_tup_upd and n_tup_hot_upd of the store's two tables
// of records, after flushing the statistics of the store's one connection.
func updateCounts(t *testing.T, s *sqlstore.Store) map[string]tableUpdates {
	t.Helper()
	ctx := t.Context()
	// The flush happens when the backend next goes idle: after this
	// statement, before the query below runs on the same connection.
	if _, err := s.DB().ExecContext(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
		t.Fatal(err)
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
WHERE schemaname = current_schema() AND relname IN ('mcp_sessions', 'mcp_handles')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]tableUpdates{}
	for rows.Next() {
		var name string
		var u tableUpdates
		if err := rows.Scan(&name, &u.upd, &u.hot); err != nil {
			t.Fatal(err)
		}
		out[name] = u
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitUpdateCounts returns the updates counted since before, once they
// reach want's numbers of updates or after 15 s: the flush is asked for,
// but the statistics system promises it only at the next opportunity.
func waitUpdateCounts(t *testing.T, s *sqlstore.Store, before, want map[string]tableUpdates) map[string]tableUpdates {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	for {
		now := updateCounts(t, s)
		got := map[string]tableUpdates{}
		done := true
		for table := range want {
			got[table] = tableUpdates{now[table].upd - before[table].upd, now[table].hot - before[table].hot}
			done = done && got[table].upd >= want[table].upd
		}
		if done {
			return got
		}
		select {
		case <-ctx.Done():
			var b strings.Builder
			for table, g := range got {
				fmt.Fprintf(&b, " %s: %d of %d", table, g.upd, want[table].upd)
			}
			t.Fatalf("the updates never showed in pg_stat_user_tables within 15 s:%s", b.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
