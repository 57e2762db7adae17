// Package pgtest is the integration suite's name for the project's one
// test harness, the downstream test kit mcpsessiontest: the integration
// tests use exactly what a user's tests get, and this package keeps the
// names they were written against.
//
// It adds what only the production-Postgres tests need, on mcpsessiontest's
// exported API: nodes of one image (HAImage, with PostgreSQL, PgBouncer,
// Patroni, etcd and HAProxy) on a private Docker network (NewNetwork,
// StartNode), a primary and its streaming standbys (StartPrimary,
// StartStandby, MultiHostDSN, Promote), PgBouncer in front of a server
// (StartBouncer), and the FAULT lines make test prints (Report).
//
// A test package starts with
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// and a test asks for a database with
//
//	dsn := pgtest.DSN(t) // postgres://…?search_path=t_… , dropped when t ends
//
// Where the server comes from (MCPSESSION_TEST_POSTGRES_DSN, or a container
// whose image is chosen by asking the Docker engine), what is set up for
// testcontainers, and when tests skip: see package mcpsessiontest.
package pgtest
