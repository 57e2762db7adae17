package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/migrations"
	"github.com/mcpsession/mcpsession/sqlstore"
	_ "modernc.org/sqlite" // registers the database/sql driver "sqlite"
)

func ExampleOpen() {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, sqlite.Dialect(), "sqlite::memory:", sqlstore.WithAutoMigrate())
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	id := mcpsession.NewID()
	err = store.Create(ctx, id, map[string]any{
		"protocolVersion": "2025-06-18",
		"clientInfo":      map[string]any{"name": "inspector", "version": "0.14.0"},
	})
	if err != nil {
		log.Fatal(err)
	}
	md, err := store.Get(ctx, id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(md["protocolVersion"], md["clientInfo"].(map[string]any)["name"])

	err = store.Create(ctx, id, nil)
	fmt.Println(errors.Is(err, mcpsession.ErrExists))
	// Output:
	// 2025-06-18 inspector
	// true
}

func ExampleStore_Update() {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, sqlite.Dialect(), "sqlite::memory:", sqlstore.WithAutoMigrate())
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	id := mcpsession.NewID()
	_ = store.Create(ctx, id, map[string]any{
		"logLevel": "info",
		"prefs":    map[string]any{"theme": "dark", "lang": "en"},
	})
	// A shallow merge: prefs is replaced whole, logLevel stays, null is kept.
	err = store.Update(ctx, id, map[string]any{"prefs": map[string]any{"lang": "fr"}, "cursor": nil})
	if err != nil {
		log.Fatal(err)
	}
	md, _ := store.Get(ctx, id)
	out, _ := json.Marshal(md)
	fmt.Println(string(out))

	err = store.Update(ctx, mcpsession.NewID(), map[string]any{"a": 1})
	fmt.Println(errors.Is(err, mcpsession.ErrNotFound))
	// Output:
	// {"cursor":null,"logLevel":"info","prefs":{"lang":"fr"}}
	// true
}

func ExampleStore_Modify() {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, sqlite.Dialect(), "sqlite::memory:", sqlstore.WithAutoMigrate())
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	id := mcpsession.NewID()
	_ = store.Create(ctx, id, map[string]any{"counter": 41, "scratch": "drop me"})
	// Read-modify-write under the session's lock: increments are never lost,
	// and keys can be removed.
	err = store.Modify(ctx, id, func(md map[string]any) (map[string]any, error) {
		n, _ := md["counter"].(float64)
		md["counter"] = n + 1
		delete(md, "scratch")
		return md, nil
	})
	if err != nil {
		log.Fatal(err)
	}
	md, _ := store.Get(ctx, id)
	fmt.Println(md)
	// Output:
	// map[counter:42]
}

func ExampleStore_Cleanup() {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, sqlite.Dialect(), "sqlite::memory:", sqlstore.WithAutoMigrate(),
		sqlstore.WithIdleTimeout(50*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	id := mcpsession.NewID()
	_ = store.Create(ctx, id, nil)
	time.Sleep(100 * time.Millisecond) // let it go idle: the idle timeout is real time

	_, err = store.Get(ctx, id)
	fmt.Println(errors.Is(err, mcpsession.ErrNotFound)) // expired: gone for reads at once
	removed, err := store.Cleanup(ctx, store.IdleTimeout())
	fmt.Println(removed, err) // and its row is deleted
	// Output:
	// true
	// 1 <nil>
}

func ExampleNew() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sqlstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// A pool opened and owned by the application, through the driver
	// modernc.org/sqlite registers, with the pragmas Open would set.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "sessions.db")+
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := migrations.Up(ctx, db, sqlite.Dialect()); err != nil {
		log.Fatal(err)
	}
	store, err := sqlstore.New(db, sqlite.Dialect(), sqlstore.WithMaxMetadataBytes(64<<10))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close() // leaves db open: the application closes it
	err = store.Create(ctx, mcpsession.NewID(), map[string]any{"blob": strings.Repeat("x", 100<<10)})
	fmt.Println(errors.Is(err, mcpsession.ErrTooLarge))
	// Output:
	// true
}
