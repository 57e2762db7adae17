// Package migrations holds the schema of the session store as goose SQL
// migrations, one directory per dialect, embedded in the binary.
//
// The files work with the goose CLI as they stand:
//
//	goose -table mcpsession_db_version -dir migrations/postgres postgres "$DSN" up
//	goose -table mcpsession_db_version -dir migrations/sqlite sqlite3 ./sessions.db up
//
// and [Up] applies the same files from Go (sqlstore's WithAutoMigrate calls
// it). Versions are recorded in the table mcpsession_db_version, never in
// goose's default goose_db_version, so an application's own goose
// migrations never collide with these. On Postgres, Up holds goose's table
// lock (a lease row in mcpsession_lock) while it migrates, so replicas that
// start together take turns instead of racing, directly or through
// PgBouncer in any pool mode.
package migrations
