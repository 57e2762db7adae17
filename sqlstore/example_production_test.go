package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// A store behind a primary that may fail over: the idempotent calls retry
// while the database is unavailable, never past the caller's deadline;
// what is left to the caller is told by the sentinels.
func ExampleWithRetry() {
	ctx := context.Background()
	// On Postgres, e.g.:
	// postgres://app:secret@db1,db2/app?target_session_attrs=read-write&connect_timeout=1
	store, err := sqlstore.Open(ctx, sqlite.Dialect(), "sqlite::memory:", sqlstore.WithAutoMigrate(),
		sqlstore.WithRetry(5, 500*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = store.Get(callCtx, mcpsession.NewID())
	switch {
	case errors.Is(err, mcpsession.ErrNotFound):
		fmt.Println("no such session: answer 404")
	case errors.Is(err, mcpsession.ErrUnavailable), errors.Is(err, mcpsession.ErrReadOnly):
		fmt.Println("database away even after the retries: answer 503")
	case err != nil:
		log.Fatal(err)
	}
	// Output: no such session: answer 404
}

// A store that only reads, for a hot standby beside the primary: Open
// accepts a server that refuses writes, and the store refuses them itself.
func ExampleWithReadOnly() {
	ctx := context.Background()
	// On Postgres, e.g. the standby's own address:
	// postgres://app:secret@db2/app
	store, err := sqlstore.Open(ctx, sqlite.Dialect(), "sqlite::memory:", sqlstore.WithReadOnly())
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	err = store.Create(ctx, mcpsession.NewID(), nil)
	fmt.Println(errors.Is(err, mcpsession.ErrReadOnly))
	// Output: true
}
