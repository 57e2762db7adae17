package driver

import (
	"context"
	"database/sql"
	"io/fs"
	"strings"

	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

// Driver is one database as this module's packages see it.
type Driver interface {
	// Name is "postgres" or "sqlite". It also names the dialect's
	// directory of migrations.
	Name() string

	// GooseDialect is the name goose knows the database by.
	GooseDialect() database.Dialect

	// Migrations returns the dialect's goose migrations: the SQL files of
	// migrations/NAME in the repository, which the goose CLI also runs as
	// they stand.
	Migrations() fs.FS

	// Statements returns the SQL of every statement the store runs.
	Statements() *Statements

	// RequestState returns package requeststate's SQL.
	RequestState() *RequestStateStatements

	// SerializeWrites reports whether the store must let only one write
	// statement run at a time in the process. SQLite has one writer per
	// database: letting connections queue inside the process is cheaper
	// and fairer than letting them spin on SQLITE_BUSY.
	SerializeWrites() bool

	// MigrationLocker returns the lock goose holds while it migrates db,
	// so that replicas migrating at once take turns, or nil when the
	// database needs none. It must not depend on a session outliving a
	// transaction, so that it holds behind a pooler in transaction mode.
	MigrationLocker(ctx context.Context, db *sql.DB) (lock.Locker, error)

	// PrepareStatements reports whether the store should prepare each
	// statement once (database/sql's Prepare) and reuse it. SQLite
	// compiles a statement run by its text on every call, which costs
	// more than running it. pgx needs no help: in its default mode it
	// prepares and caches statements per connection by itself, and in the
	// modes a DSN picks for a pooler in transaction mode
	// (default_query_exec_mode=exec or simple_protocol) the store must
	// prepare nothing on the server.
	PrepareStatements() bool

	// ClassifyError says what an error returned by the database or its
	// driver means to a caller: whether the server is unreachable or
	// going away (a retry, perhaps on another host, may succeed), or
	// accepts no writes.
	ClassifyError(err error) ErrorKind

	// ReadOnly returns why db's server accepts no writes (a hot standby,
	// default_transaction_read_only), or "" when it accepts them.
	ReadOnly(ctx context.Context, db *sql.DB) (reason string, err error)

	// Open opens a connection pool for a DSN of this database,
	// configured as the store needs it. A DSN of another form is an
	// error matching dialects.ErrUnsupportedDSN.
	Open(ctx context.Context, dsn string) (*sql.DB, error)

	// TransactionPooled reports whether dsn says its connections go
	// through a pooler in transaction mode (PgBouncer's
	// pool_mode=transaction), where a server session lasts one
	// transaction: a LISTEN there hears nothing.
	TransactionPooled(dsn string) bool

	// Listens reports whether the database can wake listeners (Listen
	// works): true for Postgres, false for SQLite.
	Listens() bool

	// Listen returns a Listener for the wake-ups of the schema db's
	// connections use, or an error matching ErrNoListen when the database
	// has no such thing.
	Listen(ctx context.Context, db *sql.DB) (Listener, error)

	// Tasks returns the SQL of package tasks.
	Tasks() *TaskStatements

	// CheckDatabase returns an error matching
	// dialects.ErrUnsupportedDatabase when db cannot hold what the store
	// writes faithfully (on Postgres: a server encoding other than UTF8),
	// or the error that kept it from finding out.
	CheckDatabase(ctx context.Context, db *sql.DB) error
}

// Statements is the SQL the store runs, in the dialect's placeholder syntax:
// one set of Records for the sessions table (embedded, so Statements.Create
// is a session's), one for the handles table, and the cleanup lock.
type Statements struct {
	Records

	// Handles are the statements on mcp_handles, whose key is (handle,
	// principal): every KEY below is those two parameters, and a row
	// whose principal differs is no row at all.
	Handles Records

	// Bus is package bus's SQL; Events is package eventstore's.
	Bus    BusStatements
	Events EventStatements

	// TakeLease(name, holder, duration) takes the lease called name in
	// mcpsession_leases for holder until duration milliseconds from now,
	// if nobody holds it, its holder's time is up, or holder holds it
	// already (then it is renewed). One row is affected when holder has
	// the lease afterwards, none when somebody else does. A lease is a
	// row, not a lock held by a connection or a transaction, so it means
	// the same behind a pooler in any mode, needs no connection of its
	// own, and survives a failover.
	TakeLease string

	// ReleaseLease(name, holder) gives back holder's lease called name;
	// no row is affected if holder no longer has it.
	ReleaseLease string
}

// NoExpiry is what GetTTL selects for a record that never expires.
const NoExpiry = int64(1<<63 - 1)

// LeasesTable is the table of leases (see Statements.TakeLease).
const LeasesTable = "mcpsession_leases"

// Records is the SQL of one table of records (sessions, handles), each a
// JSON object with created_at and updated_at. KEY stands for the key's
// parameters, first in every statement: (id) for sessions, (handle,
// principal) for handles; the parameters after it are numbered on from
// there. Durations are bigint milliseconds, 0 meaning no limit; "live"
// means updated_at within the idle timeout and created_at within the max
// lifetime, both measured on the database's clock.
//
// The idle sweep walks the index of updated_floor, not of updated_at: a
// lower bound of updated_at that only Create and RaiseFloor write, so that
// the writes of a live record change no indexed column (on Postgres they
// stay HOT updates). Every statement keeps updated_floor <= updated_at,
// which is what makes CleanupIdle exact: a record idle for longer than the
// ttl has its updated_floor below the cutoff too.
type Records struct {
	// Create(KEY, doc, idle, lifetime) inserts a record with created_at =
	// updated_at = updated_floor = now. If the key exists and is not live,
	// it is replaced; if it is live, no row is affected.
	Create string

	// Get(KEY, idle, lifetime) selects the document of a live record.
	Get string

	// GetTTL(KEY, idle, lifetime) selects the document of a live record
	// and how many milliseconds it has left to live, as the database's
	// clock measures it: the sooner of its idle and its lifetime expiry,
	// or NoExpiry when it has neither.
	GetTTL string

	// Update(KEY, patch, idle, lifetime) merges patch into a live
	// record's document, shallowly, and sets updated_at = now.
	Update string

	// Touch(KEY, idle, lifetime) sets updated_at = now on a live record.
	Touch string

	// Delete(KEY) deletes the record.
	Delete string

	// Lock(KEY, idle, lifetime), run first in a transaction, selects a
	// live record's document and holds the row's write lock until the
	// transaction ends.
	Lock string

	// Replace(KEY, doc), run after Lock in the same transaction, sets the
	// document whole and updated_at = now.
	Replace string

	// The idle sweep. Both statements take (idle, limit) and work on the
	// same window: the first limit records by updated_floor among those
	// whose updated_floor is more than idle ago, walking its index, so
	// that each reads at most limit rows however many in the window are
	// live. RaiseFloor sets updated_floor = updated_at on the live ones
	// (updated_at within idle), which leave the window; CleanupIdle
	// deletes the expired ones (updated_at more than idle ago). Run in
	// that order, a round of the two that affects fewer than limit rows
	// in all has emptied the window (but for rows another transaction
	// held, which Postgres skips): the expired rows of the first window
	// are all in the second one, so a full first window makes the round
	// affect at least limit rows.
	RaiseFloor  string
	CleanupIdle string

	// CleanupLifetime(lifetime, limit) deletes up to limit records whose
	// created_at is more than lifetime ago, walking the created_at index.
	CleanupLifetime string
}

// Table describes one table of records for the drivers' statement
// builders.
type Table struct {
	Name string   // mcp_sessions, mcp_handles
	Key  []string // key columns, in parameter order; the first is the primary key
	Doc  string   // the JSON object column
}

// The two tables of records.
var (
	SessionsTable = Table{Name: "mcp_sessions", Key: []string{"id"}, Doc: "metadata"}
	HandlesTable  = Table{Name: "mcp_handles", Key: []string{"handle", "principal"}, Doc: "state"}
)

// KeyMatch is "k1 = p(1) AND k2 = p(2)…" for t's key columns, qualified by
// alias.
func (t Table) KeyMatch(alias string, p func(int) string) string {
	parts := make([]string, len(t.Key))
	for i, k := range t.Key {
		parts[i] = alias + k + " = " + p(i+1)
	}
	return strings.Join(parts, " AND ")
}
