// Package pgbouncer runs the store through PgBouncer in transaction mode,
// the pooler most Postgres deployments put between their services and the
// server, on containers of the production-Postgres image
// (internal/pgtest's HAImage) on a private network: the whole conformance
// kit with 16 of its subtests at once, its expiry rules, two janitors
// sweeping one database (one sweeps, one skips), and several replicas
// migrating one database at once.
//
// Each runs with the DSN settings that make pgx prepare nothing on the
// server, default_query_exec_mode=exec and simple_protocol: a statement
// prepared on one server connection does not exist on the next one the
// pooler hands out.
//
// TestTransactionPooling logs one FAULT line with what the bouncers passed
// (transactions, queries) and appends it to MCPSESSION_FAULT_REPORT, which
// make test prints with the fault tests' lines.
//
// It has tests only: go test ./pgbouncer from the integration module.
package pgbouncer
