package migrations_test

import (
	"context"
	"database/sql"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mcpsession/mcpsession/dialects"
	"github.com/mcpsession/mcpsession/dialects/postgres"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/migrations"
)

// databases are the fresh databases each test migrates: the DSN for Open
// and what the goose CLI calls the driver and the database.
var databases = []struct {
	name    string
	dsn     func(t *testing.T) string
	dialect dialects.Dialect
	goose   func(dsn string) (driver, dbstring string)
}{
	{"sqlite", func(t *testing.T) string { return testdb.SQLiteFile(t) }, sqlite.Dialect(),
		func(dsn string) (string, string) { return "sqlite3", strings.TrimPrefix(dsn, "sqlite:") }},
	{"postgres", func(t *testing.T) string { return testdb.Postgres(t) }, postgres.Dialect(),
		func(dsn string) (string, string) { return "postgres", dsn }},
}

func openDB(t *testing.T, d dialects.Dialect, dsn string) *sql.DB {
	t.Helper()
	db, err := d.Driver().Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// tables lists the tables of the database's current schema.
func tables(t *testing.T, d dialects.Dialect, db *sql.DB) map[string]bool {
	t.Helper()
	q := `SELECT name FROM sqlite_schema WHERE type = 'table'`
	if d.Name() == "postgres" {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	rows, err := db.QueryContext(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		out[name] = true
	}
	return out
}

func TestUpIsIdempotentAndConcurrent(t *testing.T) {
	for _, d := range databases {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			dsn := d.dsn(t)
			// Replicas starting together: each its own pool, all at once.
			const replicas = 6
			errs := make([]error, replicas)
			var wg sync.WaitGroup
			for i := range replicas {
				db := openDB(t, d.dialect, dsn)
				wg.Go(func() { errs[i] = migrations.Up(t.Context(), db, d.dialect) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("replica %d: %v", i, err)
				}
			}
			db := openDB(t, d.dialect, dsn)
			if err := migrations.Up(t.Context(), db, d.dialect); err != nil {
				t.Fatalf("Up on a migrated database: %v", err)
			}
			got := tables(t, d.dialect, db)
			if !got["mcp_sessions"] || !got["mcp_handles"] || !got["mcpsession_leases"] || !got["mcp_tasks"] || !got[migrations.TableName] || got["goose_db_version"] {
				t.Fatalf("tables after Up: %v; want mcp_sessions, mcp_handles, mcpsession_leases, mcp_tasks and %s, not goose_db_version", got, migrations.TableName)
			}
			if !got["mcp_requeststate_keys"] || !got["mcp_requeststate_used"] {
				t.Fatalf("tables after Up: %v; want requeststate's", got)
			}
			files, _ := fs.Glob(d.dialect.Driver().Migrations(), "*.sql")
			var applied int
			q := "SELECT count(*) FROM " + migrations.TableName + " WHERE version_id > 0"
			if err := db.QueryRowContext(t.Context(), q).Scan(&applied); err != nil || applied != len(files) {
				t.Fatalf("%d migrations recorded (%v); want %d, one per file", applied, err, len(files))
			}
		})
	}
}

func TestProviderDown(t *testing.T) {
	for _, d := range databases {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			db := openDB(t, d.dialect, d.dsn(t))
			if err := migrations.Up(t.Context(), db, d.dialect); err != nil {
				t.Fatal(err)
			}
			p, err := migrations.NewProvider(t.Context(), db, d.dialect)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.DownTo(t.Context(), 0); err != nil {
				t.Fatal(err)
			}
			if got := tables(t, d.dialect, db); got["mcp_sessions"] || got["mcp_handles"] || got["mcpsession_leases"] ||
				got["mcp_requeststate_keys"] || got["mcp_requeststate_used"] || got["mcp_tasks"] {
				t.Fatalf("tables after DownTo(0): %v; want none of the store's", got)
			}
			if err := migrations.Up(t.Context(), db, d.dialect); err != nil {
				t.Fatal(err)
			}
			if !tables(t, d.dialect, db)["mcp_sessions"] {
				t.Fatal("mcp_sessions missing after Up")
			}
		})
	}
}

// gooseCLI returns the goose binary the tests drive: $MCPSESSION_GOOSE
// (make test builds it at the module's goose version), or bin/goose.
func gooseCLI(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("MCPSESSION_GOOSE")
	if bin == "" {
		bin, _ = filepath.Abs("../bin/goose")
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv(testdb.RequireEnv) == "1" {
			t.Fatalf("no goose CLI at %s (make goose builds it)", bin)
		}
		t.Skipf("goose CLI tests skipped: no goose at %s (make goose builds it)", bin)
	}
	out, err := exec.CommandContext(t.Context(), bin, "-version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s -version: %v: %s", bin, err, out)
	}
	want := moduleVersion(t, "github.com/pressly/goose/v3")
	if !strings.Contains(string(out), want) {
		t.Fatalf("%s is %q; the module requires goose %s", bin, strings.TrimSpace(string(out)), want)
	}
	return bin
}

// moduleVersion asks the go command which version of path the module
// requires (test binaries carry no dependency list).
func moduleVersion(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "go", "list", "-m", "-f", "{{.Version}}", path).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", path, err)
	}
	return strings.TrimSpace(string(out))
}

// The files under migrations/ work with the goose CLI as they stand: up,
// down and up again, recorded in mcpsession_db_version, and interchangeable
// with migrations.Up.
func TestGooseCLI(t *testing.T) {
	bin := gooseCLI(t)
	for _, d := range databases {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			dsn := d.dsn(t)
			driver, dbstring := d.goose(dsn)
			dir, err := filepath.Abs(d.dialect.Name())
			if err != nil {
				t.Fatal(err)
			}
			goose := func(args ...string) string {
				t.Helper()
				cmd := exec.CommandContext(t.Context(), bin,
					append([]string{"-table", migrations.TableName, "-dir", dir, driver, dbstring}, args...)...)
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("goose %s: %v\n%s", strings.Join(args, " "), err, dialects.Redact(string(out)))
				}
				return string(out)
			}
			db := openDB(t, d.dialect, dsn)
			for round := range 2 {
				// A database from before handles, holding a session.
				goose("up-to", "1")
				if got := tables(t, d.dialect, db); !got["mcp_sessions"] || got["mcp_handles"] {
					t.Fatalf("round %d: tables after goose up-to 1: %v", round, got)
				}
				insertSession(t, d.dialect, db, "kept")
				// Upgraded in place: the session stays.
				goose("up")
				got := tables(t, d.dialect, db)
				if !got["mcp_sessions"] || !got["mcp_handles"] || !got[migrations.TableName] || got["goose_db_version"] {
					t.Fatalf("round %d: tables after goose up: %v", round, got)
				}
				wantSessions(t, db, 1)
				// What the CLI applied, Up sees as done.
				p, err := migrations.NewProvider(t.Context(), db, d.dialect)
				if err != nil {
					t.Fatal(err)
				}
				if pending, err := p.HasPending(context.Background()); err != nil || pending {
					t.Fatalf("round %d: migrations pending after goose up (%v)", round, err)
				}
				// The later migrations' Downs undo only themselves: the
				// sessions stay.
				goose("down-to", "1")
				if got := tables(t, d.dialect, db); !got["mcp_sessions"] || got["mcp_handles"] || got["mcpsession_leases"] || got["mcp_tasks"] {
					t.Fatalf("round %d: tables after goose down-to 1: %v", round, got)
				}
				wantSessions(t, db, 1)
				goose("down-to", "0")
				if got := tables(t, d.dialect, db); got["mcp_sessions"] || got["mcpsession_leases"] {
					t.Fatalf("round %d: tables after goose down-to 0: %v", round, got)
				}
			}
			// And what Up applied, the CLI sees as done.
			if err := migrations.Up(t.Context(), db, d.dialect); err != nil {
				t.Fatal(err)
			}
			if out := goose("status"); !strings.Contains(out, "00001_create_mcp_sessions.sql") ||
				!strings.Contains(out, "00002_create_mcp_handles.sql") || strings.Contains(out, "Pending") {
				t.Fatalf("goose status after migrations.Up:\n%s", out)
			}
		})
	}
}

// insertSession writes a session row by hand, as a store would have.
func insertSession(t *testing.T, d dialects.Dialect, db *sql.DB, id string) {
	t.Helper()
	q := `INSERT INTO mcp_sessions VALUES (?1, '{"kept":true}', 0, 0)`
	if d.Name() == "postgres" {
		q = `INSERT INTO mcp_sessions VALUES ($1, '{"kept":true}', now(), now())`
	}
	if _, err := db.ExecContext(t.Context(), q, id); err != nil {
		t.Fatal(err)
	}
}

func wantSessions(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	var got int
	if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM mcp_sessions WHERE metadata IS NOT NULL`).Scan(&got); err != nil || got != n {
		t.Fatalf("%d sessions (%v); want %d", got, err, n)
	}
}
