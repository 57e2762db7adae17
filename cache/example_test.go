package cache_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/cache"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// A replica's read cache in front of its store. The cache is a store:
// hand it to the adapter (mcpgo.New, gosdk.New) in the store's place. Its invalidations travel on a Bus over the same
// database, which every replica runs.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, err := sqlstore.Open(ctx, sqlite.Dialect(), "sqlite::memory:", sqlstore.WithAutoMigrate())
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	b, err := bus.New(store)
	if err != nil {
		log.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- b.Run(ctx) }()
	defer func() { cancel(); <-ran }()

	sessions, err := cache.New(store, b)
	if err != nil {
		log.Fatal(err)
	}
	defer sessions.Close()

	id := mcpsession.NewID()
	if err := sessions.Create(ctx, id, map[string]any{"logLevel": "info"}); err != nil {
		log.Fatal(err)
	}
	md, _ := sessions.Get(ctx, id) // read from the database, and kept
	md["logLevel"] = "scribbled"   // the map is the caller's: the cache keeps its own copy
	md, _ = sessions.Get(ctx, id)
	fmt.Println(md["logLevel"])

	// A write through the cache drops the entry here at once, and on every
	// other replica when its key arrives on the bus.
	_ = sessions.Update(ctx, id, map[string]any{"logLevel": "debug"})
	md, _ = sessions.Get(ctx, id)
	fmt.Println(md["logLevel"])

	_ = sessions.Delete(ctx, id)
	_, err = sessions.Get(ctx, id)
	fmt.Println(errors.Is(err, mcpsession.ErrNotFound))
	// Output:
	// info
	// debug
	// true
}
