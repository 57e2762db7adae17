package dialects

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

// Dialect is one database as sqlstore sees it. The two implementations are
// [Postgres] and [SQLite].
type Dialect interface {
	// Name is "postgres" or "sqlite". It also names the dialect's
	// directory of migrations.
	Name() string

	// GooseDialect is the name goose knows the database by.
	GooseDialect() database.Dialect

	// Statements returns the SQL of every statement the store runs.
	Statements() Statements

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

	// Open opens a connection pool for a DSN that ForDSN matched to this
	// dialect, configured as the store needs it.
	Open(ctx context.Context, dsn string) (*sql.DB, error)
}

// Statements is the SQL the store runs, in the dialect's placeholder syntax.
// Durations are bigint milliseconds, 0 meaning no limit; "live" below means
// updated_at within the idle timeout and created_at within the max lifetime,
// both measured on the database's clock.
type Statements struct {
	// Create(id, metadata, idle, lifetime) inserts a session with
	// created_at = updated_at = now. If the id exists and is not live, it
	// is replaced; if it is live, no row is affected.
	Create string

	// Get(id, idle, lifetime) selects the metadata of a live session.
	Get string

	// Update(id, patch, idle, lifetime) merges patch into a live
	// session's metadata, shallowly, and sets updated_at = now.
	Update string

	// Touch(id, idle, lifetime) sets updated_at = now on a live session.
	Touch string

	// Delete(id) deletes the session.
	Delete string

	// Lock(id, idle, lifetime), run first in a transaction, selects a
	// live session's metadata and holds the row's write lock until the
	// transaction ends.
	Lock string

	// Replace(id, metadata), run after Lock in the same transaction, sets
	// the metadata whole and updated_at = now.
	Replace string

	// CleanupIdle(idle, limit) deletes up to limit sessions whose
	// updated_at is more than idle ago, walking the updated_at index.
	CleanupIdle string

	// CleanupLifetime(lifetime, limit) deletes up to limit sessions whose
	// created_at is more than lifetime ago, walking the created_at index.
	CleanupLifetime string

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

// LeasesTable is the table of leases (see Statements.TakeLease).
const LeasesTable = "mcpsession_leases"

// ErrUnsupportedDSN means a DSN names no database this package can open.
var ErrUnsupportedDSN = errors.New("dialects: unsupported DSN")

// ForDSN returns the dialect for dsn: [Postgres] for postgres:// and
// postgresql://, [SQLite] for sqlite:PATH and sqlite::memory:. Any other DSN
// is an error matching ErrUnsupportedDSN that names the accepted forms and
// shows the DSN with its password redacted.
func ForDSN(dsn string) (Dialect, error) {
	scheme, _, ok := strings.Cut(dsn, ":")
	if ok {
		switch strings.ToLower(scheme) {
		case "postgres", "postgresql":
			return Postgres, nil
		case "sqlite":
			return SQLite, nil
		}
	}
	return nil, fmt.Errorf("%w %q (accepted: postgres://…, postgresql://…, sqlite:PATH, sqlite::memory:)",
		ErrUnsupportedDSN, Redact(dsn))
}

// Redact returns dsn with any password replaced by "xxxxx", for errors and
// logs. It handles URLs (user:password@host) and key=value DSNs
// (password=…). A DSN it cannot parse is replaced by its scheme alone.
func Redact(dsn string) string {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			scheme, _, _ := strings.Cut(dsn, "://")
			return scheme + "://(unparsable DSN redacted)"
		}
		if u.User != nil {
			if _, has := u.User.Password(); has {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
			}
		}
		q := u.Query()
		for k := range q {
			if strings.EqualFold(k, "password") {
				q.Set(k, "xxxxx")
				u.RawQuery = q.Encode()
			}
		}
		return u.String()
	}
	return kvPassword.ReplaceAllString(dsn, "${1}xxxxx")
}

// kvPassword matches password=VALUE in a key=value DSN, VALUE being a
// single-quoted string (with backslash escapes) or a run of non-spaces.
var kvPassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)`)
