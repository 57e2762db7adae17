package janitor_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/janitor"
	"github.com/mcpsession/mcpsession/sqlstore"
)

var dsns = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return testdb.SQLiteFile(t) }},
	{"postgres", func(t *testing.T) string { return testdb.Postgres(t) }},
}

// seed creates live sessions and sessions idle for two hours (their
// timestamps rewritten, so nothing waits), and returns both sets of ids.
func seed(t *testing.T, s *sqlstore.Store, live, expired int) (liveIDs, expiredIDs []string) {
	t.Helper()
	ctx := t.Context()
	for range live {
		id := mcpsession.NewID()
		if err := s.Create(ctx, id, map[string]any{"live": true}); err != nil {
			t.Fatal(err)
		}
		liveIDs = append(liveIDs, id)
	}
	q := `UPDATE mcp_sessions SET updated_at = updated_at - 7200000, created_at = created_at - 7200000 WHERE id = ?1`
	if s.Dialect().Name() == "postgres" {
		q = `UPDATE mcp_sessions SET updated_at = updated_at - interval '2 hours', created_at = created_at - interval '2 hours' WHERE id = $1`
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

// present counts which of ids a fresh store without expiry still holds.
func present(t *testing.T, s *sqlstore.Store, ids []string) int {
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

func TestSweepRemovesExactlyTheExpired(t *testing.T) {
	for _, d := range dsns {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			dsn := d.dsn(t)
			s := testdb.OpenStore(t, dsn, sqlstore.WithIdleTimeout(time.Hour), sqlstore.WithCleanupBatchSize(7))
			live, expired := seed(t, s, 30, 45)
			j, err := janitor.New(s) // ttl: the store's idle timeout
			if err != nil {
				t.Fatal(err)
			}
			n, err := j.Sweep(t.Context())
			if err != nil || n != int64(len(expired)) {
				t.Fatalf("Sweep = %d, %v; want %d", n, err, len(expired))
			}
			raw := testdb.OpenStore(t, dsn) // no expiry: sees rows, not liveness
			if got := present(t, raw, expired); got != 0 {
				t.Fatalf("%d expired sessions left", got)
			}
			if got := present(t, raw, live); got != len(live) {
				t.Fatalf("%d of %d live sessions left", got, len(live))
			}
		})
	}
}

func TestRunRemovesExactlyTheExpired(t *testing.T) {
	for _, d := range dsns {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			dsn := d.dsn(t)
			s := testdb.OpenStore(t, dsn, sqlstore.WithIdleTimeout(time.Hour))
			live, expired := seed(t, s, 20, 33)
			results := make(chan janitor.SweepResult, 16)
			j, err := janitor.New(s, janitor.WithInterval(10*time.Millisecond),
				janitor.WithOnSweep(func(r janitor.SweepResult) { results <- r }))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error)
			go func() { done <- j.Run(ctx) }()
			first := <-results
			second := <-results
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run = %v; want nil after cancel", err)
			}
			if first.Err != nil || first.Removed != int64(len(expired)) || first.TTL != time.Hour {
				t.Fatalf("first sweep = %+v; want %d removed with ttl 1h", first, len(expired))
			}
			if second.Err != nil || second.Removed != 0 {
				t.Fatalf("second sweep = %+v; want nothing left to remove", second)
			}
			raw := testdb.OpenStore(t, dsn)
			if present(t, raw, expired) != 0 || present(t, raw, live) != len(live) {
				t.Fatal("Run did not remove exactly the expired sessions")
			}
		})
	}
}

// Two replicas' janitors on one Postgres database sweep at the same moment:
// one sweeps, the other skips, and the counts add up to what expired.
func TestTwoJanitorsOnePostgres(t *testing.T) {
	t.Parallel()
	dsn := testdb.Postgres(t)
	a := testdb.OpenStore(t, dsn, sqlstore.WithIdleTimeout(time.Hour))
	b := testdb.OpenStore(t, dsn, sqlstore.WithIdleTimeout(time.Hour))
	live, expired := seed(t, a, 10, 60)
	ctx := t.Context()

	// Hold the table so that the first sweep to start stays inside its
	// cleanup, lock taken, until released.
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
	swept := make(chan int64)
	go func() {
		n, err := ja.Sweep(ctx)
		if err != nil {
			t.Error(err)
		}
		swept <- n
	}()
	waitForCleanupLock(t, a)

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
	raw := testdb.OpenStore(t, dsn)
	if present(t, raw, expired) != 0 || present(t, raw, live) != len(live) {
		t.Fatal("the two janitors did not remove exactly the expired sessions")
	}
}

// waitForCleanupLock polls until some session holds the cleanup advisory
// lock.
func waitForCleanupLock(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var held bool
		err := s.DB().QueryRowContext(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_locks
			WHERE locktype = 'advisory' AND granted AND ((classid::bigint << 32) | objid::bigint) = (`+
			s.Dialect().Statements().CleanupLockKey+`))`).Scan(&held)
		if err != nil {
			t.Fatal(err)
		}
		if held {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the first sweep never took the cleanup lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A sweep removes expired state handles too, with the store's own handle
// idle timeout, and reports them apart from sessions.
func TestSweepRemovesExpiredHandles(t *testing.T) {
	for _, d := range dsns {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			dsn := d.dsn(t)
			s := testdb.OpenStore(t, dsn, sqlstore.WithIdleTimeout(time.Hour),
				sqlstore.WithHandleIdleTimeout(30*time.Minute), sqlstore.WithCleanupBatchSize(4))
			_, expiredSessions := seed(t, s, 3, 5)
			ctx := t.Context()
			var live, expired []string
			for i := range 22 {
				h, err := s.CreateHandle(ctx, "p", map[string]any{"i": i})
				if err != nil {
					t.Fatal(err)
				}
				if i < 13 {
					expired = append(expired, h)
					continue
				}
				live = append(live, h)
			}
			q := `UPDATE mcp_handles SET updated_at = updated_at - 3600000 WHERE handle = ?1`
			if s.Dialect().Name() == "postgres" {
				q = `UPDATE mcp_handles SET updated_at = updated_at - interval '1 hour' WHERE handle = $1`
			}
			for _, h := range expired {
				testdb.Exec(t, s.DB(), q, h)
			}
			results := make(chan janitor.SweepResult, 1)
			j, err := janitor.New(s, janitor.WithOnSweep(func(r janitor.SweepResult) { results <- r }))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := j.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			r := <-results
			if r.Removed != int64(len(expiredSessions)) || r.RemovedHandles != int64(len(expired)) {
				t.Fatalf("sweep = %+v; want %d sessions and %d handles removed", r, len(expiredSessions), len(expired))
			}
			raw := testdb.OpenStore(t, dsn, sqlstore.WithHandleIdleTimeout(1000*time.Hour))
			for _, h := range expired {
				if _, err := raw.GetHandle(ctx, h, "p"); !errors.Is(err, mcpsession.ErrHandleNotFound) {
					t.Fatalf("expired handle left after the sweep: %v", err)
				}
			}
			for _, h := range live {
				if _, err := raw.GetHandle(ctx, h, "p"); err != nil {
					t.Fatalf("live handle gone after the sweep: %v", err)
				}
			}
		})
	}
}
