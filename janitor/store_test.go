package janitor_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/internal/janitortest"
	"github.com/mcpsession/mcpsession/internal/tasks"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/janitor"
	"github.com/mcpsession/mcpsession/requeststate"
	"github.com/mcpsession/mcpsession/sqlstore"
)

var dsns = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return testdb.SQLiteFile(t) }},
	{"postgres", func(t *testing.T) string { return testdb.Postgres(t) }},
}

func TestSweepRemovesExactlyTheExpired(t *testing.T) {
	for _, d := range dsns {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			dsn := d.dsn(t)
			s := testdb.OpenStore(t, dsn, sqlstore.WithIdleTimeout(time.Hour), sqlstore.WithCleanupBatchSize(7))
			live, expired := janitortest.Seed(t, s, 30, 45)
			j, err := janitor.New(s) // ttl: the store's idle timeout
			if err != nil {
				t.Fatal(err)
			}
			n, err := j.Sweep(t.Context())
			if err != nil || n != int64(len(expired)) {
				t.Fatalf("Sweep = %d, %v; want %d", n, err, len(expired))
			}
			raw := testdb.OpenStore(t, dsn) // no expiry: sees rows, not liveness
			if got := janitortest.Present(t, raw, expired); got != 0 {
				t.Fatalf("%d expired sessions left", got)
			}
			if got := janitortest.Present(t, raw, live); got != len(live) {
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
			live, expired := janitortest.Seed(t, s, 20, 33)
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
			if janitortest.Present(t, raw, expired) != 0 || janitortest.Present(t, raw, live) != len(live) {
				t.Fatal("Run did not remove exactly the expired sessions")
			}
		})
	}
}

// Two replicas' janitors on one Postgres database sweep at the same moment:
// one sweeps, the other skips, and the counts add up to what expired.
func TestTwoJanitorsOnePostgres(t *testing.T) {
	t.Parallel()
	janitortest.TwoJanitors(t, testdb.Postgres(t))
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
			_, expiredSessions := janitortest.Seed(t, s, 3, 5)
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
			q := `UPDATE mcp_handles SET updated_at = updated_at - 3600000, updated_floor = updated_floor - 3600000 WHERE handle = ?1`
			if testdb.DialectName(s) == "postgres" {
				q = `UPDATE mcp_handles SET updated_at = updated_at - interval '1 hour', updated_floor = updated_floor - interval '1 hour'
WHERE handle = $1`
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

// A janitor given requeststate's Sealer (WithSweeper) deletes the ids of
// used states that have expired, and keeps the others, so that a live
// state stays refused as replayed.
func TestSweepRunsRequestStateSealer(t *testing.T) {
	for _, d := range dsns {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			dsn := d.dsn(t)
			s := testdb.OpenStore(t, dsn, sqlstore.WithIdleTimeout(time.Hour))
			ctx := t.Context()
			sealer, err := requeststate.New(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			req := requeststate.Request{Principal: "p", Method: "tools/call", Params: json.RawMessage(`{"name":"confirm"}`)}
			token, err := sealer.Seal(ctx, req, []byte("live"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sealer.OpenOnce(ctx, req, token); err != nil {
				t.Fatal(err)
			}
			// Used ids of states that expired two hours ago, as OpenOnce
			// would have left them.
			const expired = 17
			q := `INSERT INTO mcp_requeststate_used (id, expires_at) VALUES (?1, ?2)`
			past := any(time.Now().Add(-2 * time.Hour).UnixMilli())
			if testdb.DialectName(s) == "postgres" {
				q = `INSERT INTO mcp_requeststate_used (id, expires_at) VALUES ($1, $2)`
				past = time.Now().Add(-2 * time.Hour)
			}
			for i := range expired {
				testdb.Exec(t, s.DB(), q, []byte(fmt.Sprintf("expired-id-%05d", i)), past)
			}
			results := make(chan janitor.SweepResult, 1)
			j, err := janitor.New(s, janitor.WithSweeper(sealer.Sweep), janitor.WithOnSweep(func(r janitor.SweepResult) { results <- r }))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := j.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			if r := <-results; r.RemovedOther != expired || r.Err != nil {
				t.Fatalf("sweep = %+v; want %d used ids removed", r, expired)
			}
			var left int
			if err := s.DB().QueryRowContext(ctx, `SELECT count(*) FROM mcp_requeststate_used`).Scan(&left); err != nil || left != 1 {
				t.Fatalf("%d used ids left (%v); want the live one", left, err)
			}
			if _, err := sealer.OpenOnce(ctx, req, token); !errors.Is(err, requeststate.ErrReplayed) {
				t.Fatalf("OpenOnce after the sweep: %v; want ErrReplayed", err)
			}
		})
	}
}

// A janitor given the task store (WithSweeper) deletes the tasks past
// their ttl and writes down as failed those whose lease lapsed, on the
// same sweep as the sessions.
func TestSweepRunsTheTaskStore(t *testing.T) {
	for _, d := range dsns {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			dsn := d.dsn(t)
			s := testdb.OpenStore(t, dsn, sqlstore.WithIdleTimeout(time.Hour))
			_, expiredSessions := janitortest.Seed(t, s, 2, 3)
			b, err := bus.New(s)
			if err != nil {
				t.Fatal(err)
			}
			ts, err := tasks.New(s, b)
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			create := func() string {
				task, err := ts.Create(ctx, tasks.CreateParams{Principal: "p", TTL: time.Hour})
				if err != nil {
					t.Fatal(err)
				}
				return task.ID
			}
			expired, lapsed, live := create(), create(), create()
			// Time moved on for two of them.
			expire := `UPDATE mcp_tasks SET expires_at = expires_at - 7200000 WHERE id = ?1`
			lapse := `UPDATE mcp_tasks SET lease_until = lease_until - 3600000 WHERE id = ?1`
			if testdb.DialectName(s) == "postgres" {
				expire = `UPDATE mcp_tasks SET expires_at = expires_at - interval '2 hours' WHERE id = $1`
				lapse = `UPDATE mcp_tasks SET lease_until = lease_until - interval '1 hour' WHERE id = $1`
			}
			testdb.Exec(t, s.DB(), expire, expired)
			testdb.Exec(t, s.DB(), lapse, lapsed)

			results := make(chan janitor.SweepResult, 1)
			j, err := janitor.New(s, janitor.WithSweeper(ts.Sweep), janitor.WithOnSweep(func(r janitor.SweepResult) { results <- r }))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := j.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			if r := <-results; r.Removed != int64(len(expiredSessions)) || r.RemovedOther != 2 || r.Err != nil {
				t.Fatalf("sweep = %+v; want %d sessions, and 2 tasks from the task store", r, len(expiredSessions))
			}
			if _, err := ts.Get(ctx, expired, "p"); err != tasks.ErrTaskNotFound {
				t.Errorf("expired task after the sweep: %v; want ErrTaskNotFound", err)
			}
			var status string
			if err := s.DB().QueryRowContext(ctx, `SELECT status FROM mcp_tasks WHERE id = '`+lapsed+`'`).Scan(&status); err != nil || status != "failed" {
				t.Errorf("lapsed task's row after the sweep: %q, %v; want failed written down", status, err)
			}
			if got, err := ts.Get(ctx, live, "p"); err != nil || got.Status != tasks.Working {
				t.Errorf("live task after the sweep: %+v, %v; want working", got, err)
			}
		})
	}
}
