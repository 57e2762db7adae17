package bench

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mcpsession/mcpsession/dialects"
	"github.com/mcpsession/mcpsession/dialects/postgres"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/mcpsessiontest"
	"github.com/mcpsession/mcpsession/sqlstore"
	_ "modernc.org/sqlite" // registers "sqlite" for the raw SQLite baseline
)

// TestMain gives the package one Postgres server for the whole run (the
// test kit's container, or MCPSESSION_TEST_POSTGRES_DSN), and
// terminates the container when the benchmarks are done.
func TestMain(m *testing.M) {
	if dsn := os.Getenv(seenReaderEnv); dsn != "" {
		os.Exit(readerMain(dsn)) // BenchmarkCacheSeenElsewhere's reader
	}
	mcpsessiontest.Main(m)
}

// The expiry limits every store and baseline runs with: realistic values,
// so that the liveness predicates of each statement are evaluated in full.
const (
	idleTimeout = time.Hour
	maxLifetime = 24 * time.Hour
)

// Dialect names, as the sub-benchmarks name them.
const (
	dialectPostgres = "postgres"
	dialectSQLite   = "sqlite"
	dialectRedis    = "redis"
)

var sqlDialects = []string{dialectPostgres, dialectSQLite}

// database is one database with the mcp_sessions table (migrated by
// migrations.Up, through the store's WithAutoMigrate), a Store over it, and
// the raw driver baseline over the same table.
type database struct {
	dialect dialects.Dialect
	store   *sqlstore.Store
	raw     sessions
	// pool is the raw pgx pool on Postgres (the scs peer uses it too);
	// nil on SQLite.
	pool *pgxpool.Pool
	// sqlite is the raw database/sql pool on SQLite; nil on Postgres.
	sqlite *sql.DB
}

// openDatabase returns a new, empty, migrated database of the dialect for
// b and its sub-benchmarks: a schema of its own on the package's Postgres
// server, or a SQLite file in b's temporary directory. opts configure the
// store; the raw baseline is given the same expiry limits.
func openDatabase(b *testing.B, dialect string, opts ...sqlstore.Option) *database {
	b.Helper()
	ctx := context.Background()
	opts = append([]sqlstore.Option{sqlstore.WithAutoMigrate()}, opts...)
	switch dialect {
	case dialectPostgres:
		dsn := mcpsessiontest.PostgresDSN(b)
		s := openStore(b, dsn, opts...)
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			b.Fatal(err)
		}
		// pgxpool's default size, max(4, NumCPU), is the size
		// postgres.Dialect() gives the store's pool.
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(pool.Close)
		return &database{dialect: postgres.Dialect(), store: s, pool: pool, raw: newPGRaw(pool, s)}
	case dialectSQLite:
		path := filepath.Join(b.TempDir(), "sessions.db")
		s := openStore(b, "sqlite:"+path, opts...)
		db, err := openRawSQLite(path)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = db.Close() })
		raw, err := newSQLiteRaw(db, s)
		if err != nil {
			b.Fatal(err)
		}
		return &database{dialect: sqlite.Dialect(), store: s, sqlite: db, raw: raw}
	}
	b.Fatalf("unknown dialect %q", dialect)
	return nil
}

func openStore(b *testing.B, dsn string, opts ...sqlstore.Option) *sqlstore.Store {
	b.Helper()
	s, err := sqlstore.Open(context.Background(), testdb.Dialect(dsn), dsn, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// openRawSQLite opens the SQLite file straight with modernc.org/sqlite's
// registered driver, with the pragmas and pool size sqlite.Dialect() gives
// the store, so that the two differ only in what the store itself does.
func openRawSQLite(path string) (*sql.DB, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	if err := db.Ping(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// exec runs one statement on the database outside any benchmark's timing.
func (d *database) exec(b *testing.B, query string, args ...any) int64 {
	b.Helper()
	res, err := d.store.DB().ExecContext(context.Background(), query, args...)
	if err != nil {
		b.Fatalf("%.60s…: %v", query, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// idFor is the id of the i-th seeded session under prefix. The seeding
// statements build the same ids in SQL.
func idFor(prefix string, i int) string { return fmt.Sprintf("%s%09d", prefix, i) }

// idsFor returns idFor(prefix, 0) … idFor(prefix, n-1), built before a
// timed loop so that the loop allocates only what the call under
// benchmark does.
func idsFor(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = idFor(prefix, i)
	}
	return ids
}

// seed inserts n sessions idFor(prefix, from) … idFor(prefix, from+n-1),
// each with metadata doc (JSON text), last used age ago, in one statement:
// generate_series on Postgres, a recursive CTE on SQLite.
func (d *database) seed(b *testing.B, prefix string, from, n int, doc string, age time.Duration) {
	b.Helper()
	var q string
	switch d.dialect {
	case postgres.Dialect():
		q = `INSERT INTO mcp_sessions (id, metadata, created_at, updated_at, updated_floor)
SELECT $1 || lpad(g::text, 9, '0'), $2::jsonb, ts, ts, ts
FROM generate_series($3::bigint, $3::bigint + $5::bigint - 1) AS g,
     (SELECT now() - $4::bigint * interval '1 millisecond' AS ts) AS c`
	case sqlite.Dialect():
		q = `WITH RECURSIVE g(x) AS (SELECT ?3 UNION ALL SELECT x + 1 FROM g WHERE x < ?3 + ?5 - 1)
INSERT INTO mcp_sessions (id, metadata, created_at, updated_at, updated_floor)
SELECT ?1 || printf('%09d', x), ?2, ts, ts, ts
FROM g, (SELECT CAST(round(unixepoch('subsec') * 1000) AS INTEGER) - ?4 AS ts)`
	}
	if got := d.exec(b, q, prefix, doc, int64(from), age.Milliseconds(), int64(n)); got != int64(n) {
		b.Fatalf("seeded %d sessions; want %d", got, n)
	}
}

// deletePrefix deletes the sessions whose id starts with prefix, which must
// hold no LIKE wildcard.
func (d *database) deletePrefix(b *testing.B, prefix string) {
	b.Helper()
	d.exec(b, `DELETE FROM mcp_sessions WHERE id LIKE '`+prefix+`%'`)
}

// vacuum lets Postgres reclaim the rows a benchmark deleted, so that the
// next run starts from the same heap. Not in parallel: parallel vacuum
// needs dynamic shared memory, and a container's /dev/shm holds 64 MB.
func (d *database) vacuum(b *testing.B) {
	b.Helper()
	if d.dialect == postgres.Dialect() {
		d.exec(b, `VACUUM (ANALYZE, PARALLEL 0) mcp_sessions`)
	}
}
