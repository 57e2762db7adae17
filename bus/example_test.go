package bus_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// Two replicas of a service, each with its own store and Bus over one
// database (a SQLite file here, where the buses poll; on Postgres a NOTIFY
// wakes them at once): what one publishes, the other's subscribers get.
func Example() {
	dir, err := os.MkdirTemp("", "bus-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dsn := "sqlite:" + filepath.Join(dir, "shared.db")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	replica := func() (*sqlstore.Store, *bus.Bus, <-chan error) {
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
		<-b.Ready() // delivers what is published from now on
		return store, b, done
	}
	storeA, a, doneA := replica()
	storeB, b, doneB := replica()

	got := make(chan string, 1)
	stop := b.Subscribe("replica/b", func(m bus.Message) { got <- string(m.Payload) })
	defer stop()

	if _, err := a.Publish(ctx, "replica/b", []byte("the answer to request 7")); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-got)

	cancel() // Run returns; then the stores can close
	<-doneA
	<-doneB
	_ = storeA.Close()
	_ = storeB.Close()
	// Output:
	// the answer to request 7
}
