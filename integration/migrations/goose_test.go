package migrations_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/dialects"
	"github.com/mcpsession/mcpsession/integration/internal/pgtest"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/migrations"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// GooseEnv names the goose binary the tests run.
const GooseEnv = "MCPSESSION_GOOSE"

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestGooseCLIPostgres(t *testing.T) {
	t.Parallel()
	goose := gooseBinary(t)
	dsn := pgtest.DSN(t)
	testGooseCLI(t, goose, dialects.Postgres, "postgres", dsn, dsn)
}

func TestGooseCLISQLite(t *testing.T) {
	t.Parallel()
	goose := gooseBinary(t)
	dsn := testdb.SQLiteFile(t)
	testGooseCLI(t, goose, dialects.SQLite, "sqlite3", strings.TrimPrefix(dsn, "sqlite:"), dsn)
}

// testGooseCLI migrates up, then down one migration at a time, then up
// again, checking after each step the version goose recorded in
// mcpsession_db_version and whether mcp_sessions exists, and that a store
// works on the result.
func testGooseCLI(t *testing.T, goose string, d dialects.Dialect, driver, gooseDSN, storeDSN string) {
	ctx := t.Context()
	dir, latest := migrationsDir(t, d)
	db, err := d.Open(ctx, storeDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	run := func(cmd ...string) string {
		t.Helper()
		args := append([]string{"-table", migrations.TableName, "-dir", dir, driver, gooseDSN}, cmd...)
		out, err := exec.CommandContext(ctx, goose, args...).CombinedOutput()
		if pw := password(gooseDSN); pw != "" && strings.Contains(string(out), pw) {
			t.Errorf("goose %s printed the DSN's password", cmd[0])
		}
		if err != nil {
			t.Fatalf("goose %s: %v\n%s", strings.Join(cmd, " "), err, out)
		}
		return string(out)
	}

	run("up")
	wantVersion(t, db, d, latest)
	wantTable(t, db, d, "mcp_sessions", true)
	wantTable(t, db, d, "goose_db_version", false)
	useStore(t, storeDSN)
	if out := run("status"); !strings.Contains(out, "Applied") || strings.Contains(out, "Pending") {
		t.Errorf("goose status after up:\n%s", out)
	}

	for v := latest - 1; v >= 0; v-- {
		run("down")
		wantVersion(t, db, d, v)
	}
	wantTable(t, db, d, "mcp_sessions", false)
	wantTable(t, db, d, migrations.TableName, true)

	run("up")
	wantVersion(t, db, d, latest)
	wantTable(t, db, d, "mcp_sessions", true)
	// The store's own migrator agrees: nothing is pending.
	s, err := sqlstore.Open(ctx, storeDSN, sqlstore.WithAutoMigrate())
	if err != nil {
		t.Fatalf("WithAutoMigrate after goose up: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	useStore(t, storeDSN)
}

// gooseBinary returns the goose CLI named by GooseEnv.
func gooseBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv(GooseEnv)
	if path == "" {
		msg := fmt.Sprintf("goose CLI tests skipped: %s is not set (make test builds bin/goose and sets it)", GooseEnv)
		if os.Getenv(pgtest.RequireEnv) == "1" {
			t.Fatalf("%s; failing because %s=1", msg, pgtest.RequireEnv)
		}
		t.Skip(msg)
	}
	if _, err := exec.LookPath(path); err != nil {
		t.Fatalf("%s=%s: %v", GooseEnv, path, err)
	}
	return path
}

// migrationsDir writes the migrations the library embeds for d to a
// directory, for the CLI, and returns it with the latest version.
func migrationsDir(t *testing.T, d dialects.Dialect) (string, int64) {
	t.Helper()
	fsys, err := migrations.FS(d)
	if err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	dir := t.TempDir()
	var latest int64
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		prefix, _, _ := strings.Cut(name, "_")
		v, err := strconv.ParseInt(prefix, 10, 64)
		if err != nil {
			t.Fatalf("migration %s: no version prefix", name)
		}
		latest = max(latest, v)
	}
	if latest == 0 {
		t.Fatalf("no migrations for %s", d.Name())
	}
	return dir, latest
}

// wantVersion checks the version goose recorded, read back through the
// library's own provider, which reads mcpsession_db_version.
func wantVersion(t *testing.T, db *sql.DB, d dialects.Dialect, want int64) {
	t.Helper()
	p, err := migrations.NewProvider(t.Context(), db, d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.GetDBVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("version in %s = %d; want %d", migrations.TableName, got, want)
	}
}

func wantTable(t *testing.T, db *sql.DB, d dialects.Dialect, table string, exists bool) {
	t.Helper()
	q := `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`
	if d == dialects.Postgres {
		q = `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1`
	}
	var n int
	if err := db.QueryRowContext(t.Context(), q, table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if (n == 1) != exists {
		t.Fatalf("table %s exists: %v; want %v", table, n == 1, exists)
	}
}

// useStore opens a store without migrating and round-trips a session.
func useStore(t *testing.T, dsn string) {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	s, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id := mcpsession.NewID()
	if err := s.Create(ctx, id, map[string]any{"migrated": "by goose"}); err != nil {
		t.Fatalf("Create on the schema goose made: %v", err)
	}
	m, err := s.Get(ctx, id)
	if err != nil || m["migrated"] != "by goose" {
		t.Fatalf("Get = %v, %v", m, err)
	}
}

func password(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return ""
	}
	pw, _ := u.User.Password()
	return pw
}
