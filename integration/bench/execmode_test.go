package bench

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mcpsession/mcpsession/dialects/postgres"
	"github.com/mcpsession/mcpsession/integration/internal/pgtest"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// execPath is one way from the store to the server, with the pgx query
// exec mode the DSN selects on it.
type execPath struct {
	via  string // direct, pgbouncer-session, pgbouncer-transaction
	mode string // default_query_exec_mode
}

// execPaths are what BenchmarkExecMode compares: the default mode, which
// prepares each statement once per connection (cache_statement), against
// the two that prepare nothing on the server (exec: one round trip with an
// unnamed statement; simple_protocol: arguments quoted into the text),
// straight to the server, and through PgBouncer: in session mode, where
// prepared statements still work, and in transaction mode, where only the
// two unprepared modes do.
var execPaths = []execPath{
	{"direct", "cache_statement"},
	{"direct", "exec"},
	{"direct", "simple_protocol"},
	{"pgbouncer-session", "cache_statement"},
	{"pgbouncer-transaction", "exec"},
	{"pgbouncer-transaction", "simple_protocol"},
}

// BenchmarkExecMode measures what PgBouncer in transaction mode costs the
// store: Get and Update of 500 B sessions on each path of execPaths, one
// goroutine and 16, the store beside the raw pgx pool over the same DSN.
// Every path reaches one server (a node of the production-Postgres image,
// with its PgBouncers, on a private network), each with a database of its
// own. PgBouncer in transaction mode holds as many server connections per
// database as the store's pool, in session mode twice as many (the store's
// and the raw pool's connections each hold one).
func BenchmarkExecMode(b *testing.B) {
	pgtest.RequireHAImage(b)
	nw := pgtest.NewNetwork(b)
	pg := pgtest.StartPrimary(b, nw, "pg", "fsync=off")
	pool := pgxPoolSize()
	// In session mode a client connection holds its server connection
	// while it is open, idle or not: the store's and the raw pool's need
	// one each. In transaction mode they share the store's worth.
	bouncers := map[string]*pgtest.Bouncer{
		"pgbouncer-session":     pgtest.StartBouncer(b, nw, "bouncer-session", pg, "session", 2*pool),
		"pgbouncer-transaction": pgtest.StartBouncer(b, nw, "bouncer-transaction", pg, "transaction", pool),
	}
	type target struct {
		path  execPath
		store *sqlstore.Store
		raw   *pgRaw
	}
	const prefix = "x-"
	var ts []target
	for _, p := range execPaths {
		dbName := pg.CreateDatabase(b)
		params := "default_query_exec_mode=" + p.mode
		dsn := pg.DatabaseDSN(dbName, params)
		if bb, ok := bouncers[p.via]; ok {
			dsn = bb.DSN(dbName, params)
		}
		s := openStore(b, dsn, sqlstore.WithAutoMigrate(), sqlstore.WithIdleTimeout(idleTimeout), sqlstore.WithMaxLifetime(maxLifetime))
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			b.Fatal(err)
		}
		cfg.MaxConns = int32(pool)
		rawPool, err := pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(rawPool.Close)
		(&database{dialect: postgres.Dialect(), store: s}).seed(b, prefix, 0, seeded, jsonText(b, metadata(sizeSmall)), 0)
		raw := newPGRaw(rawPool, s)
		raw.textDocs = true
		ts = append(ts, target{p, s, raw})
	}
	ids := idsFor(prefix, seeded)
	var patches [64]map[string]any
	for i := range patches {
		patches[i] = patch(i)
	}
	ops := []struct {
		name string
		call func(s sessions, ctx context.Context, i int) error
	}{
		{"Get", func(s sessions, ctx context.Context, i int) error { _, err := s.Get(ctx, ids[i%seeded]); return err }},
		{"Update", func(s sessions, ctx context.Context, i int) error {
			return s.Update(ctx, ids[i%seeded], patches[i%len(patches)])
		}},
	}
	for _, op := range ops {
		for _, par := range parallelisms() {
			for _, t := range ts {
				for _, impl := range []struct {
					name string
					s    sessions
				}{{"store", t.store}, {"raw", t.raw}} {
					b.Run(execModeName(op.name, t.path, impl.name, par), func(b *testing.B) {
						run(b, par, func(ctx context.Context, i int) error { return op.call(impl.s, ctx, i) })
					})
				}
			}
		}
	}
}

// execModeName is a sub-benchmark's name, grouped by benchreport.
func execModeName(op string, p execPath, impl string, par int) string {
	return fmt.Sprintf("op=%s/via=%s/mode=%s/impl=%s/par=%d", op, p.via, p.mode, impl, par)
}

// pgxPoolSize is the pool size postgres.Dialect() gives the store; the raw
// pool and PgBouncer's pools get as many.
func pgxPoolSize() int {
	db, err := postgres.Dialect().Driver().Open(context.Background(), "postgres://localhost/x")
	if err != nil {
		return 4
	}
	defer db.Close()
	return db.Stats().MaxOpenConnections
}
