package main

import (
	"fmt"
	"strings"
)

// execModePaths are BenchmarkExecMode's paths, in report order: how the
// store reaches the server and the default_query_exec_mode its DSN sets.
var execModePaths = []struct{ via, mode, label string }{
	{"direct", "cache_statement", "direct, prepared (pgx's default)"},
	{"direct", "exec", "direct, exec"},
	{"direct", "simple_protocol", "direct, simple_protocol"},
	{"pgbouncer-session", "cache_statement", "PgBouncer session mode, prepared"},
	{"pgbouncer-transaction", "exec", "PgBouncer transaction mode, exec"},
	{"pgbouncer-transaction", "simple_protocol", "PgBouncer transaction mode, simple_protocol"},
}

func execModeName(op, via, mode, impl string, par int) string {
	return fmt.Sprintf("ExecMode/op=%s/via=%s/mode=%s/impl=%s/par=%d", op, via, mode, impl, par)
}

// writeExecModes reports what running without server-side prepared
// statements, and through PgBouncer, costs against the prepared default.
func writeExecModes(b *strings.Builder, res *results) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	if !res.has("ExecMode/") {
		return
	}
	w("## PgBouncer and query exec modes\n\n")
	w("What PgBouncer in transaction mode costs: Get and Update of a 500 B session on one PostgreSQL server ")
	w("(a container of the production-Postgres image, with two PgBouncer 1.18 containers on a private network), ")
	w("straight to it and through PgBouncer, in each pgx query exec mode a DSN can select ")
	w("(`default_query_exec_mode`): `cache_statement`, the default, prepares each statement once per connection; ")
	w("`exec` (one round trip, an unnamed statement) and `simple_protocol` (arguments quoted into the text) prepare ")
	w("nothing on the server, which transaction pooling requires. The last column is the store's time over its time ")
	w("straight to the server in the prepared mode: the price of the path.\n\n")
	w("| Operation | Goroutines | Path | Store | ± | Raw pgx | Store ÷ direct prepared |\n|---|---:|---|---:|---:|---:|---:|\n")
	for _, op := range []string{"Get", "Update"} {
		for _, par := range res.parallelism() {
			base, okBase := res.stat(execModeName(op, "direct", "cache_statement", "store", par), unitTime)
			for _, p := range execModePaths {
				st, ok := res.stat(execModeName(op, p.via, p.mode, "store", par), unitTime)
				if !ok {
					continue
				}
				raw := "–"
				if r, ok := res.stat(execModeName(op, p.via, p.mode, "raw", par), unitTime); ok {
					raw = fmtTime(r.Center)
				}
				ratio := "–"
				if okBase {
					ratio = fmt.Sprintf("%.2f", st.Center/base.Center)
				}
				w("| %s | %s | %s | %s | %s | %s | %s |\n", op, parLabel(par), p.label, fmtTime(st.Center), fmtSpread(st), raw, ratio)
			}
		}
	}
	w("\n")
}
