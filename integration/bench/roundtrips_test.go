package bench

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/mcpsession/mcpsession/dialects/postgres"
	"github.com/mcpsession/mcpsession/mcpsessiontest"
	"github.com/mcpsession/mcpsession/sqlstore"
	"github.com/redis/go-redis/v9"
)

// countingConn counts the writes on a client's socket. Each driver here
// sends a request in one write and then waits for the answer, so writes
// are round trips.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

func countingDial(writes *atomic.Int64) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{Conn: c, writes: writes}, nil
	}
}

// BenchmarkRoundTrips counts the round trips each operation makes to its
// server (round-trips/op), for the store on Postgres, the raw baseline and
// the peers, on 500 B metadata. Time per op is not the point here: the
// other benchmarks time the same calls without the counting.
func BenchmarkRoundTrips(b *testing.B) {
	var writes atomic.Int64
	type impl struct {
		dialect, impl string
		s             sessions
		be            backend
	}
	var impls []impl
	if postgresAvailable(b) {
		dsn := mcpsessiontest.PostgresDSN(b)
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			b.Fatal(err)
		}
		cfg.DialFunc = countingDial(&writes)
		// The store over a pool built as postgres.Dialect() builds it,
		// but dialing through the counter.
		sqlDB := stdlib.OpenDB(*cfg)
		b.Cleanup(func() { _ = sqlDB.Close() })
		n := max(4, runtime.NumCPU())
		sqlDB.SetMaxOpenConns(n)
		sqlDB.SetMaxIdleConns(n)
		s, err := sqlstore.New(sqlDB, postgres.Dialect(), sqlstore.WithAutoMigrate(),
			sqlstore.WithIdleTimeout(idleTimeout), sqlstore.WithMaxLifetime(maxLifetime))
		if err != nil {
			b.Fatal(err)
		}
		poolCfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			b.Fatal(err)
		}
		poolCfg.ConnConfig.DialFunc = countingDial(&writes)
		pool, err := pgxpool.NewWithConfig(context.Background(), poolCfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(pool.Close)
		db := &database{dialect: postgres.Dialect(), store: s, pool: pool, raw: newPGRaw(pool, s)}
		scs := newSCS(b, pool, metadata(sizeSmall))
		impls = append(impls,
			impl{dialectPostgres, "store", s, sqlBackend{db}},
			impl{dialectPostgres, "raw", db.raw, sqlBackend{db}},
			impl{dialectPostgres, "scs", scs, scsBackend{db, scs}})
	}
	if r, err := startRedis(b, func(o *redis.Options) { o.Dialer = countingDial(&writes) }); err == nil {
		impls = append(impls, impl{dialectRedis, "redis", r, redisBackend{r}})
	} else {
		note("Redis peer skipped: " + err.Error())
	}

	md := metadata(sizeSmall)
	ops := []struct {
		name string
		// seed says whether the op needs existing sessions.
		seed bool
		do   func(ctx context.Context, s sessions, id string, i int) error
	}{
		{"Get", true, func(ctx context.Context, s sessions, id string, _ int) error { _, err := s.Get(ctx, id); return err }},
		{"Create", false, func(ctx context.Context, s sessions, id string, _ int) error { return s.Create(ctx, id, md) }},
		{"Update", true, func(ctx context.Context, s sessions, id string, i int) error { return s.Update(ctx, id, patch(i)) }},
		{"Touch", true, func(ctx context.Context, s sessions, id string, _ int) error { return s.Touch(ctx, id) }},
		{"Delete", true, func(ctx context.Context, s sessions, id string, _ int) error { return s.Delete(ctx, id) }},
	}
	// Enough warm-up calls to prepare the statements on every pooled
	// connection: preparing is a round trip of its own, once.
	const warmup = 50
	for _, op := range ops {
		for _, im := range impls {
			b.Run(fmt.Sprintf("op=%s/dialect=%s/impl=%s", op.name, im.dialect, im.impl), func(b *testing.B) {
				ctx := context.Background()
				p := runPrefix("rt")
				if op.seed {
					im.be.seed(b, p, 0, warmup+b.N, sizeSmall)
				}
				for i := range warmup {
					if err := op.do(ctx, im.s, idFor(p, i), i); err != nil {
						b.Fatal(err)
					}
				}
				b.ResetTimer()
				writes.Store(0)
				for i := warmup; i < warmup+b.N; i++ {
					if err := op.do(ctx, im.s, idFor(p, i), i); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(writes.Load())/float64(b.N), "round-trips/op")
				b.StopTimer()
				im.be.deletePrefix(b, p)
			})
		}
	}
}
