// Package migrations applies the schema of the session store, the goose SQL
// migrations of one dialect, to a database: [Up] from Go (sqlstore's
// WithAutoMigrate calls it), [NewProvider] for what Up does not do
// (Status, Down). Begin with
//
//	err := migrations.Up(ctx, db, postgres.Dialect())
//
// The files are those of this directory's postgres and sqlite directories,
// each embedded by its own package, which the dialect's package imports: a
// program carries only the migrations of the dialects it uses. They work
// with the goose CLI as they stand:
//
//	goose -table mcpsession_db_version -dir migrations/postgres postgres "$DSN" up
//	goose -table mcpsession_db_version -dir migrations/sqlite sqlite3 ./sessions.db up
//
// Versions are recorded in the table mcpsession_db_version,
// never in goose's default goose_db_version, so an application's own goose
// migrations never collide with these. On Postgres, Up holds goose's table
// lock (a lease row in mcpsession_lock) while it migrates, so replicas that
// start together take turns instead of racing, directly or through
// PgBouncer in any pool mode.
package migrations
