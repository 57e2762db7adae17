// Package mcpsessiontest gives a service's tests a fresh, migrated
// mcpsession store: on a SQLite file, on a PostgreSQL container, or on a
// server the tests name, each test in a schema of its own. Begin with
// [SQLite] or [Postgres] in a test, and [Main] in TestMain.
//
// It is a module of its own (github.com/mcpsession/mcpsession/mcpsessiontest)
// because it depends on testcontainers-go and Docker's client libraries:
// they enter a build only where a test imports this package, never through
// the store or its adapters. The project tests itself with it too: its
// functions are the project's own harness behind public names, and every
// container the project's tests start is started here.
//
// # Starting
//
// A test package that uses Postgres calls [Main] from its TestMain, which
// terminates the package's container once the tests have run (and on
// SIGINT or SIGTERM):
//
//	func TestMain(m *testing.M) { mcpsessiontest.Main(m) }
//
// and each test asks for a store:
//
//	store := mcpsessiontest.SQLite(t)   // a file in t.TempDir(), always there
//	store := mcpsessiontest.Postgres(t) // a schema of t's own, dropped when t ends
//	store := mcpsessiontest.Open(t, dsn) // on a server you name: a schema of t's own in it
//
// Every store is migrated (sqlstore.WithAutoMigrate, then the options the
// test gives) and closed when the test ends. [PostgresDSN] gives the DSN of
// a fresh, empty schema instead, for code that opens its own store from a
// DSN, as a service's main does.
//
// # Where Postgres comes from
//
//   - MCPSESSION_TEST_POSTGRES_DSN names a server to use instead of a
//     container; the tests share it, one schema each.
//   - Otherwise the first test that asks starts one container for the test
//     binary, lazily, with testcontainers-go. Its image is
//     MCPSESSION_TEST_POSTGRES_IMAGE when set. When it is not, the image is
//     chosen by asking the Docker engine: postgres:17-alpine if the engine
//     has it; else mcpsession-postgres:local (built without any registry by
//     the project's `make postgres-image`) if it has that; else
//     postgres:17-alpine if it can be pulled. A host with a registry so gets
//     the registry's image, as testcontainers would; a host without one uses
//     the offline image.
//   - With neither a DSN nor Docker, or with Docker but no image to be had,
//     the Postgres tests skip with one line saying why, and Main prints
//     that line once for the package. Under MCPSESSION_REQUIRE_POSTGRES=1
//     they fail instead, so that a CI job cannot pass with them skipped.
//
// # What it sets up for testcontainers
//
// Before the first container, the package asks the engine (through
// DOCKER_HOST, or the default socket) two questions and sets
// testcontainers' own variables from the answers, unless they are set
// already:
//
//   - Is the Ryuk reaper's image on the engine, or can it be pulled? If
//     not, TESTCONTAINERS_RYUK_DISABLED=true: testcontainers would
//     otherwise fail on the pull. This package terminates every container
//     it starts itself ([Main], [Server.Terminate]); containers also carry
//     the label dev.mcpsession.test-run, valued from
//     MCPSESSION_TEST_RUN_ID, so that a CI job can remove what a killed
//     test binary left behind.
//   - Does this process run on the engine's own host? testcontainers reads
//     a /.dockerenv file as "inside a container" and then dials the bridge
//     network's gateway instead of the published port. When the file is
//     there but the engine's host name is this host's, or the engine's
//     process shares this process's network namespace,
//     TESTCONTAINERS_HOST_OVERRIDE=localhost.
//
// The project's own integration suite and commands reach the same
// machinery (servers to stop and pause, private networks) through an
// internal seam; it is not part of the kit's promise.
package mcpsessiontest
