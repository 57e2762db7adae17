// Package pgtest builds the production-Postgres topologies of the fault,
// PgBouncer and exec-mode tests: nodes of one image (HAImage, with
// PostgreSQL, PgBouncer, Patroni, etcd and HAProxy) on a private Docker
// network (NewNetwork, StartNode), a primary and its streaming standbys
// (StartPrimary, StartStandby, MultiHostDSN, Promote), PgBouncer in front
// of a server (StartBouncer), and the FAULT lines make test prints
// (Report).
//
// It is not where a test gets "a database": that is the test kit,
// mcpsessiontest (a schema of the test's own with PostgresDSN, a server it
// may stop with PostgresServer), as a user's tests get it. Its nodes are
// containers of the kit's runtime (internal/testdb.Runtime): one code path
// starts, labels and terminates every container of the project, and the
// kit's Main terminates nodes left behind by an interrupted run.
package pgtest
