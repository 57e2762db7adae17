package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession/dialects"
	"github.com/mcpsession/mcpsession/internal/testdb"
)

var (
	// mainRunning is set by Main: the shared container needs someone to
	// terminate it.
	mainRunning atomic.Bool

	shared struct {
		once sync.Once
		srv  *Server
		err  error
	}

	// skipped counts the tests skipped for want of Postgres; skipLine is
	// the reason, printed once by Main.
	skipped  atomic.Int64
	skipLine atomic.Value // string
)

// Main runs the package's tests, for TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// It terminates every container the tests started once they have run, or
// when the process gets SIGINT or SIGTERM, and exits with the tests' code.
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
		if err := TerminateAll(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		fmt.Fprintf(os.Stderr, "pgtest: %v: containers terminated\n", sig)
		os.Exit(exitCode(sig))
	}()

	code := m.Run()

	signal.Stop(sigs)
	close(sigs)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := TerminateAll(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	if n := skipped.Load(); n > 0 {
		fmt.Fprintf(os.Stderr, "%s (%d tests)\n", skipLine.Load(), n)
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

// DSN returns a DSN for a new schema of t's own on the package's server,
// dropped when t ends (see the package doc for where the server comes
// from). It skips t when there is neither a server nor Docker, or fails it
// under MCPSESSION_REQUIRE_POSTGRES=1.
func DSN(t testing.TB) string {
	t.Helper()
	return testdb.PostgresSchema(t, AdminDSN(t))
}

// AdminDSN returns the DSN of the package's server itself, as its
// superuser: for tests that create roles or databases. Prefer DSN. It skips
// or fails t as DSN does.
func AdminDSN(t testing.TB) string {
	t.Helper()
	if dsn := os.Getenv(DSNEnv); dsn != "" {
		return dsn
	}
	if !mainRunning.Load() {
		t.Fatal("pgtest: the package's TestMain must call pgtest.Main, which terminates the container DSN starts")
	}
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		shared.srv, shared.err = Start(ctx)
	})
	if shared.err != nil {
		skipOrFail(t, shared.err)
	}
	return shared.srv.DSN()
}

// Dedicated starts a server that t owns, terminated when t ends: for tests
// that stop or pause it. It needs Docker even when DSNEnv is set, since
// that server cannot be stopped by a test; without Docker it skips t, or
// fails it under MCPSESSION_REQUIRE_POSTGRES=1 when there is no DSN either.
func Dedicated(t testing.TB, opts ...Option) *Server {
	t.Helper()
	if !mainRunning.Load() {
		t.Fatal("pgtest: the package's TestMain must call pgtest.Main, which terminates containers on interrupt")
	}
	if err := DockerAvailable(); err != nil {
		if dsn := os.Getenv(DSNEnv); dsn != "" {
			line := fmt.Sprintf("Postgres fault tests skipped: they stop and pause a container of their own, and %v; the server of %s (%s) cannot be stopped by a test",
				err, DSNEnv, dialects.Redact(dsn))
			skipLine.Store(line)
			skipped.Add(1)
			t.Skip(line)
		}
		skipOrFail(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := Start(ctx, opts...)
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

// skipOrFail ends t for want of a server: a skip with one line when Docker
// is missing, a failure under MCPSESSION_REQUIRE_POSTGRES=1 or for any
// other error.
func skipOrFail(t testing.TB, err error) {
	t.Helper()
	if !errors.Is(err, ErrNoDocker) {
		t.Fatal(err)
	}
	reason := fmt.Sprintf("%v, and %s is not set", err, DSNEnv)
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("no Postgres for this test: %s; %s=1 makes that a failure", reason, RequireEnv)
	}
	line := "Postgres tests skipped: " + reason
	skipLine.Store(line)
	skipped.Add(1)
	t.Skip(line)
}
