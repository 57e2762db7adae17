package tasks_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/executor"
	"github.com/mcpsession/mcpsession/internal/testdb"
)

// Every statement can walk the index migration 00005 made for it: the
// primary key for a task by id, (principal, id) for a page of a principal's
// tasks in id order (which on Postgres needs the id's "C" collation), the
// partial indexes on the unfinished tasks for lease renewal and lapsed
// leases, and expires_at for the expired. Postgres is asked with sequential
// scans discouraged, so that a usable index is chosen even where a small
// table would be read whole.
func TestStatementsCanUseTheirIndexes(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		s := testdb.OpenStore(t, dsn)
		q := executor.Of(s).Driver().Tasks()
		pg := testdb.DialectName(s) == "postgres"
		// Rows and statistics, so that the planner weighs the indexes
		// as it would in use: 2000 tasks of 50 principals on 10 replicas,
		// in one transaction (a commit each took most of the test's time).
		tx, err := s.DB().BeginTx(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		for i := range 2000 {
			var ttl any
			if i%2 == 0 {
				ttl = int64(3600000)
			}
			args := []any{mcpsession.NewID(), fmt.Sprint("principal-", i%50), nil, "tool", ttl, nil,
				fmt.Sprint("replica-", i%10), int64(30000), nil}
			if _, err := tx.ExecContext(t.Context(), q.Create, args...); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		testdb.Exec(t, s.DB(), "ANALYZE mcp_tasks")
		// A task by id and principal: the primary key, or (principal, id),
		// which Postgres may find as good.
		pkey := "sqlite_autoindex_mcp_tasks_1"
		if pg {
			pkey = "mcp_tasks_pkey|mcp_tasks_principal_id_idx"
		}
		for _, c := range []struct {
			name, query, index string
			args               []any
		}{
			{"Get", q.Get, pkey, []any{"M", "principal-7", nil}},
			{"Transition", q.Transition, pkey, []any{"M", "principal-7", "completed", nil, []byte("{}"), "", nil}},
			{"List", q.List, "mcp_tasks_principal_id_idx", []any{"principal-7", "", "", int64(10), nil}},
			{"List from a cursor", q.List, "mcp_tasks_principal_id_idx", []any{"principal-7", "M", "", int64(10), nil}},
			{"List by session", q.List, "mcp_tasks_principal_id_idx", []any{"principal-7", "M", "s", int64(10), nil}},
			// Either partial index of the unfinished tasks will do.
			{"Renew", q.Renew, "mcp_tasks_replica_idx|mcp_tasks_lease_until_idx", []any{"replica-3", int64(1000), nil}},
			{"FailLapsed", q.FailLapsed, "mcp_tasks_lease_until_idx", []any{"m", int64(10), nil}},
			{"DeleteExpired", q.DeleteExpired, "mcp_tasks_expires_at_idx", []any{int64(10), nil}},
		} {
			plan := explain(t, s.DB(), pg, c.query, c.args)
			if !slices.ContainsFunc(strings.Split(c.index, "|"), func(ix string) bool { return strings.Contains(plan, ix) }) {
				t.Errorf("%s does not use %s:\n%s", c.name, c.index, plan)
			}
			// SQLite's plan is the schema's alone: it must walk (principal,
			// id) in order. Postgres may sort a few rows if it likes.
			if strings.HasPrefix(c.name, "List") && !pg && strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("List sorts its rows instead of walking the index in order:\n%s", plan)
			}
		}
	})
}

// explain returns the plan of query with args.
func explain(t *testing.T, db *sql.DB, pg bool, query string, args []any) string {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	prefix := "EXPLAIN QUERY PLAN "
	if pg {
		prefix = "EXPLAIN "
		if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
			t.Fatal(err)
		}
		defer conn.ExecContext(ctx, "RESET enable_seqscan") //nolint:errcheck // the connection goes back to a test's pool
	}
	rows, err := conn.QueryContext(ctx, prefix+query, args...)
	if err != nil {
		t.Fatalf("%s%s: %v", prefix, query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		line := vals[len(vals)-1]
		if b, ok := line.([]byte); ok {
			line = string(b)
		}
		lines = append(lines, strings.TrimSpace(toString(line)))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}
