package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/dialects/postgres"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

func TestRetryAndReadOnlyOptionsValidated(t *testing.T) {
	t.Parallel()
	db, err := sqlite.Dialect().Driver().Open(t.Context(), "sqlite::memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for name, opts := range map[string][]sqlstore.Option{
		"retry 1 attempt":       {sqlstore.WithRetry(1, time.Second)},
		"retry 101 attempts":    {sqlstore.WithRetry(101, time.Second)},
		"retry backoff 0":       {sqlstore.WithRetry(3, 0)},
		"read-only and migrate": {sqlstore.WithReadOnly(), sqlstore.WithAutoMigrate()},
	} {
		if _, err := sqlstore.New(db, sqlite.Dialect(), opts...); !errors.Is(err, mcpsession.ErrInvalidOption) {
			t.Errorf("New with %s: %v; want ErrInvalidOption", name, err)
		}
	}
}

// withParam returns dsn with a query parameter added: sqlite:PATH?k=v, or
// postgres://…?k=v.
func withParam(dsn, key, value string) string {
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + url.QueryEscape(key) + "=" + strings.ReplaceAll(url.QueryEscape(value), "+", "%20")
}

// readOnlyDSN returns a DSN whose sessions accept no writes, as a hot
// standby's do: default_transaction_read_only on Postgres, query_only on
// SQLite.
func readOnlyDSN(t *testing.T, dsn string) string {
	if strings.HasPrefix(dsn, "sqlite:") {
		return withParam(dsn, "_pragma", "query_only(1)")
	}
	return withParam(dsn, "options", "-c default_transaction_read_only=on")
}

// Open refuses a server that accepts no writes, saying what to do, unless
// the store is asked to be read-only; such a store reads, and refuses every
// write before any SQL runs.
func TestOpenReadOnlyServer(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		ctx := t.Context()
		rw := testdb.OpenStore(t, dsn) // creates the schema
		id := mcpsession.NewID()
		if err := rw.Create(ctx, id, map[string]any{"v": 1}); err != nil {
			t.Fatal(err)
		}
		ro := readOnlyDSN(t, dsn)
		_, err := sqlstore.Open(ctx, testdb.Dialect(ro), ro)
		if !errors.Is(err, mcpsession.ErrReadOnly) || !strings.Contains(err.Error(), "WithReadOnly") {
			t.Fatalf("Open on a read-only server = %v; want ErrReadOnly naming WithReadOnly", err)
		}
		s, err := sqlstore.Open(ctx, testdb.Dialect(ro), ro, sqlstore.WithReadOnly())
		if err != nil {
			t.Fatalf("Open WithReadOnly: %v", err)
		}
		defer s.Close()
		if m, err := s.Get(ctx, id); err != nil || m["v"] != float64(1) {
			t.Fatalf("Get on a read-only store = %v, %v", m, err)
		}
		writes := map[string]func() error{
			"Create": func() error { return s.Create(ctx, mcpsession.NewID(), nil) },
			"Update": func() error { return s.Update(ctx, id, map[string]any{"v": 2}) },
			"Touch":  func() error { return s.Touch(ctx, id) },
			"Delete": func() error { return s.Delete(ctx, id) },
			"Modify": func() error {
				return s.Modify(ctx, id, func(m map[string]any) (map[string]any, error) { return m, nil })
			},
			"Cleanup": func() error { _, err := s.Cleanup(ctx, time.Hour); return err },
		}
		for name, write := range writes {
			if err := write(); !errors.Is(err, mcpsession.ErrReadOnly) {
				t.Errorf("%s on a read-only store = %v; want ErrReadOnly", name, err)
			}
		}
		if m, err := rw.Get(ctx, id); err != nil || m["v"] != float64(1) {
			t.Fatalf("after the refused writes: %v, %v; want v=1 untouched", m, err)
		}
	})
}

// A write the server refuses because it accepts no writes (25006 on a
// standby) matches ErrReadOnly. New does not check the server, so it
// reaches one.
func TestServerRefusesWrite(t *testing.T) {
	t.Parallel()
	dsn := testdb.Postgres(t)
	testdb.OpenStore(t, dsn) // the schema
	db, err := postgres.Dialect().Driver().Open(t.Context(), readOnlyDSN(t, dsn))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := sqlstore.New(db, postgres.Dialect())
	if err != nil {
		t.Fatal(err)
	}
	err = s.Create(t.Context(), mcpsession.NewID(), nil)
	if !errors.Is(err, mcpsession.ErrReadOnly) || errors.Is(err, mcpsession.ErrUnavailable) {
		t.Fatalf("Create on a read-only server = %v; want ErrReadOnly only", err)
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// A server that cannot be reached is ErrUnavailable, at Open and on every
// call of a store built with New.
func TestUnreachableServer(t *testing.T) {
	t.Parallel()
	dsn := "postgres://nobody:hunter2@" + closedPort(t) + "/db?sslmode=disable&connect_timeout=5"
	_, err := sqlstore.Open(t.Context(), testdb.Dialect(dsn), dsn)
	if !errors.Is(err, mcpsession.ErrUnavailable) || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("Open on a closed port = %v; want ErrUnavailable, no password", err)
	}
	db, err := postgres.Dialect().Driver().Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := sqlstore.New(db, postgres.Dialect(), sqlstore.WithRetry(4, time.Millisecond), sqlstore.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	id := mcpsession.NewID()
	calls := map[string]func() error{
		"Get":    func() error { _, err := s.Get(t.Context(), id); return err },
		"Update": func() error { return s.Update(t.Context(), id, nil) },
		"Touch":  func() error { return s.Touch(t.Context(), id) },
		"Delete": func() error { return s.Delete(t.Context(), id) },
		"Create": func() error { return s.Create(t.Context(), id, nil) },
	}
	for name, call := range calls {
		logs.Reset()
		err := call()
		if !errors.Is(err, mcpsession.ErrUnavailable) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s on a closed port = %v; want ErrUnavailable, no password", name, err)
		}
		retries := strings.Count(logs.String(), "sqlstore: retrying")
		want := 3 // 4 attempts in all
		if name == "Create" {
			want = 0 // never retried: it may have committed
		}
		if retries != want {
			t.Errorf("%s retried %d times; want %d", name, retries, want)
		}
	}
}

// The retries end with the caller's context: a retry that could not be
// made before the deadline is not made, and a context that ends during the
// wait stops them with an error that matches it.
func TestRetryBoundedByContext(t *testing.T) {
	t.Parallel()
	db, err := postgres.Dialect().Driver().Open(t.Context(), "postgres://nobody@"+closedPort(t)+"/db?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := sqlstore.New(db, postgres.Dialect(), sqlstore.WithRetry(100, 50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err = s.Get(ctx, mcpsession.NewID())
	// ErrUnavailable, the last attempt's failure, when the deadline came
	// during a wait; the deadline's error when it came during an attempt
	// (a loaded machine can make one attempt outlast it).
	if !errors.Is(err, mcpsession.ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get with a deadline = %v; want ErrUnavailable or the deadline's error", err)
	}
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		t.Fatalf("Get returned after its deadline with %v, which does not match %v", err, ctx.Err())
	}

	ctx, cancel = context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = s.Get(ctx, mcpsession.NewID())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Get cancelled during its retries = %v; want context.Canceled", err)
	}
}

// A connection the server ended (57P01, as on a restart or a failover) is
// ErrUnavailable; with WithRetry, the same call succeeds on a new one.
func TestTerminatedConnections(t *testing.T) {
	t.Parallel()
	app := "mcpsession-" + strings.ToLower(mcpsession.NewID()[:12])
	dsn := withParam(testdb.Postgres(t), "application_name", app)
	admin, err := postgres.Dialect().Driver().Open(t.Context(), testdb.PostgresAdminDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	plain := testdb.OpenStore(t, dsn)
	retrying := testdb.OpenStore(t, dsn, sqlstore.WithRetry(5, 20*time.Millisecond))
	ctx := t.Context()
	id := mcpsession.NewID()
	if err := plain.Create(ctx, id, map[string]any{"v": 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := retrying.Get(ctx, id); err != nil {
		t.Fatal(err)
	}
	testdb.Exec(t, admin, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, app)
	if _, err := plain.Get(ctx, id); !errors.Is(err, mcpsession.ErrUnavailable) {
		t.Errorf("Get on a terminated connection = %v; want ErrUnavailable", err)
	}
	if m, err := retrying.Get(ctx, id); err != nil || m["v"] != float64(1) {
		t.Errorf("Get WithRetry on a terminated connection = %v, %v; want v=1", m, err)
	}
}

// The first use of a statement waits for another call's prepare no longer
// than its own context allows (issue 13, item 8): with the pool's only
// connection taken, a first Get waits in its prepare, and a Touch given a
// short deadline returns with that deadline, not when the Get is done.
func TestFirstPrepareHonoursDeadline(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		s := testdb.OpenStore(t, dsn)
		s.DB().SetMaxOpenConns(1)
		ctx := t.Context()
		held, err := s.DB().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var released atomic.Bool
		release := func() {
			if released.CompareAndSwap(false, true) {
				held.Close()
			}
		}
		defer release()
		getDone := make(chan error, 1)
		go func() {
			_, err := s.Get(ctx, mcpsession.NewID())
			getDone <- err
		}()
		waitFor(t, "the Get to wait for the connection", func() bool { return s.DB().Stats().WaitCount > 0 })
		// Nothing but the held connection's release lets the Get go on;
		// it comes late, after the Touch should long have returned.
		timer := time.AfterFunc(10*time.Second, release)
		defer timer.Stop()
		tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		err = s.Touch(tctx, mcpsession.NewID())
		if released.Load() {
			t.Fatalf("Touch returned (%v) only once the connection was released", err)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Touch with a 300ms deadline = %v; want context.DeadlineExceeded", err)
		}
		release()
		if err := <-getDone; !errors.Is(err, mcpsession.ErrNotFound) {
			t.Fatalf("Get = %v; want ErrNotFound", err)
		}
	})
}

// waitFor polls cond, for what nothing signals (database/sql's pool has
// no hook for a caller starting to wait), until it holds or 10 s have
// passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
