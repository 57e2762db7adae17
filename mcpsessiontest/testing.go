package mcpsessiontest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession/dialects"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

var (
	// mainRunning is set by Main: the shared container needs someone to
	// terminate it.
	mainRunning atomic.Bool

	shared struct {
		once sync.Once
		srv  *server
		err  error
	}
)

// Main runs the package's tests, for TestMain:
//
//	func TestMain(m *testing.M) { mcpsessiontest.Main(m) }
//
// It terminates every container the tests started once they have run, or
// when the process gets SIGINT or SIGTERM, prints the reason Postgres tests
// were skipped (once, with their count), and exits with the tests' code.
func Main(m *testing.M) {
	mainRunning.Store(true)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig, ok := <-sigs
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := terminateAll(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		fmt.Fprintf(os.Stderr, "mcpsessiontest: %v: containers terminated\n", sig)
		os.Exit(exitCode(sig))
	}()

	code := m.Run()

	signal.Stop(sigs)
	close(sigs)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := terminateAll(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	if line := testdb.SkipSummary(); line != "" {
		fmt.Fprintln(os.Stderr, line)
	}
	cancel()
	os.Exit(code)
}

// exitCode is what a shell reports for a process killed by sig.
func exitCode(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 1
}

// sharedPostgres starts the test binary's server on the first call.
func sharedPostgres() (string, error) {
	if !mainRunning.Load() {
		return "", errors.New("mcpsessiontest: the package's TestMain must call mcpsessiontest.Main, which terminates the container this test would start")
	}
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		shared.srv, shared.err = startPostgres(ctx, testdb.ServerOptions{})
	})
	if shared.err != nil {
		return "", shared.err
	}
	return shared.srv.DSN(), nil
}

// SQLite returns a migrated store on a new SQLite file in t's temporary
// directory, closed when t ends; opts come after sqlstore.WithAutoMigrate.
// It needs nothing but the test.
func SQLite(t testing.TB, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	return testdb.OpenStore(t, testdb.SQLiteFile(t), opts...)
}

// Postgres returns a migrated store in a new schema of t's own on the
// package's Postgres server, dropped and closed when t ends. It skips t
// when there is no server to be had (see the package doc), or fails it
// under MCPSESSION_REQUIRE_POSTGRES=1.
func Postgres(t testing.TB, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	return testdb.OpenStore(t, testdb.Postgres(t), opts...)
}

// Open returns a migrated store on dsn, closed when t ends. On a Postgres
// DSN the store lives in a new schema of t's own, dropped when t ends, so
// tests that share a server never see each other's sessions; a SQLite DSN
// is used as it is.
func Open(t testing.TB, dsn string, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		dsn = testdb.PostgresSchema(t, dsn)
	}
	return testdb.OpenStore(t, dsn, opts...)
}

// PostgresDSN returns the DSN of a new, empty schema of t's own on the
// package's server (its connections' search_path), dropped when t ends:
// for code that opens its own store from a DSN. It skips or fails t as
// Postgres does.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	return testdb.Postgres(t)
}

// PostgresAdminDSN returns the DSN of the package's server itself, as its
// superuser: for tests that create roles or databases. Prefer PostgresDSN.
// It skips or fails t as Postgres does.
func PostgresAdminDSN(t testing.TB) string {
	t.Helper()
	return testdb.PostgresAdminDSN(t)
}

// PostgresServer (testdb.Runtime) starts a server that t owns, terminated when t ends: for
// tests that stop, pause or restart their database. It needs Docker even
// when MCPSESSION_TEST_POSTGRES_DSN is set, since that server cannot be
// stopped by a test; without Docker or an image it skips t, or fails it
// under MCPSESSION_REQUIRE_POSTGRES=1 when there is no DSN either.
func (runtime) PostgresServer(t testing.TB, o testdb.ServerOptions) testdb.Server {
	t.Helper()
	if !mainRunning.Load() {
		t.Fatal("mcpsessiontest: the package's TestMain must call mcpsessiontest.Main, which terminates containers on interrupt")
	}
	if err := available(); err != nil {
		if dsn := os.Getenv(dsnEnv); dsn != "" {
			testdb.Skip(t, fmt.Sprintf("Postgres tests with a server of their own skipped: they stop and pause a container, and %v; the server of %s (%s) cannot be stopped by a test",
				err, dsnEnv, dialects.Redact(dsn)))
		}
		testdb.SkipOrFail(t, fmt.Sprintf("Postgres tests skipped: %v, and %s is not set", err, dsnEnv))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := startPostgres(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.Terminate(ctx); err != nil {
			t.Error(err)
		}
	})
	return s
}
