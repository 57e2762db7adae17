// Package sqlite is the SQLite dialect of the session store, through
// modernc.org/sqlite (pure Go, no cgo): begin with
//
//	store, err := sqlstore.Open(ctx, sqlite.Dialect(), "sqlite:/var/lib/app/sessions.db",
//		sqlstore.WithAutoMigrate())
//
// [Dialect] is all there is to it; the package owns the SQLite SQL of
// every statement the store, the bus and the event store run, and its
// goose migrations (those of migrations/sqlite, embedded). A program that
// imports it and not dialects/postgres links no pgx.
//
// # DSNs
//
// sqlite:PATH, a file (a relative path is relative to the working
// directory), and sqlite::memory:, one in-memory database shared by all of
// the store's connections and gone when the store is closed. Query
// parameters after PATH are passed to modernc.org/sqlite
// ("sqlite:x.db?_pragma=cache_size(-20000)"). Any other form is refused
// with dialects.ErrUnsupportedDSN.
//
// # What the database does
//
// Metadata is TEXT holding a JSON object; Update rebuilds it with
// json_each and json_group_object, because json_patch follows RFC 7396
// (it merges nested objects and deletes keys set to null), which is not
// the shallow merge of jsonb ||. Timestamps are INTEGER Unix milliseconds
// UTC from SQLite's clock.
//
// Every connection gets busy_timeout(10000) and synchronous(NORMAL), and
// a file is switched to WAL, so readers run beside the one writer. SQLite
// has one writer per database: the store lets one write run at a time in
// the process, queueing the others in order, rather than letting them
// spin on SQLITE_BUSY; other processes on the same file wait on the busy
// timeout. Statements are prepared once per store. There is no LISTEN: a
// bus polls.
package sqlite
