// Package pgtest is the integration suite's name for the project's one
// test harness, the downstream test kit mcpsessiontest: the integration
// tests use exactly what a user's tests get, and this package only keeps
// the names they were written against.
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
