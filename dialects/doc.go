// Package dialects holds everything that differs between the databases the
// session store runs on: the SQL text of each statement (sessions, handles,
// the bus, the event store), how timestamps are taken and compared, how a
// DSN is opened, the migrations and the name goose knows the database by,
// how its errors are classified, whether it can LISTEN, and whether writes
// must be serialised inside the process.
//
// Packages sqlstore, bus and eventstore state each behaviour once, over a
// [Dialect]; nothing in them mentions a particular database. Two dialects
// ship:
//
//   - [Postgres]: PostgreSQL through github.com/jackc/pgx/v5 (database/sql
//     via its stdlib package). Metadata is jsonb, timestamps are timestamptz
//     taken from the database clock (now()), so replicas whose clocks
//     disagree still agree on expiry. Update is jsonb ||.
//   - [SQLite]: SQLite through modernc.org/sqlite (pure Go, no cgo).
//     Metadata is TEXT holding a JSON object, timestamps are INTEGER Unix
//     milliseconds UTC. Update rebuilds the object with json_each and
//     json_group_object, because SQLite's json_patch follows RFC 7396
//     (it merges nested objects and deletes keys set to null), which is not
//     the shallow merge of jsonb ||.
//
// [ForDSN] picks the dialect for a DSN: postgres:// and postgresql:// for
// Postgres; sqlite:PATH and sqlite::memory: for SQLite.
//
// # Stability
//
// The [Dialect] interface is the seam between this module's packages and
// the databases, as riverdriver is river's: it may change in any release,
// goose's types in its signatures included. Applications name a dialect
// (Postgres, SQLite, ForDSN) and use the helpers (Redact, RedactError,
// WakeKey); they should not implement or call the interface's methods.
//
// Every statement takes durations as whole milliseconds in a bigint
// parameter, with 0 meaning "no limit". A session is live while its
// updated_at is no more than the idle timeout ago and its created_at no more
// than the max lifetime ago; Cleanup deletes exactly the rows that are not.
package dialects
