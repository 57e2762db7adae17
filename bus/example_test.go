package bus_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/cache"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// Each replica of a service runs one Bus over the database it shares with
// the others, and gives it to what keeps the replicas in step: here a read
// cache, whose entries a write on another replica drops through the bus
// (a SQLite file here, where the buses poll; on Postgres a NOTIFY wakes
// them at once).
func Example() {
	dir, err := os.MkdirTemp("", "bus-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dsn := "sqlite:" + filepath.Join(dir, "shared.db")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var running []<-chan error
	replica := func() (*sqlstore.Store, cache.Store) {
		store, err := sqlstore.Open(ctx, sqlite.Dialect(), dsn, sqlstore.WithAutoMigrate())
		if err != nil {
			log.Fatal(err)
		}
		b, err := bus.New(store, bus.WithPollInterval(10*time.Millisecond))
		if err != nil {
			log.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- b.Run(ctx) }()
		running = append(running, done)
		<-b.Ready() // serve once the bus delivers what the others publish
		c, err := cache.New(store, b, cache.WithMaxStaleness(time.Hour))
		if err != nil {
			log.Fatal(err)
		}
		return store, c
	}
	storeA, a := replica()
	storeB, b := replica()

	id := mcpsession.NewID()
	if err := a.Create(ctx, id, map[string]any{"step": 1}); err != nil {
		log.Fatal(err)
	}
	md, err := b.Get(ctx, id) // now in b's cache, for up to an hour
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("b reads step", md["step"])
	if err := a.Update(ctx, id, map[string]any{"step": 2}); err != nil {
		log.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); md["step"] != float64(2) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond) // until the bus brings a's invalidation
		if md, err = b.Get(ctx, id); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("b reads step", md["step"])

	_, _ = a.Close(), b.Close()
	cancel() // Run returns; then the stores can close
	for _, done := range running {
		<-done
	}
	_, _ = storeA.Close(), storeB.Close()
	// Output:
	// b reads step 1
	// b reads step 2
}
