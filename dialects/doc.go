// Package dialects holds what differs between the databases the session
// store runs on, as a user sees it: the [Dialect] interface, the errors an
// Open can return because of the database ([ErrUnsupportedDSN],
// [ErrUnsupportedDatabase]), and [Redact], for logging a DSN. The dialects
// themselves are packages of their own, so that a program links only the
// database it uses:
//
//   - postgres.Dialect() (package dialects/postgres): PostgreSQL through
//     github.com/jackc/pgx/v5. Metadata is jsonb, timestamps are
//     timestamptz taken from the database clock (now()), so replicas whose
//     clocks disagree still agree on expiry. Update is jsonb ||.
//   - sqlite.Dialect() (package dialects/sqlite): SQLite through
//     modernc.org/sqlite (pure Go, no cgo). Metadata is TEXT holding a JSON
//     object, timestamps are INTEGER Unix milliseconds UTC. Update rebuilds
//     the object with json_each and json_group_object, because SQLite's
//     json_patch follows RFC 7396 (it merges nested objects and deletes
//     keys set to null), which is not the shallow merge of jsonb ||.
//
// Begin with the dialect of your database:
//
//	store, err := sqlstore.Open(ctx, postgres.Dialect(), "postgres://app@db:5432/app")
//
// Each dialect owns its SQL and its goose migrations (the files of
// migrations/postgres and migrations/sqlite, embedded by those packages):
// a program that imports only dialects/postgres links neither
// modernc.org/sqlite nor the SQLite migrations, and one that imports only
// dialects/sqlite links no pgx.
package dialects
