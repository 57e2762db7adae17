// Package testdb finds the databases the tests run on: a SQLite file in the
// test's temporary directory, always, and a Postgres server named by
// MCPSESSION_TEST_POSTGRES_DSN, when set, with a schema of its own per test.
//
// The downstream test kit, module mcpsessiontest, is built on SQLiteFile,
// PostgresSchema and OpenStore, and adds where a server comes from
// (containers). It is tagged with this module at one version and requires
// it at that version; change those three only together with it.
package testdb

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/dialects"
	"github.com/mcpsession/mcpsession/dialects/postgres"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/internal/executor"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// PostgresEnv names the Postgres server the tests may use.
const PostgresEnv = "MCPSESSION_TEST_POSTGRES_DSN"

// RequireEnv, set to 1, turns a missing Postgres from a skip into a failure.
const RequireEnv = "MCPSESSION_REQUIRE_POSTGRES"

// SQLiteFile returns the DSN of a new SQLite file in t's temporary
// directory.
func SQLiteFile(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "sessions.db")
}

// PostgresAdminDSN returns the server DSN from the environment, or skips t
// (fails it under MCPSESSION_REQUIRE_POSTGRES=1) when there is none.
func PostgresAdminDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(PostgresEnv)
	if dsn == "" {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s is not set and %s=1", PostgresEnv, RequireEnv)
		}
		t.Skipf("Postgres tests skipped: %s is not set", PostgresEnv)
	}
	return dsn
}

// Postgres returns a DSN whose connections use a new schema of their own,
// dropped when t ends, on the server from the environment. It skips t when
// there is no server (see PostgresAdminDSN).
func Postgres(t testing.TB) string {
	t.Helper()
	return PostgresSchema(t, PostgresAdminDSN(t))
}

// PostgresSchema creates a new schema on the server at dsn and returns a
// DSN whose connections use it; the schema is dropped when t ends.
func PostgresSchema(t testing.TB, dsn string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := postgres.Dialect().Driver().Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	schema := "t_" + strings.ToLower(mcpsession.NewID())
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create test schema on %s: %v", dialects.Redact(dsn), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db, err := postgres.Dialect().Driver().Open(ctx, dsn)
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop test schema: %v", err)
		}
	})
	return WithSearchPath(dsn, schema)
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

// Exec runs statements on dsn's database, failing t on error: for tests
// that arrange rows by hand.
func Exec(t testing.TB, db *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// Each runs fn, in parallel subtests, on a new SQLite file ("sqlite") and
// on a schema of its own on the Postgres server from the environment
// ("postgres", skipped as Postgres says when there is none).
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
