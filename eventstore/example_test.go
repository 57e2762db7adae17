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

// A session's stream written on one replica and replayed on another after
// a dropped connection: After(position) returns what came after, in order.
// The adapters (mcpgo.EventStore, gosdk.EventStore) do this for the SDKs.
func Example() {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, sqlite.Dialect(), "sqlite::memory:", sqlstore.WithAutoMigrate())
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	events, err := eventstore.New(store)
	if err != nil {
		log.Fatal(err)
	}

	session := mcpsession.NewID()
	if err := store.Create(ctx, session, nil); err != nil { // streams belong to a live session
		log.Fatal(err)
	}
	for _, msg := range []string{"one", "two", "three"} {
		if _, err := events.Append(ctx, session, "get", []byte(msg)); err != nil {
			log.Fatal(err)
		}
	}

	// The client saw position 0 before its stream broke.
	missed, err := events.After(ctx, session, "get", 0)
	if err != nil {
		log.Fatal(err)
	}
	for _, ev := range missed {
		fmt.Println(ev.Pos, string(ev.Data))
	}

	// A deleted session has no streams left.
	_ = store.Delete(ctx, session)
	_, err = events.Append(ctx, session, "get", []byte("four"))
	fmt.Println(errors.Is(err, mcpsession.ErrNotFound))
	// Output:
	// 1 two
	// 2 three
	// true
}
