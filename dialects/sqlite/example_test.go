package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// A store in a SQLite file, migrated when it is opened; a second store on
// the same file, as another process would open it, sees what the first
// wrote.
func Example() {
	dir, err := os.MkdirTemp("", "sqlite-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dsn := "sqlite:" + filepath.Join(dir, "sessions.db")

	ctx := context.Background()
	store, err := sqlstore.Open(ctx, sqlite.Dialect(), dsn, sqlstore.WithAutoMigrate())
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	id := mcpsession.NewID()
	if err := store.Create(ctx, id, map[string]any{"user": "alice"}); err != nil {
		log.Fatal(err)
	}

	other, err := sqlstore.Open(ctx, sqlite.Dialect(), dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer other.Close()
	md, err := other.Get(ctx, id)
	fmt.Println(md["user"], err)
	// Output:
	// alice <nil>
}

// sqlite::memory: is one in-memory database for the store, shared by all
// of its connections and gone when it is closed: for tests and demos.
func Example_memory() {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, sqlite.Dialect(), "sqlite::memory:", sqlstore.WithAutoMigrate())
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	fmt.Println(store.Create(ctx, mcpsession.NewID(), nil))
	// Output:
	// <nil>
}
