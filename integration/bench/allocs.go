package bench

// The allocations of the store's Get, as BenchmarkGet reports them
// (allocs/op), for a 549-byte document on one goroutine, found with
//
//	go test -run '^$' -bench '^BenchmarkGet$/^dialect=postgres$/^impl=store$/^size=500B$/^par=1$' \
//	  -benchtime 20000x -memprofile mem.out -memprofilerate 1 -o bench.test ./bench
//	go tool pprof -sample_index=alloc_objects -lines -top bench.test mem.out
//
// (and the same for impl=raw, and for dialect=sqlite), at Go 1.26, pgx
// v5.12.0 and modernc.org/sqlite v1.62.0, with the store running prepared
// statements (sqlstore/stmt.go).
//
// Most of them are not the store's: they are decoding the document into
// the map[string]any that Get returns, which the raw baseline does too
// (about 80 for this document: the decoder's state, each object's map, each
// key and string value, each boxed number and bool; they grow with the
// document), and the driver's own per-query allocations, the baseline's
// too: pgx's rows and command tag; on SQLite, database/sql's prepared
// statement path (Stmt.QueryContext, its two closures, connStmt, the
// arguments, the row), modernc.org/sqlite's rows, column names, bound
// arguments and the copy of the TEXT value into Go memory, and
// database/sql's copy of it into the sql.RawBytes. Boxing the statement's
// three arguments into interfaces costs the store two allocations
// (sqlstore/session.go:49), the SQLite baseline as many and the Postgres
// baseline three. The map the document is decoded into escapes
// to the heap through json.Unmarshal, in both (sqlstore/metadata.go:184).
//
// On SQLite the store and the baseline take the same path, database/sql
// with a prepared *sql.Stmt, and make the same allocations: the store adds
// none. On Postgres the store goes through database/sql and pgx's stdlib
// adapter, where the baseline calls pgx's pool: GetAllocations lists the
// allocations that path makes and the baseline's does not. cmd/benchreport
// checks that the measured difference is not larger than that list.

// GetAllocation is one allocation of the store's Get that the raw driver
// baseline does not make.
type GetAllocation struct {
	Dialect string // postgres or sqlite
	Where   string // function and line, at the versions above
	Why     string
}

// GetAllocations are the store's Get allocations beyond the baseline's:
// on Postgres, database/sql's and pgx stdlib's, and the one sql.RawBytes
// of the store's own; on SQLite, none.
var GetAllocations = []GetAllocation{
	{"postgres", "database/sql Stmt.connStmt (sql.go:2752)", "the method value dc.releaseConn it returns"},
	{"postgres", "database/sql Stmt.QueryContext (sql.go:2790)", "the closure handed to db.retry, and the variables it shares"},
	{"postgres", "database/sql Stmt.QueryContext (sql.go:2802)", "the *sql.Rows returned to the store"},
	{"postgres", "database/sql Stmt.QueryContext (sql.go:2813)", "the Rows' releaseConn closure"},
	{"postgres", "database/sql Rows.close (sql.go:3442)", "err, captured by the closure that closes the driver rows under the conn's lock"},
	{"postgres", "database/sql Rows.nextLocked (sql.go:3063)", "lastcols, the []driver.Value of the row"},
	{"postgres", "database/sql driverArgsConnLocked (convert.go:110)", "the []driver.NamedValue of the three arguments"},
	{"postgres", "pgx stdlib Conn.QueryContext (stdlib/sql.go:524)", "the []any of the arguments, with the result-format codes first"},
	{"postgres", "pgx stdlib Conn.QueryContext (stdlib/sql.go:542)", "the *stdlib.Rows wrapping pgx's rows"},
	{"postgres", "pgx stdlib Rows.Columns (stdlib/sql.go:655)", "the column names database/sql asks for"},
	{"postgres", "pgx stdlib Rows.initValueFuncs (stdlib/sql.go:749)", "the slice of per-column value functions"},
	{"postgres", "pgx stdlib Rows.initValueFuncs (stdlib/sql.go:826)", "the []byte the jsonb column's value function scans into, captured by it"},
	{"postgres", "pgx stdlib Rows.initValueFuncs (stdlib/sql.go:828)", "the jsonb column's value function (a closure)"},
	{"postgres", "pgx stdlib value function (stdlib/sql.go:833)", "the []byte boxed into a driver.Value"},
	{"postgres", "pgx pgtype scanPlanAnyTextToBytes.Scan (pgtype.go:431)", "a copy of the document out of pgx's read buffer: the one allocation as large as the document, which is why B/op differs by about the document's size"},
	{"postgres", "sqlstore Store.Get (session.go:62)", "the sql.RawBytes the store scans into, which escapes through Scan's ...any; scanning into RawBytes saves a second copy of the document, which a []byte would cost (on SQLite the baseline does the same)"},
}
