package pgbouncer_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/dialects/postgres"
	"github.com/mcpsession/mcpsession/integration/internal/pgtest"
	"github.com/mcpsession/mcpsession/internal/janitortest"
	"github.com/mcpsession/mcpsession/mcpsessiontest"
	"github.com/mcpsession/mcpsession/sqlstore"
	"github.com/mcpsession/mcpsession/storetest"
)

// parallel is how many of the kit's subtests run at once unless -parallel
// says otherwise: 16 goroutines' stores share the pooler's few server
// connections.
const parallel = 16

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		if err := flag.Set("test.parallel", fmt.Sprint(parallel)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	mcpsessiontest.Main(m)
}

// cluster is one Postgres server with two PgBouncers in front of it, both
// in transaction mode, on a private network: the kit's bouncer lets each
// database have 2 server connections, fewer than a store's pool holds, so
// that a store's connections share them; the janitors' bouncer lets each
// have 3, as many as two sweeps and the transaction that holds the first
// one up take at once.
type cluster struct {
	pg            *pgtest.PGNode
	kit, sweepers *pgtest.Bouncer
	storeConns    int // the most connections a store's pool opens
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	pgtest.RequireHAImage(t)
	nw := pgtest.NewNetwork(t)
	pg := pgtest.StartPrimary(t, nw, "pg", "fsync=off")
	db, err := postgres.Dialect().Driver().Open(t.Context(), pg.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return &cluster{
		storeConns: db.Stats().MaxOpenConnections,
		pg:         pg,
		kit:        pgtest.StartBouncer(t, nw, "bouncer", pg, "transaction", 2),
		sweepers:   pgtest.StartBouncer(t, nw, "bouncer-sweepers", pg, "transaction", 3),
	}
}

// modes are the pgx query exec modes that prepare nothing on the server,
// as a DSN selects them: what a user behind PgBouncer in transaction mode
// sets.
var modes = []string{"exec", "simple_protocol"}

// open opens a store through b on a new database of its own (PgBouncer
// pools by database and user, and passes no search_path, so a database
// is how tests are kept apart), migrating it through the pooler.
func (c *cluster) open(t *testing.T, b *pgtest.Bouncer, mode string, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	return c.openDSN(t, b.DSN(c.pg.CreateDatabase(t), "default_query_exec_mode="+mode), opts...)
}

func (c *cluster) openDSN(t *testing.T, dsn string, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), postgres.Dialect(), dsn, append([]sqlstore.Option{sqlstore.WithAutoMigrate()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestTransactionPooling runs the whole conformance kit, the two-sweeper
// rule and several replicas migrating one database at once through
// PgBouncer in transaction mode, 16 subtests at once, for each DSN setting
// that prepares nothing on the server; then the kit's expiry rules.
func TestTransactionPooling(t *testing.T) {
	c := newCluster(t)
	start := time.Now()
	for _, mode := range modes {
		t.Run("mode="+mode, func(t *testing.T) {
			t.Run("Parallel", func(t *testing.T) {
				t.Run("Conformance", func(t *testing.T) {
					t.Parallel()
					storetest.Run(t, func(t *testing.T) mcpsession.Store { return c.open(t, c.kit, mode) })
				})
				t.Run("TwoJanitors", func(t *testing.T) {
					t.Parallel()
					janitortest.TwoJanitors(t, c.sweepers.DSN(c.pg.CreateDatabase(t), "default_query_exec_mode="+mode))
				})
				t.Run("ConcurrentMigrations", func(t *testing.T) {
					t.Parallel()
					testConcurrentMigrations(t, c, mode)
				})
			})
			// The expiry rules wait for real time to pass, a few hundred
			// milliseconds at a time, and expect each call to take a small
			// part of that: they run once the 16 at once are done.
			t.Run("Expiry", func(t *testing.T) {
				storetest.RunExpiry(t, func(t *testing.T, idle, lifetime time.Duration) mcpsession.Store {
					var opts []sqlstore.Option
					if idle > 0 {
						opts = append(opts, sqlstore.WithIdleTimeout(idle))
					}
					if lifetime > 0 {
						opts = append(opts, sqlstore.WithMaxLifetime(lifetime))
					}
					return c.open(t, c.kit, mode, opts...)
				})
			})
		})
	}
	if t.Failed() {
		return
	}
	pgtest.Report(t, "pgbouncer-transaction: modes=%s parallel=%s store_conns=%d server_conns_per_db=2 (janitors' 3) kit=pass expiry=pass two_janitors=pass concurrent_migrations=pass took=%.1fs",
		strings.Join(modes, ","), flag.Lookup("test.parallel").Value, c.storeConns, time.Since(start).Seconds())
}

// Replicas starting at once on a new database all migrate it through the
// pooler (goose's table lock holds in transaction mode), and each applies
// nothing twice.
func testConcurrentMigrations(t *testing.T, c *cluster, mode string) {
	dsn := c.kit.DSN(c.pg.CreateDatabase(t), "default_query_exec_mode="+mode)
	const replicas = 4
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() {
			s, err := sqlstore.Open(t.Context(), postgres.Dialect(), dsn, sqlstore.WithAutoMigrate())
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	s := c.openDSN(t, dsn)
	var applied, dupes int
	err := s.DB().QueryRowContext(t.Context(),
		`SELECT count(*), count(*) - count(DISTINCT version_id) FROM mcpsession_db_version WHERE version_id > 0`).Scan(&applied, &dupes)
	if err != nil || applied < 2 || dupes != 0 {
		t.Fatalf("versions recorded: %d, %d twice (%v); want each migration once", applied, dupes, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.Create(ctx, mcpsession.NewID(), nil); err != nil {
		t.Fatal(err)
	}
}
