package faults_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession/dialects/postgres"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
	"go.uber.org/goleak"
)

// fault is one way of taking the server away and bringing it back.
type fault struct {
	name string
	// down takes the server away; up undoes it, without waiting for the
	// server to accept connections.
	down, up func(srv testdb.Server, ctx context.Context) error
	// failures is how many calls must have failed, counted from the
	// fault, before the server comes back: enough that every worker met
	// the fault at least twice.
	failures int
}

func TestPostgresStopStart(t *testing.T) {
	testPostgresFault(t, fault{
		name:     "pg-stop-start",
		down:     testdb.Server.Stop,
		up:       testdb.Server.Start,
		failures: 4 * workers,
	})
}

func TestPostgresPause(t *testing.T) {
	testPostgresFault(t, fault{
		name: "pg-pause",
		down: testdb.Server.Pause,
		up:   testdb.Server.Unpause,
		// Calls to a frozen server fail only at their deadline: two
		// rounds of them keep it paused for about twice callDeadline.
		failures: 2 * workers,
	})
}

// testPostgresFault runs the load on one Store over a server of the
// test's own, takes the server away and brings it back, and measures.
func testPostgresFault(t *testing.T, f fault) {
	srv := testdb.Docker(t).PostgresServer(t, testdb.ServerOptions{FixedHostPort: true, DurableWrites: true})
	ctx := t.Context()
	// Everything running now (the container's Docker client included) is
	// not the store's; whatever the store starts must be gone after Close.
	baseline := goleak.IgnoreCurrent()

	store, err := sqlstore.Open(ctx, postgres.Dialect(), srv.DSN(), sqlstore.WithAutoMigrate())
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			_ = store.Close()
		}
	}()
	l := startLoad(store)
	defer l.cancel()

	l.await(t, "300 acknowledged Creates", time.Minute, func(l *load) bool { return len(l.acked) >= 300 })
	ackedBefore, errsBefore := l.counts()

	faultAt := time.Now()
	if err := f.down(srv, ctx); err != nil {
		t.Fatal(err)
	}
	l.watchFirstOK()
	l.await(t, fmt.Sprintf("%d failed calls while the server is away", f.failures), time.Minute,
		func(l *load) bool { return l.errs >= errsBefore+f.failures })
	if err := f.up(srv, ctx); err != nil {
		t.Fatal(err)
	}
	upAt := time.Now()
	// The server is back when a new connection succeeds; the same Store,
	// not reopened, must work again soon after.
	if err := srv.WaitReady(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	readyAt := time.Now()
	l.await(t, fmt.Sprintf("a successful call within %v of the server being back", recoverWithin), recoverWithin,
		func(l *load) bool { return !l.firstOK.IsZero() })
	okAt := l.firstOKAt()
	// The store may get through before the probe does: then it took no
	// time at all.
	recovered := max(0, okAt.Sub(readyAt))
	ackedAtRecovery, _ := l.counts()
	l.await(t, "200 more acknowledged Creates after recovery", time.Minute,
		func(l *load) bool { return len(l.acked) >= ackedAtRecovery+200 })
	l.stop(t)

	l.checkCalls(t, nil)
	lost := l.verifyAcked(t)
	acked, _ := l.counts()
	if err := store.Close(); err != nil {
		t.Error(err)
	}
	closed = true
	leaks := goleak.Find(baseline,
		// The Docker client's idle HTTP connections to the engine.
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	)
	if leaks != nil {
		t.Errorf("goroutines left after the store was closed: %v", leaks)
	}
	l.logExamples(t)
	leaked := "0"
	if leaks != nil {
		leaked = "yes"
	}
	// away: from the fault to undoing it; server_ready and store_ok: from
	// undoing it to a new connection, and to the store's first success.
	reportFault(t, "%s: away=%.2fs server_ready=%.2fs store_ok=%.2fs recovered_after=%.2fs errors=%s calls=%d max_call=%.2fs late=%d acked_before_fault=%d acked=%d lost=%d goroutines_leaked=%s",
		f.name, upAt.Sub(faultAt).Seconds(), readyAt.Sub(upAt).Seconds(), okAt.Sub(upAt).Seconds(), recovered.Seconds(),
		l.errorSummary(), l.calls, l.maxCall.Seconds(), len(l.late), ackedBefore, acked, lost, leaked)
	if lost > 0 {
		t.Errorf("%d acknowledged sessions lost", lost)
	}
}
