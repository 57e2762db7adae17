package migrations_test

import (
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/dialects"
	"github.com/mcpsession/mcpsession/migrations"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// floorVersion is the migration that indexes updated_floor instead of
// updated_at.
const floorVersion = 7

// recordRow is what a row of mcp_sessions or mcp_handles holds, as text,
// but for updated_floor.
type recordRow struct{ doc, created, updated string }

// records reads every row of table (mcp_sessions or mcp_handles), by key.
func records(t *testing.T, db *sql.DB, table string) map[string]recordRow {
	t.Helper()
	q := `SELECT id, metadata, created_at, updated_at FROM mcp_sessions`
	if table == "mcp_handles" {
		q = `SELECT handle || '/' || principal, state, created_at, updated_at FROM mcp_handles`
	}
	rows, err := db.QueryContext(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]recordRow{}
	for rows.Next() {
		var key string
		var r recordRow
		if err := rows.Scan(&key, &r.doc, &r.created, &r.updated); err != nil {
			t.Fatal(err)
		}
		out[key] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// columnsAndIndexes lists table's columns and its indexes' names.
func columnsAndIndexes(t *testing.T, d dialects.Dialect, db *sql.DB, table string) (cols, idx map[string]bool) {
	t.Helper()
	list := func(q string) map[string]bool {
		rows, err := db.QueryContext(t.Context(), q, table)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]bool{}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			out[name] = true
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if d.Name() == "postgres" {
		return list(`SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`),
			list(`SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1`)
	}
	return list(`SELECT name FROM pragma_table_info(?1)`),
		list(`SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL`)
}

// reloptions returns table's storage parameters on Postgres ("" for
// none), and "" on SQLite, which has none.
func reloptions(t *testing.T, d dialects.Dialect, db *sql.DB, table string) string {
	t.Helper()
	if d.Name() != "postgres" {
		return ""
	}
	var opts sql.NullString
	if err := db.QueryRowContext(t.Context(), `SELECT reloptions::text FROM pg_class WHERE oid = $1::regclass`, table).Scan(&opts); err != nil {
		t.Fatal(err)
	}
	return opts.String
}

// floorsMatch reports whether every row of table has updated_floor =
// updated_at.
func floorsMatch(t *testing.T, db *sql.DB, table string) bool {
	t.Helper()
	var off int
	if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM `+table+` WHERE updated_floor <> updated_at`).Scan(&off); err != nil {
		t.Fatal(err)
	}
	return off == 0
}

// Migration 00007 up and down on a database holding sessions and handles,
// live and idle: each keeps its document, its created_at and updated_at to
// the microsecond, and so its expiry; up fills updated_floor from
// updated_at and swaps the indexes, down swaps them back and drops the
// column, and a store on the result reads and sweeps as before.
func TestFloorMigrationKeepsRecords(t *testing.T) {
	for _, d := range databases {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			db := openDB(t, d.dialect, d.dsn(t))
			p, err := migrations.NewProvider(ctx, db, d.dialect)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(ctx, floorVersion-1); err != nil {
				t.Fatal(err)
			}
			// Written at 6 as the store wrote them: two live (used 10
			// minutes ago) and two idle for 2 hours, in each table.
			ins := []string{
				`INSERT INTO mcp_sessions (id, metadata, created_at, updated_at) VALUES
  ('live-1', '{"n":1}', now() - interval '3 hours', now() - interval '10 minutes'),
  ('live-2', '{"n":2}', now() - interval '10 minutes', now() - interval '10 minutes'),
  ('idle-1', '{"n":3}', now() - interval '3 hours', now() - interval '2 hours'),
  ('idle-2', '{"n":4}', now() - interval '2 hours', now() - interval '2 hours')`,
				`INSERT INTO mcp_handles (handle, principal, state, created_at, updated_at) VALUES
  ('live-h', 'alice', '{"n":5}', now() - interval '3 hours', now() - interval '10 minutes'),
  ('idle-h', 'alice', '{"n":6}', now() - interval '3 hours', now() - interval '2 hours')`,
			}
			if d.dialect.Name() == "sqlite" {
				const now = `CAST(round(unixepoch('subsec') * 1000) AS INTEGER)`
				ins = []string{
					fmt.Sprintf(`INSERT INTO mcp_sessions (id, metadata, created_at, updated_at) VALUES
  ('live-1', '{"n":1}', %[1]s - 10800000, %[1]s - 600000),
  ('live-2', '{"n":2}', %[1]s - 600000, %[1]s - 600000),
  ('idle-1', '{"n":3}', %[1]s - 10800000, %[1]s - 7200000),
  ('idle-2', '{"n":4}', %[1]s - 7200000, %[1]s - 7200000)`, now),
					fmt.Sprintf(`INSERT INTO mcp_handles (handle, principal, state, created_at, updated_at) VALUES
  ('live-h', 'alice', '{"n":5}', %[1]s - 10800000, %[1]s - 600000),
  ('idle-h', 'alice', '{"n":6}', %[1]s - 10800000, %[1]s - 7200000)`, now),
				}
			}
			for _, q := range ins {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			sessions, handles := records(t, db, "mcp_sessions"), records(t, db, "mcp_handles")
			kept := func(when string) {
				t.Helper()
				if got := records(t, db, "mcp_sessions"); !reflect.DeepEqual(got, sessions) {
					t.Fatalf("sessions %s:\n%v\nwant\n%v", when, got, sessions)
				}
				if got := records(t, db, "mcp_handles"); !reflect.DeepEqual(got, handles) {
					t.Fatalf("handles %s:\n%v\nwant\n%v", when, got, handles)
				}
			}
			up := func() {
				t.Helper()
				if _, err := p.UpTo(ctx, floorVersion); err != nil {
					t.Fatal(err)
				}
				kept("after 00007 up")
				for _, table := range []string{"mcp_sessions", "mcp_handles"} {
					cols, idx := columnsAndIndexes(t, d.dialect, db, table)
					if !cols["updated_floor"] || !idx[table+"_updated_floor_idx"] || idx[table+"_updated_at_idx"] {
						t.Fatalf("%s after 00007 up: columns %v, indexes %v; want updated_floor indexed, not updated_at", table, cols, idx)
					}
					if !floorsMatch(t, db, table) {
						t.Fatalf("%s after 00007 up: updated_floor not filled from updated_at", table)
					}
					if got := reloptions(t, d.dialect, db, table); d.dialect.Name() == "postgres" && got != "{fillfactor=90}" {
						t.Fatalf("%s after 00007 up: reloptions %s; want fillfactor=90", table, got)
					}
				}
			}
			up()
			if _, err := p.DownTo(ctx, floorVersion-1); err != nil {
				t.Fatal(err)
			}
			kept("after 00007 down")
			for _, table := range []string{"mcp_sessions", "mcp_handles"} {
				cols, idx := columnsAndIndexes(t, d.dialect, db, table)
				if cols["updated_floor"] || idx[table+"_updated_floor_idx"] || !idx[table+"_updated_at_idx"] {
					t.Fatalf("%s after 00007 down: columns %v, indexes %v; want the shape of 00006", table, cols, idx)
				}
				if got := reloptions(t, d.dialect, db, table); got != "" {
					t.Fatalf("%s after 00007 down: reloptions %s; want none", table, got)
				}
			}
			up()

			// A store over the migrated rows: the same expiry as before.
			s, err := sqlstore.New(db, d.dialect, sqlstore.WithIdleTimeout(time.Hour), sqlstore.WithHandleIdleTimeout(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"live-1", "live-2"} {
				_, left, err := s.GetWithTTL(ctx, id)
				if err != nil || left < 49*time.Minute || left > 50*time.Minute {
					t.Fatalf("GetWithTTL(%s) after the migrations: %v left, %v; want 50 min", id, left, err)
				}
			}
			for _, id := range []string{"idle-1", "idle-2"} {
				if _, err := s.Get(ctx, id); !errors.Is(err, mcpsession.ErrNotFound) {
					t.Fatalf("Get(%s), idle for 2 h, after the migrations = %v; want ErrNotFound", id, err)
				}
			}
			if _, err := s.GetHandle(ctx, "live-h", "alice"); err != nil {
				t.Fatalf("GetHandle of the live handle after the migrations: %v", err)
			}
			if _, err := s.GetHandle(ctx, "idle-h", "alice"); !errors.Is(err, mcpsession.ErrHandleNotFound) {
				t.Fatalf("GetHandle of the idle handle after the migrations = %v; want ErrHandleNotFound", err)
			}
			if n, err := s.Cleanup(ctx, time.Hour); err != nil || n != 2 {
				t.Fatalf("Cleanup(1h) after the migrations = %d, %v; want the 2 idle sessions", n, err)
			}
			if n, err := s.CleanupHandles(ctx); err != nil || n != 1 {
				t.Fatalf("CleanupHandles after the migrations = %d, %v; want the idle handle", n, err)
			}
			if got := records(t, db, "mcp_sessions"); len(got) != 2 || got["live-1"] != sessions["live-1"] || got["live-2"] != sessions["live-2"] {
				t.Fatalf("sessions after Cleanup: %v; want live-1 and live-2 as they were", got)
			}
		})
	}
}
