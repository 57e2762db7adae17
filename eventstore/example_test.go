package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/eventstore"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// One event store per replica, over the store every replica shares, given
// to the adapter with the replica's bus (mcpgo.New(store,
// mcpgo.WithStreams(b, events)), or gosdk's): a stream broken on one
// replica is then resumed on any other. Each session keeps its newest
// events only; a bad bound is refused before anything is made.
func Example() {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, sqlite.Dialect(), "sqlite::memory:", sqlstore.WithAutoMigrate())
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	events, err := eventstore.New(store, eventstore.WithMaxEvents(500))
	fmt.Println(events != nil, err)

	_, err = eventstore.New(store, eventstore.WithMaxEvents(0))
	fmt.Println(errors.Is(err, mcpsession.ErrInvalidOption))
	// Output:
	// true <nil>
	// true
}
