package tasks_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/janitor"
	"github.com/mcpsession/mcpsession/sqlstore"
	"github.com/mcpsession/mcpsession/tasks"
)

// A replica's task store, over the store and bus every replica shares,
// swept by the replica's janitor after its sessions.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, err := sqlstore.Open(ctx, sqlite.Dialect(), "sqlite::memory:",
		sqlstore.WithAutoMigrate(), sqlstore.WithIdleTimeout(30*time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	b, err := bus.New(store)
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	defer func() { cancel(); <-done }()

	ts, err := tasks.New(store, b, tasks.WithReplica("replica-a"))
	if err != nil {
		log.Fatal(err)
	}
	j, err := janitor.New(store, janitor.WithSweeper(ts.Sweep))
	if err != nil {
		log.Fatal(err)
	}
	removed, err := j.Sweep(ctx) // sessions, handles, then tasks
	fmt.Println(removed, err)
	// Output:
	// 0 <nil>
}
