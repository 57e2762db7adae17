package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/dialects"
	"github.com/mcpsession/mcpsession/dialects/postgres"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// A service's store on the Postgres its environment names, migrated at
// start (replicas starting together take turns).
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, err := sqlstore.Open(ctx, postgres.Dialect(), os.Getenv("DATABASE_URL"),
		sqlstore.WithAutoMigrate(),
		sqlstore.WithIdleTimeout(30*time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	id := mcpsession.NewID()
	if err := store.Create(ctx, id, map[string]any{"protocolVersion": "2025-11-25"}); err != nil {
		log.Fatal(err)
	}
}

// A DSN of another form is refused before anything is dialled, naming the
// forms the dialect takes.
func Example_otherDSN() {
	_, err := sqlstore.Open(context.Background(), postgres.Dialect(), "sqlite:sessions.db")
	fmt.Println(errors.Is(err, dialects.ErrUnsupportedDSN))
	fmt.Println(err)
	// Output:
	// true
	// sqlstore: open: dialects: unsupported DSN "sqlite:sessions.db" (the postgres dialect takes postgres://…, postgresql://… or key=value DSNs)
}
