// Package pgtest gives the integration tests a PostgreSQL server: one
// container per package run, shared by every test of the package, each test
// isolated in a schema of its own; or, for tests that stop and pause their
// server, a container of their own.
//
// A test package starts with
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// and a test asks for a database with
//
//	dsn := pgtest.DSN(t) // postgres://…?search_path=t_… , dropped when t ends
//
// The first call to DSN starts the package's container, lazily, so a
// package whose Postgres tests are all filtered out starts none; Main
// terminates it once the tests have run, and also on SIGINT or SIGTERM.
//
// # Where the server comes from
//
//   - MCPSESSION_TEST_POSTGRES_DSN names a server to use instead of a
//     container. Tests then share that server, still one schema each.
//   - Otherwise a container is started with testcontainers-go's postgres
//     module from the image in MCPSESSION_TEST_POSTGRES_IMAGE, by default
//     postgres:17-alpine. On hosts without a registry, build one with
//     `make postgres-image` (integration/postgres-image) and set
//     MCPSESSION_TEST_POSTGRES_IMAGE=mcpsession-postgres:local.
//   - With neither a DSN nor a Docker engine, the Postgres tests skip with
//     one line saying so, and Main prints that line once for the package.
//     Under MCPSESSION_REQUIRE_POSTGRES=1 they fail instead, so that CI
//     cannot pass with the Postgres suite silently skipped.
//
// Where the Ryuk reaper's image cannot be pulled, set
// TESTCONTAINERS_RYUK_DISABLED=true: this package terminates every
// container it starts itself. On a host that has a /.dockerenv file without
// being a container, set TESTCONTAINERS_HOST_OVERRIDE=localhost. Containers
// carry the label dev.mcpsession.test-run, valued from
// MCPSESSION_TEST_RUN_ID (default "local"), so a CI job can remove what a
// crashed test binary left behind.
//
// [Start] is the same machinery without the testing package, for commands
// such as cmd/withpostgres and for benchmarks; [Dedicated] gives a test a
// server it owns, with a fixed host port, so that [Server.Stop] and
// [Server.Start] leave its DSN valid.
package pgtest
