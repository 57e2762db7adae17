// Package janitortest holds the janitor scenarios that must hold on every
// way of reaching a database, so that the janitor's own tests and the
// integration suite (Postgres behind PgBouncer, for one) run the very same
// checks: [Seed] and [Present] arrange and count sessions, and
// [TwoJanitors] is two replicas sweeping one database at once.
package janitortest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/executor"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/janitor"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// Seed creates live sessions and sessions idle for two hours (their
// timestamps rewritten, so nothing waits), and returns both sets of ids.
func Seed(t testing.TB, s *sqlstore.Store, live, expired int) (liveIDs, expiredIDs []string) {
	t.Helper()
	ctx := t.Context()
	for range live {
		id := mcpsession.NewID()
		if err := s.Create(ctx, id, map[string]any{"live": true}); err != nil {
			t.Fatal(err)
		}
		liveIDs = append(liveIDs, id)
	}
	q := `UPDATE mcp_sessions SET updated_at = updated_at - 7200000, updated_floor = updated_floor - 7200000,
created_at = created_at - 7200000 WHERE id = ?1`
	if executor.Of(s).Driver().Name() == "postgres" {
		q = `UPDATE mcp_sessions SET updated_at = updated_at - interval '2 hours', updated_floor = updated_floor - interval '2 hours',
created_at = created_at - interval '2 hours' WHERE id = $1`
	}
	for range expired {
		id := mcpsession.NewID()
		if err := s.Create(ctx, id, map[string]any{"live": false}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DB().ExecContext(ctx, q, id); err != nil {
			t.Fatal(err)
		}
		expiredIDs = append(expiredIDs, id)
	}
	return liveIDs, expiredIDs
}

// Present counts which of ids a store without expiry still holds.
func Present(t testing.TB, s *sqlstore.Store, ids []string) int {
	t.Helper()
	n := 0
	for _, id := range ids {
		_, err := s.Get(t.Context(), id)
		switch {
		case err == nil:
			n++
		case !errors.Is(err, mcpsession.ErrNotFound):
			t.Fatal(err)
		}
	}
	return n
}

// TwoJanitors is two replicas' janitors sweeping one Postgres database,
// given by dsn (and opened with opts), at the same moment: one sweeps, the
// other skips, and the counts add up to what expired. The first sweep is
// held inside its cleanup, lease taken, by a transaction that locks the
// table, until the second has tried.
func TwoJanitors(t *testing.T, dsn string, opts ...sqlstore.Option) {
	t.Helper()
	opts = append([]sqlstore.Option{sqlstore.WithIdleTimeout(time.Hour)}, opts...)
	a := testdb.OpenStore(t, dsn, opts...)
	b := testdb.OpenStore(t, dsn, opts...)
	live, expired := Seed(t, a, 10, 60)
	ctx := t.Context()

	blocker, err := a.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback()
	if _, err := blocker.ExecContext(ctx, "LOCK TABLE mcp_sessions IN SHARE MODE"); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var results []janitor.SweepResult
	record := janitor.WithOnSweep(func(r janitor.SweepResult) {
		mu.Lock()
		defer mu.Unlock()
		results = append(results, r)
	})
	ja, err := janitor.New(a, record)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := janitor.New(b, record)
	if err != nil {
		t.Fatal(err)
	}
	leaseTaken := &executor.Of(a).TestSignals().LeaseTaken
	leaseTaken.Arm(t)
	swept := make(chan int64)
	go func() {
		n, err := ja.Sweep(ctx)
		if err != nil {
			t.Error(err)
		}
		swept <- n
	}()
	if name := leaseTaken.Wait(t); name != "cleanup" {
		t.Fatalf("the first sweep took lease %q; want cleanup", name)
	}

	nb, err := jb.Sweep(ctx)
	if !errors.Is(err, mcpsession.ErrCleanupInProgress) || nb != 0 {
		t.Fatalf("second janitor's Sweep = %d, %v; want 0, ErrCleanupInProgress", nb, err)
	}
	if err := blocker.Rollback(); err != nil {
		t.Fatal(err)
	}
	na := <-swept
	if na+nb != int64(len(expired)) {
		t.Fatalf("removed %d + %d; want %d", na, nb, len(expired))
	}
	mu.Lock()
	defer mu.Unlock()
	var skipped, removed int
	for _, r := range results {
		if r.Skipped {
			skipped++
		}
		removed += int(r.Removed)
		if r.Err != nil {
			t.Errorf("sweep reported an error: %+v", r)
		}
	}
	if skipped != 1 || removed != len(expired) {
		t.Fatalf("results %+v: want one skipped and %d removed in all", results, len(expired))
	}
	raw := testdb.OpenStore(t, dsn, opts[1:]...) // no expiry: sees rows, not liveness
	if Present(t, raw, expired) != 0 || Present(t, raw, live) != len(live) {
		t.Fatal("the two janitors did not remove exactly the expired sessions")
	}
	var leases int
	if err := raw.DB().QueryRowContext(ctx, `SELECT count(*) FROM mcpsession_leases`).Scan(&leases); err != nil || leases != 0 {
		t.Fatalf("%d cleanup leases left after both sweeps (%v); want 0", leases, err)
	}
}
