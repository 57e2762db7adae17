// Package migrations checks the schema's goose files with the goose CLI,
// the way an operator who migrates by hand runs them (`make migrate-up`):
// up, down and up again against a real Postgres server and a SQLite file,
// with versions kept in mcpsession_db_version.
//
// It has tests only. They run the goose binary named by MCPSESSION_GOOSE,
// which `make test` builds into bin/goose at the version the root module
// requires; without it they skip, or fail under
// MCPSESSION_REQUIRE_POSTGRES=1.
package migrations
