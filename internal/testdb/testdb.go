// Package testdb is the project's one test-database harness: every
// module's tests get their databases here, in pgx's manner.
//
//   - SQLite: a new file in the test's temporary directory, always.
//   - Postgres: the server MCPSESSION_TEST_POSTGRES_DSN names, with a schema
//     of its own per test, dropped when the test ends. Where the variable is
//     unset, a module that may start containers (the test kit,
//     mcpsessiontest, and the modules whose tests import it) starts one
//     server for the test binary through the container runtime the kit
//     registers ([SetDocker]); elsewhere the Postgres tests skip, or fail
//     under MCPSESSION_REQUIRE_POSTGRES=1.
//
// The kit's exported functions are this package's, behind its public names;
// the integration suite's clusters (integration/internal/pgtest) start their
// containers through the same runtime.
package testdb

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/dialects"
	"github.com/mcpsession/mcpsession/dialects/postgres"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/internal/executor"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// Environment variables the harness reads.
const (
	// PostgresEnv names the Postgres server the tests use.
	PostgresEnv = "MCPSESSION_TEST_POSTGRES_DSN"
	// RequireEnv, set to 1, turns a missing Postgres from a skip into a
	// failure, so that a CI job cannot pass with a suite skipped.
	RequireEnv = "MCPSESSION_REQUIRE_POSTGRES"
)

// SQLiteFile returns the DSN of a new SQLite file in t's temporary
// directory.
func SQLiteFile(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "sessions.db")
}

// PostgresAdminDSN returns the DSN of the tests' Postgres server as its
// superuser: PostgresEnv's, or else the shared container of the registered
// runtime. Without either it ends t as SkipOrFail does.
func PostgresAdminDSN(t testing.TB) string {
	t.Helper()
	if dsn := os.Getenv(PostgresEnv); dsn != "" {
		return dsn
	}
	d := docker.Load()
	if d == nil {
		SkipOrFail(t, "Postgres tests skipped: "+PostgresEnv+" is not set")
	}
	if _, err := (*d).Image(); err != nil {
		SkipOrFail(t, fmt.Sprintf("Postgres tests skipped: %v, and %s is not set", err, PostgresEnv))
	}
	dsn, err := (*d).SharedPostgres()
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// Postgres returns a DSN whose connections use a new schema of their own,
// dropped when t ends, on the tests' server (see PostgresAdminDSN).
func Postgres(t testing.TB) string {
	t.Helper()
	return PostgresSchema(t, PostgresAdminDSN(t))
}

// PostgresSchema creates a new schema on the server at dsn and returns a
// DSN whose connections use it; the schema is dropped when t ends.
func PostgresSchema(t testing.TB, dsn string) string {
	t.Helper()
	schema := "t_" + strings.ToLower(mcpsession.NewID())
	if err := onServer(dsn, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create test schema on %s: %v", dialects.Redact(dsn), err)
	}
	t.Cleanup(func() {
		if err := onServer(dsn, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop test schema: %v", err)
		}
	})
	return WithSearchPath(dsn, schema)
}

func onServer(dsn, statement string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := postgres.Dialect().Driver().Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, statement)
	return err
}

// WithSearchPath returns dsn with its connections' search_path set to
// schema.
func WithSearchPath(dsn, schema string) string {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return fmt.Sprintf("%s search_path=%s", dsn, schema)
}

// Each runs fn, in parallel subtests, on a new SQLite file ("sqlite") and
// on a schema of its own on the tests' Postgres server ("postgres", which
// skips as PostgresAdminDSN says when there is none).
func Each(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, SQLiteFile(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, Postgres(t))
	})
}

// Dialect returns the dialect of a test DSN: SQLite for sqlite:PATH and
// sqlite::memory:, Postgres for any other (postgres://, postgresql://,
// key=value).
func Dialect(dsn string) dialects.Dialect {
	if strings.HasPrefix(dsn, "sqlite:") {
		return sqlite.Dialect()
	}
	return postgres.Dialect()
}

// OpenDB opens a pool on dsn as its dialect opens the store's, closed when
// t ends: for tests that arrange or inspect rows by hand.
func OpenDB(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := Dialect(dsn).Driver().Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Exec runs a statement on db, failing t on error: for tests that arrange
// rows by hand.
func Exec(t testing.TB, db *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// DialectName is the name of the store's dialect: "postgres" or "sqlite".
func DialectName(s *sqlstore.Store) string { return executor.Of(s).Driver().Name() }

// OpenStore opens a store on dsn, of the dialect its form says (see
// Dialect), with the migrations applied (and opts after), closed when t
// ends.
func OpenStore(t testing.TB, dsn string, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), Dialect(dsn), dsn, append([]sqlstore.Option{sqlstore.WithAutoMigrate()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// KillListeners ends the connections that LISTEN on the channel of db's
// schema (every Bus's listener over a store there), as a failover would,
// and returns how many it ended. Other tests' listeners, in other schemas
// of the shared server, are left alone. The channel is the one
// dialects/postgres computes (pgChannel).
func KillListeners(ctx context.Context, db *sql.DB) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND query = 'LISTEN "mcpsession_' || substr(md5(current_schema()), 1, 16) || '"'`).Scan(&n)
	return n, err
}

// WaitAccepting polls dsn with new connections until one answers, or ctx
// ends: a server starting, or coming back.
func WaitAccepting(ctx context.Context, dsn string) error {
	var last error
	for {
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(attempt, dsn)
		if err == nil {
			err = conn.Ping(attempt)
			_ = conn.Close(context.WithoutCancel(attempt))
		}
		cancel()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s accepted no connection: %w", dialects.Redact(dsn), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// What was skipped for want of a server, for SkipSummary.
var skips struct {
	n    atomic.Int64
	mu   sync.Mutex
	line string
}

// Skip skips t with line, and counts it for SkipSummary.
func Skip(t testing.TB, line string) {
	t.Helper()
	skips.mu.Lock()
	skips.line = line
	skips.mu.Unlock()
	skips.n.Add(1)
	t.Skip(line)
}

// SkipOrFail ends t for want of a server: a skip with line, or, under
// RequireEnv=1, a failure saying so.
func SkipOrFail(t testing.TB, line string) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s; %s=1 makes that a failure", line, RequireEnv)
	}
	Skip(t, line)
}

// SkipSummary returns the last skip line and how many tests skipped, as one
// line, or "" when none did: a TestMain prints it once.
func SkipSummary() string {
	n := skips.n.Load()
	if n == 0 {
		return ""
	}
	skips.mu.Lock()
	defer skips.mu.Unlock()
	return fmt.Sprintf("%s (%d tests)", skips.line, n)
}

// RunTogether starts n copies of the test binary, running no test, with
// env added to their environment (the package's TestMain acts on it),
// holds each at its standard input until all have started, then lets them
// go at once. It returns, for each copy that failed, what it printed.
func RunTogether(t testing.TB, n int, env ...string) []string {
	t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		fails []string
		gates []io.WriteCloser
	)
	for i := range n {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), env...)
		gate, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		gates = append(gates, gate)
		wg.Go(func() {
			if err := cmd.Wait(); err != nil {
				mu.Lock()
				fails = append(fails, fmt.Sprintf("process %d: %v: %s", i, err, strings.TrimSpace(out.String())))
				mu.Unlock()
			}
		})
	}
	for _, gate := range gates {
		_ = gate.Close() // every copy starts now
	}
	wg.Wait()
	return fails
}
