package bench

import (
	"context"
	"database/sql"
	"encoding/json"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/dialects/postgres"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/internal/driver"
	"github.com/mcpsession/mcpsession/internal/executor"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// State handles (the sessionless revision's state, SEP-2567) beside the
// sessions: the store's GetHandle and UpdateHandle, and a baseline that
// runs the same SQL (dialects' Statements().Handles) with the same
// parameters straight on the driver, as the session baselines do. There
// are no peers: scs and the Redis store have no handles.

// handles is what the handle benchmarks call: the store, and the raw
// baselines.
type handles interface {
	GetHandle(ctx context.Context, handle, principal string) (map[string]any, error)
	UpdateHandle(ctx context.Context, handle, principal string, patch map[string]any) error
}

var _ handles = (*sqlstore.Store)(nil)

// benchPrincipal owns every benchmarked handle: a user id of a typical
// length, so that the principal check costs what it costs in production.
const benchPrincipal = "user:7f3c9a2e-4b1d-4e8a-9c6f-2d5e8b1a0c47"

// handleTarget is one implementation of the handle benchmarks, on the
// database that holds its handles.
type handleTarget struct {
	dialect, impl string
	h             handles
	db            *database
}

// handleTargets opens, for b and its sub-benchmarks, the store and its raw
// baseline on each dialect, over one table per dialect: on Postgres when
// there is a server (see postgresAvailable), and on SQLite.
func handleTargets(b *testing.B) []handleTarget {
	b.Helper()
	opts := []sqlstore.Option{
		sqlstore.WithHandleIdleTimeout(idleTimeout), sqlstore.WithHandleMaxLifetime(maxLifetime),
		sqlstore.WithIdleTimeout(idleTimeout), sqlstore.WithMaxLifetime(maxLifetime),
	}
	var ts []handleTarget
	if postgresAvailable(b) {
		db := openDatabase(b, dialectPostgres, opts...)
		ts = append(ts,
			handleTarget{dialectPostgres, "store", db.store, db},
			handleTarget{dialectPostgres, "raw", newPGRawHandles(db.pool, db.store), db})
	}
	db := openDatabase(b, dialectSQLite, opts...)
	raw, err := newSQLiteRawHandles(db.sqlite, db.store)
	if err != nil {
		b.Fatal(err)
	}
	return append(ts,
		handleTarget{dialectSQLite, "store", db.store, db},
		handleTarget{dialectSQLite, "raw", raw, db})
}

// BenchmarkHandleGet reads a handle's state, as Get reads a session.
func BenchmarkHandleGet(b *testing.B) {
	benchHandles(b, "hg", func(ctx context.Context, h handles, handle string, _ int) error {
		_, err := h.GetHandle(ctx, handle, benchPrincipal)
		return err
	})
}

// BenchmarkHandleUpdate merges a two-key patch into handles holding state
// of the size, as Update does into sessions.
func BenchmarkHandleUpdate(b *testing.B) {
	var patches [64]map[string]any
	for i := range patches {
		patches[i] = patch(i)
	}
	benchHandles(b, "hu", func(ctx context.Context, h handles, handle string, i int) error {
		return h.UpdateHandle(ctx, handle, benchPrincipal, patches[i%len(patches)])
	})
}

// benchHandles seeds the same handles on each database (the store and its
// baseline share one), then runs op over them for each size, parallelism
// and target, in forEach's nesting, so that a store and its baseline run
// one after the other.
func benchHandles(b *testing.B, letter string, op func(ctx context.Context, h handles, handle string, i int) error) {
	ts := handleTargets(b)
	prefix := func(size string) string { return letter + sizeTag(size) + "-" }
	done := map[*database]bool{}
	for _, t := range ts {
		if !done[t.db] {
			done[t.db] = true
			for _, size := range sizes {
				t.db.seedHandles(b, prefix(size), jsonText(b, metadata(size)))
			}
		}
	}
	for _, size := range sizes {
		ids := idsFor(prefix(size), seeded)
		for _, par := range parallelisms() {
			for _, t := range ts {
				b.Run(name(t.dialect, t.impl, size, par), func(b *testing.B) {
					run(b, par, func(ctx context.Context, i int) error { return op(ctx, t.h, ids[i%seeded], i) })
					reportMetadataSize(b, size)
				})
			}
		}
	}
}

// seedHandles inserts the handles idFor(prefix, 0) … idFor(prefix,
// seeded-1), owned by benchPrincipal, each with state doc (JSON text),
// created and last used now, in one statement.
func (d *database) seedHandles(b *testing.B, prefix, doc string) {
	b.Helper()
	var q string
	switch d.dialect {
	case postgres.Dialect():
		q = `INSERT INTO mcp_handles (handle, principal, state, created_at, updated_at, updated_floor)
SELECT $1 || lpad(g::text, 9, '0'), $2, $3::jsonb, now(), now(), now()
FROM generate_series(0, $4::bigint - 1) AS g`
	case sqlite.Dialect():
		q = `WITH RECURSIVE g(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM g WHERE x < ?4 - 1)
INSERT INTO mcp_handles (handle, principal, state, created_at, updated_at, updated_floor)
SELECT ?1 || printf('%09d', x), ?2, ?3, ms, ms, ms
FROM g, (SELECT CAST(round(unixepoch('subsec') * 1000) AS INTEGER) AS ms)`
	}
	if got := d.exec(b, q, prefix, benchPrincipal, doc, int64(seeded)); got != seeded {
		b.Fatalf("seeded %d handles; want %d", got, seeded)
	}
}

// pgRawHandles is the Postgres baseline for handles: the store's handle
// statements on a pgx pool, as pgRaw is for sessions.
type pgRawHandles struct {
	pool *pgxpool.Pool
	q    driver.Records
	lim  limits
}

func newPGRawHandles(pool *pgxpool.Pool, s *sqlstore.Store) *pgRawHandles {
	return &pgRawHandles{pool: pool, q: executor.Of(s).Statements().Handles, lim: storeLimits()}
}

func (r *pgRawHandles) GetHandle(ctx context.Context, handle, principal string) (map[string]any, error) {
	rows, err := r.pool.Query(ctx, r.q.Get, handle, principal, r.lim.idle, r.lim.lifetime)
	return pgDocument(rows, err, mcpsession.ErrHandleNotFound)
}

func (r *pgRawHandles) UpdateHandle(ctx context.Context, handle, principal string, patch map[string]any) error {
	doc, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	return affectedPG(r.pool.Exec(ctx, r.q.Update, handle, principal, doc, r.lim.idle, r.lim.lifetime))
}

// sqliteRawHandles is the SQLite baseline for handles: the store's handle
// statements, each prepared once, through database/sql on
// modernc.org/sqlite, as sqliteRaw is for sessions.
type sqliteRawHandles struct {
	get, update *sql.Stmt
	lim         limits
}

func newSQLiteRawHandles(db *sql.DB, s *sqlstore.Store) (*sqliteRawHandles, error) {
	q := executor.Of(s).Statements().Handles
	get, err := db.Prepare(q.Get)
	if err != nil {
		return nil, err
	}
	update, err := db.Prepare(q.Update)
	if err != nil {
		return nil, err
	}
	return &sqliteRawHandles{get: get, update: update, lim: storeLimits()}, nil
}

func (r *sqliteRawHandles) GetHandle(ctx context.Context, handle, principal string) (map[string]any, error) {
	rows, err := r.get.QueryContext(ctx, handle, principal, r.lim.idle, r.lim.lifetime)
	return sqlDocument(rows, err, mcpsession.ErrHandleNotFound)
}

func (r *sqliteRawHandles) UpdateHandle(ctx context.Context, handle, principal string, patch map[string]any) error {
	doc, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	return affectedSQL(r.update.ExecContext(ctx, handle, principal, string(doc), r.lim.idle, r.lim.lifetime))
}
