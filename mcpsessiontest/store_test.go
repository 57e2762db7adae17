package mcpsessiontest_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/mcpsessiontest"
	"github.com/mcpsession/mcpsession/sqlstore"
	"github.com/moby/moby/client"
)

// childEnv makes the test binary a child of TestSkipsWithoutPostgres.
const childEnv = "MCPSESSIONTEST_CHILD"

// isolated checks that two tests' stores never see each other's sessions:
// each creates the same id, and each store is closed once its test ends.
func isolated(t *testing.T, open func(t *testing.T) *sqlstore.Store) {
	var stores []*sqlstore.Store
	for _, name := range []string{"a", "b"} {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			if err := s.Create(t.Context(), "same-id", map[string]any{"by": name}); err != nil {
				t.Fatalf("Create in a store of its own: %v", err)
			}
			md, err := s.Get(t.Context(), "same-id")
			if err != nil || md["by"] != name {
				t.Fatalf("Get = %v, %v; want this test's own session", md, err)
			}
			stores = append(stores, s)
		})
	}
	for _, s := range stores {
		if _, err := s.Get(context.Background(), "same-id"); err == nil || errors.Is(err, mcpsession.ErrNotFound) {
			t.Errorf("Get after the test ended = %v; want the error of a closed store", err)
		}
	}
}

func TestSQLite(t *testing.T) {
	t.Parallel()
	isolated(t, func(t *testing.T) *sqlstore.Store { return mcpsessiontest.SQLite(t) })
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	isolated(t, func(t *testing.T) *sqlstore.Store { return mcpsessiontest.Postgres(t) })
}

// Options come after the migration: an idle timeout given is the store's.
func TestSQLiteOptions(t *testing.T) {
	t.Parallel()
	s := mcpsessiontest.SQLite(t, sqlstore.WithIdleTimeout(42e9))
	if got := s.IdleTimeout(); got != 42e9 {
		t.Fatalf("IdleTimeout() = %v; want 42s", got)
	}
}

// Open on a server the test names: the store lives in a schema of the
// test's own, and the schema is dropped when the test ends.
func TestOpenPostgresDSN(t *testing.T) {
	t.Parallel()
	admin := mcpsessiontest.PostgresAdminDSN(t)
	var schema string
	t.Run("store", func(t *testing.T) {
		s := mcpsessiontest.Open(t, admin)
		if err := s.DB().QueryRowContext(t.Context(), "SELECT current_schema()").Scan(&schema); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(schema, "t_") {
			t.Fatalf("current_schema() = %q; want a schema of the test's own", schema)
		}
		if err := s.Create(t.Context(), "x", nil); err != nil {
			t.Fatal(err)
		}
	})
	conn, err := pgx.Connect(t.Context(), admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("schema %s still exists after its test ended", schema)
	}
}

// PostgresDSN is an empty schema: nothing is migrated in it until the
// caller opens a store.
func TestPostgresDSNIsEmpty(t *testing.T) {
	t.Parallel()
	dsn := mcpsessiontest.PostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil || u.Query().Get("search_path") == "" {
		t.Fatalf("PostgresDSN gives no search_path (%v)", err)
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d tables in a fresh schema; want none", n)
	}
}

func TestOpenSQLiteDSN(t *testing.T) {
	t.Parallel()
	dsn := "sqlite:" + t.TempDir() + "/named.db"
	s := mcpsessiontest.Open(t, dsn)
	if err := s.Create(t.Context(), "x", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(strings.TrimPrefix(dsn, "sqlite:")); err != nil {
		t.Fatalf("the store is not on the file named: %v", err)
	}
}

// TestChildPostgres is what the children of TestSkipsWithoutPostgres and
// TestContainerWithoutDSN run: childEnv says which.
func TestChildPostgres(t *testing.T) {
	switch os.Getenv(childEnv) {
	case "":
		t.Skip("run by TestSkipsWithoutPostgres and TestContainerWithoutDSN")
	case "container":
		s := mcpsessiontest.Postgres(t)
		if err := s.Create(t.Context(), "x", nil); err != nil {
			t.Fatal(err)
		}
		t.Log("created a session on the shared container")
	default:
		mcpsessiontest.Postgres(t)
		t.Fatal("Postgres returned without a server")
	}
}

// runChild runs TestChildPostgres in a new test binary with env added, as
// a test binary run without MCPSESSION_TEST_POSTGRES_DSN.
func runChild(t *testing.T, env ...string) (string, error) {
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestChildPostgres$", "-test.v")
	cmd.Env = append(os.Environ(), append([]string{testdb.PostgresEnv + "="}, env...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Without Docker and without a DSN, a Postgres test skips with one line
// saying why, and Main prints that line once; under
// MCPSESSION_REQUIRE_POSTGRES=1 it fails instead.
func TestSkipsWithoutPostgres(t *testing.T) {
	t.Parallel()
	run := func(require string) (string, error) {
		return runChild(t, childEnv+"=skip", "DOCKER_HOST=unix://"+t.TempDir()+"/no-engine.sock",
			testdb.RequireEnv+"="+require)
	}

	out, err := run("")
	if err != nil {
		t.Fatalf("without Docker the test failed instead of skipping: %v\n%s", err, out)
	}
	const line = "Postgres tests skipped: mcpsessiontest: no Docker engine"
	if !strings.Contains(out, "--- SKIP: TestChildPostgres") || !strings.Contains(out, line) {
		t.Fatalf("want a skip saying %q; got:\n%s", line, out)
	}
	if n := strings.Count(out, "\n"+line); n != 1 {
		t.Errorf("Main printed the reason %d times; want once:\n%s", n, out)
	}

	out, err = run("1")
	if err == nil || !strings.Contains(out, "MCPSESSION_REQUIRE_POSTGRES=1 makes that a failure") {
		t.Fatalf("under %s=1: %v; want a failure saying why:\n%s", testdb.RequireEnv, err, out)
	}
}

// Without a DSN and with Docker, the first test that asks starts the test
// binary's container, and Main terminates it: the path a user's tests take
// when nothing names a server (make test names one for every module).
func TestContainerWithoutDSN(t *testing.T) {
	t.Parallel()
	rt, err := testdb.Containers()
	if err == nil {
		_, err = rt.Image()
	}
	if err != nil {
		testdb.SkipOrFail(t, fmt.Sprintf("Postgres tests skipped: %v", err))
	}
	runID := "child-" + strings.ToLower(rand.Text()[:12])
	out, err := runChild(t, childEnv+"=container", "MCPSESSION_TEST_RUN_ID"+"="+runID)
	if err != nil || !strings.Contains(out, "created a session on the shared container") {
		t.Fatalf("a test without %s: %v\n%s", testdb.PostgresEnv, err, out)
	}
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Skipf("cannot ask the engine what is left: %v", err)
	}
	defer cli.Close()
	left, err := cli.ContainerList(t.Context(), client.ContainerListOptions{All: true,
		Filters: client.Filters{}.Add("label", "dev.mcpsession.test-run"+"="+runID)})
	if err != nil {
		t.Skipf("cannot ask the engine what is left: %v", err)
	}
	if len(left.Items) != 0 {
		t.Fatalf("%d containers of the child's run left after its Main returned", len(left.Items))
	}
}
