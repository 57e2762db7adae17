package mcpsessiontest_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession/dialects/postgres"
	"github.com/mcpsession/mcpsession/mcpsessiontest"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// A test of a service gets a store of its own on a SQLite file: migrated,
// and closed and removed when the test ends. Here t stands for the
// *testing.T your test is given (an Example has none).
func ExampleSQLite() {
	t := newExampleT()
	defer t.finish()

	store := mcpsessiontest.SQLite(t, sqlstore.WithIdleTimeout(30*time.Minute))
	ctx := context.Background()
	if err := store.Create(ctx, "session-1", map[string]any{"user": "alice"}); err != nil {
		t.Fatal(err)
	}
	md, err := store.Get(ctx, "session-1")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(md["user"])
	// Output: alice
}

// Open takes a DSN you name. On a Postgres server each test gets a schema
// of its own in it; a SQLite DSN, here an in-memory database, is used as
// it is.
func ExampleOpen() {
	t := newExampleT()
	defer t.finish()

	store := mcpsessiontest.Open(t, "sqlite::memory:")
	ctx := context.Background()
	if err := store.Create(ctx, "session-1", nil); err != nil {
		t.Fatal(err)
	}
	err := store.Create(ctx, "session-1", nil)
	fmt.Println(err)
	// Output: mcpsession: session already exists
}

// A test on Postgres: a container for the test binary, or the server of
// MCPSESSION_TEST_POSTGRES_DSN, and a schema of the test's own in it. The
// test skips with one line where there is no Docker and no DSN. Its
// package's TestMain calls Main, which terminates the container.
func ExamplePostgres() {
	// func TestMain(m *testing.M) { mcpsessiontest.Main(m) }
	//
	// func TestSessionsOnPostgres(t *testing.T) {
	var t testing.TB = newExampleT()
	store := mcpsessiontest.Postgres(t)
	if err := store.Create(context.Background(), "session-1", nil); err != nil {
		t.Fatal(err)
	}
	// }
}

// Code that opens its own store from a DSN, as a service's main does, gets
// the DSN of a fresh, empty schema.
func ExamplePostgresDSN() {
	// func TestServiceStarts(t *testing.T) {
	var t testing.TB = newExampleT()
	dsn := mcpsessiontest.PostgresDSN(t)
	store, err := sqlstore.Open(context.Background(), postgres.Dialect(), dsn, sqlstore.WithAutoMigrate())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	// }
}

// exampleT stands in for the *testing.T a test is given, which an Example
// does not have: it runs cleanups at finish and panics where a test would
// fail or skip.
type exampleT struct {
	testing.TB // nil: every method the kit calls is below
	cleanups   []func()
}

func newExampleT() *exampleT { return &exampleT{} }

func (t *exampleT) Helper()                      {}
func (t *exampleT) Name() string                 { return "Example" }
func (t *exampleT) Cleanup(f func())             { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Fatal(args ...any)            { panic(fmt.Sprint(args...)) }
func (t *exampleT) Error(args ...any)            { panic(fmt.Sprint(args...)) }
func (t *exampleT) Skip(args ...any)             { panic(fmt.Sprint(args...)) }
func (t *exampleT) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }
func (t *exampleT) Errorf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }
func (t *exampleT) Skipf(f string, args ...any)  { panic(fmt.Sprintf(f, args...)) }

func (t *exampleT) TempDir() string {
	dir, err := os.MkdirTemp("", "mcpsessiontest-example-")
	if err != nil {
		panic(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func (t *exampleT) finish() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}
