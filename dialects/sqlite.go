package dialects

import (
	"context"
	"crypto/rand"
	"database/sql"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/mcpsession/mcpsession/internal/driver"
	sqlitemigrations "github.com/mcpsession/mcpsession/migrations/sqlite"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
)

// SQLite is SQLite through modernc.org/sqlite (pure Go). Timestamps are
// INTEGER Unix milliseconds UTC from SQLite's clock; metadata is TEXT holding
// a JSON object.
var SQLite Dialect = sqliteDialect{}

type sqliteDialect struct{}

func (sqliteDialect) Name() string                   { return "sqlite" }
func (sqliteDialect) GooseDialect() database.Dialect { return database.DialectSQLite3 }
func (sqliteDialect) SerializeWrites() bool          { return true }
func (sqliteDialect) Migrations() fs.FS              { return sqlitemigrations.FS }
func (sqliteDialect) Statements() *driver.Statements { return &sqliteStatements }

// TransactionPooled is false: no pooler stands between a process and its
// SQLite file.
func (sqliteDialect) TransactionPooled(string) bool { return false }

// PrepareStatements is true: modernc.org/sqlite compiles a statement run by
// its text on every call, and a prepared statement lives in the process,
// not on a server.
func (sqliteDialect) PrepareStatements() bool { return true }

// MigrationLocker is nil: SQLite's single write lock already serialises
// migrations, and migrations.Up tolerates a concurrent migrator.
func (sqliteDialect) MigrationLocker(context.Context, *sql.DB) (lock.Locker, error) {
	return nil, nil
}

// CheckDatabase accepts every SQLite database: the driver exchanges text as
// UTF-8 whatever the file's encoding.
func (sqliteDialect) CheckDatabase(context.Context, *sql.DB) error { return nil }

// SQLite's primary result codes that ClassifyError looks at
// (https://sqlite.org/rescode.html); extended codes carry them in their
// low byte.
const (
	sqliteBusy     = 5
	sqliteReadOnly = 8
)

// ClassifyError: SQLITE_BUSY (another process held the write lock for the
// whole busy timeout) is ErrorUnavailable; SQLITE_READONLY (a read-only
// file or connection) is ErrorReadOnly.
func (sqliteDialect) ClassifyError(err error) driver.ErrorKind {
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() & 0xff {
		case sqliteBusy:
			return driver.ErrorUnavailable
		case sqliteReadOnly:
			return driver.ErrorReadOnly
		}
		return driver.ErrorOther
	}
	return driver.ClassifyTransport(err)
}

// ReadOnly reports PRAGMA query_only. A file opened read-only is not seen
// here; its first write fails with SQLITE_READONLY, which ClassifyError
// reports as ErrorReadOnly.
func (sqliteDialect) ReadOnly(ctx context.Context, db *sql.DB) (string, error) {
	var queryOnly bool
	if err := db.QueryRowContext(ctx, `PRAGMA query_only`).Scan(&queryOnly); err != nil {
		return "", err
	}
	if queryOnly {
		return "the database is query_only", nil
	}
	return "", nil
}

// sqliteNow is the current time in Unix milliseconds. SQLite keeps 'now' in
// whole milliseconds and holds it fixed for the whole of one statement;
// rounding undoes the float division inside unixepoch.
const sqliteNow = `CAST(round(unixepoch('subsec') * 1000) AS INTEGER)`

// sqliteParam is SQLite's placeholder for parameter n.
func sqliteParam(n int) string { return fmt.Sprintf("?%d", n) }

func sqliteLive(table, idle, lifetime string) string {
	return fmt.Sprintf("(%[2]s = 0 OR %[1]s.updated_at >= %[4]s - %[2]s)"+
		" AND (%[3]s = 0 OR %[1]s.created_at >= %[4]s - %[3]s)",
		table, idle, lifetime, sqliteNow)
}

// sqliteRemaining is how many milliseconds a record stamped at column has
// left under a limit of ms milliseconds (the placeholder), or driver.NoExpiry when
// the limit is 0.
func sqliteRemaining(column, ms string) string {
	return fmt.Sprintf(`CASE WHEN %[2]s = 0 THEN %[3]d ELSE %[1]s + %[2]s - %[4]s END`, column, ms, driver.NoExpiry, sqliteNow)
}

// sqliteCleanup deletes one batch by rowid: the subquery reads only the
// index on the column (which holds the rowid), oldest first.
func sqliteCleanup(table, column string) string {
	return fmt.Sprintf(`DELETE FROM %[1]s WHERE rowid IN (
  SELECT rowid FROM %[1]s WHERE %[2]s < %[3]s - ?1 ORDER BY %[2]s LIMIT ?2)`, table, column, sqliteNow)
}

func sqliteRecords(t driver.Table) driver.Records {
	k := len(t.Key)
	p := func(n int) string { return sqliteParam(k + n) } // the parameters after the key
	key := t.KeyMatch(t.Name+".", sqliteParam)
	cols := strings.Join(t.Key, ", ")
	keyParams := make([]string, k)
	var setKeys string
	for i, c := range t.Key {
		keyParams[i] = sqliteParam(i + 1)
		if i > 0 { // the primary key is the conflict target; the rest is replaced
			setKeys += fmt.Sprintf("%[1]s = excluded.%[1]s, ", c)
		}
	}
	return driver.Records{
		Create: fmt.Sprintf(`INSERT INTO %[1]s (%[2]s, %[3]s, created_at, updated_at)
VALUES (%[4]s, %[5]s, %[6]s, %[6]s)
ON CONFLICT (%[7]s) DO UPDATE
SET %[8]s%[3]s = excluded.%[3]s, created_at = excluded.created_at, updated_at = excluded.updated_at
WHERE NOT (%[9]s)`, t.Name, cols, t.Doc, strings.Join(keyParams, ", "), p(1), sqliteNow, t.Key[0], setKeys,
			sqliteLive(t.Name, p(2), p(3))),

		Get: fmt.Sprintf(`SELECT %s FROM %s WHERE %s AND %s`, t.Doc, t.Name, key, sqliteLive(t.Name, p(1), p(2))),

		// min() of two values: SQLite's scalar min is NULL if either is,
		// so each side is a number.
		GetTTL: fmt.Sprintf(`SELECT %s, min(%s, %s) FROM %s WHERE %s AND %s`, t.Doc,
			sqliteRemaining(t.Name+".updated_at", p(1)), sqliteRemaining(t.Name+".created_at", p(2)),
			t.Name, key, sqliteLive(t.Name, p(1), p(2))),

		// The shallow merge of jsonb ||: every stored key the patch does
		// not name, then every key of the patch, each value copied as JSON
		// text (the -> operator) so numbers keep their exact text and null
		// stays null. json_patch is not used: it merges nested objects and
		// deletes keys set to null (RFC 7396).
		Update: fmt.Sprintf(`UPDATE %[1]s SET
  %[2]s = (
    SELECT json_group_object(k, json(v)) FROM (
      SELECT o.key AS k, %[1]s.%[2]s -> o.fullkey AS v
        FROM json_each(%[1]s.%[2]s) AS o
        WHERE o.key NOT IN (SELECT key FROM json_each(%[3]s))
      UNION ALL
      SELECT p.key, %[3]s -> p.fullkey FROM json_each(%[3]s) AS p)),
  updated_at = %[4]s
WHERE %[5]s AND %[6]s`, t.Name, t.Doc, p(1), sqliteNow, key, sqliteLive(t.Name, p(2), p(3))),

		Touch: fmt.Sprintf(`UPDATE %s SET updated_at = %s WHERE %s AND %s`, t.Name, sqliteNow, key, sqliteLive(t.Name, p(1), p(2))),

		Delete: fmt.Sprintf(`DELETE FROM %s WHERE %s`, t.Name, key),

		// A write as the transaction's first statement takes SQLite's
		// write lock at once (waiting under busy_timeout), instead of
		// upgrading a read lock later, which fails with SQLITE_BUSY
		// without waiting.
		Lock: fmt.Sprintf(`UPDATE %[1]s SET updated_at = updated_at WHERE %[2]s AND %[3]s RETURNING %[4]s`,
			t.Name, key, sqliteLive(t.Name, p(1), p(2)), t.Doc),

		Replace: fmt.Sprintf(`UPDATE %s SET %s = %s, updated_at = %s WHERE %s`, t.Name, t.Doc, p(1), sqliteNow, key),

		CleanupIdle:     sqliteCleanup(t.Name, "updated_at"),
		CleanupLifetime: sqliteCleanup(t.Name, "created_at"),
	}
}

var sqliteStatements = driver.Statements{
	Records: sqliteRecords(driver.SessionsTable),
	Handles: sqliteRecords(driver.HandlesTable),
	Bus:     sqliteBus,
	Events:  sqliteEvents,

	TakeLease: `INSERT INTO ` + driver.LeasesTable + ` (name, holder, expires_at)
VALUES (?1, ?2, ` + sqliteNow + ` + ?3)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE ` + driver.LeasesTable + `.holder = excluded.holder OR ` + driver.LeasesTable + `.expires_at < ` + sqliteNow,
	ReleaseLease: `DELETE FROM ` + driver.LeasesTable + ` WHERE name = ?1 AND holder = ?2`,
}

// sqlitePragmas configure every connection. synchronous=NORMAL in WAL mode
// loses nothing when a process dies (only, at worst, the last transactions
// on power loss); busy_timeout makes a connection wait for another
// process's write lock instead of failing with SQLITE_BUSY.
//
// WAL, which lets readers run beside the one writer, is not among them:
// see [enableWAL].
var sqlitePragmas = []string{"busy_timeout(10000)", "synchronous(NORMAL)"}

// sqliteBusyTimeout is the busy_timeout above, which also bounds how long
// enableWAL retries.
const sqliteBusyTimeout = 10 * time.Second

// Open opens the SQLite database named by a sqlite:PATH or sqlite::memory:
// DSN. Query parameters after PATH are passed to modernc.org/sqlite.
//
// sqlite::memory: is one in-memory database shared by all of the pool's
// connections (SQLite's memdb VFS), private to this pool, and alive until
// the pool is closed.
func (sqliteDialect) Open(ctx context.Context, dsn string) (*sql.DB, error) {
	rest, ok := strings.CutPrefix(dsn, "sqlite:")
	if !ok || rest == "" {
		return nil, fmt.Errorf("%w %q (want sqlite:PATH or sqlite::memory:)", ErrUnsupportedDSN, Redact(dsn))
	}
	path, query, _ := strings.Cut(rest, "?")
	params, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("parse sqlite DSN query: %w", err)
	}
	for _, p := range sqlitePragmas {
		params.Add("_pragma", p)
	}
	var name string
	if path == ":memory:" {
		// A name starting with "/" makes memdb share the database
		// between connections of this process.
		name = "file:/mcpsession-" + rand.Text() + "?vfs=memdb&" + params.Encode()
	} else {
		name = "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + params.Encode()
	}
	// memdb keeps its journal in memory; it has no WAL.
	c := &sqliteConnector{name: name, wal: path != ":memory:"}
	if path == ":memory:" {
		// memdb drops the database when its last connection closes; the
		// connector keeps one open until the pool is closed.
		keeper, err := c.Connect(ctx)
		if err != nil {
			return nil, fmt.Errorf("open sqlite in-memory database: %w", err)
		}
		c.keeper = keeper
	}
	db := sql.OpenDB(c)
	n := max(4, 2*runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	return db, nil
}

// sqliteConnector opens modernc.org/sqlite connections without going
// through the driver registry; it keeps an in-memory database alive.
type sqliteConnector struct {
	name   string
	wal    bool
	keeper sqldriver.Conn
}

func (c *sqliteConnector) Connect(ctx context.Context) (sqldriver.Conn, error) {
	conn, err := c.Driver().Open(c.name)
	if err != nil {
		return nil, err
	}
	if c.wal {
		if err := enableWAL(ctx, conn); err != nil {
			_ = conn.Close()
			return nil, err
		}
	}
	return conn, nil
}

// enableWAL puts the database in WAL mode, which the file keeps: on every
// connection after the first switch this is a no-op.
//
// The switch needs the file's exclusive lock, taken from the shared lock the
// pragma first reads with. When several processes open a new file at once,
// each can hold its shared lock while waiting for the others', and SQLite
// then answers SQLITE_BUSY at once rather than call the busy handler, since
// waiting could never end (https://www.sqlite.org/c3ref/busy_handler.html).
// busy_timeout cannot help there, so the pragma is retried, with its locks
// released in between, for as long as the busy timeout would have waited.
// Nothing signals that another process let go of a file lock, so this
// polls, with a short backoff.
func enableWAL(ctx context.Context, conn sqldriver.Conn) error {
	exec, ok := conn.(sqldriver.ExecerContext)
	if !ok {
		return errors.New("sqlite connection cannot execute statements")
	}
	deadline := time.Now().Add(sqliteBusyTimeout)
	wait := time.Millisecond
	for {
		_, err := exec.ExecContext(ctx, "PRAGMA journal_mode=WAL", nil)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("set journal_mode=WAL: %w", err)
			}
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("set journal_mode=WAL: %w (%w)", ctx.Err(), err)
		case <-t.C:
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// isBusy reports whether err is SQLITE_BUSY or one of its extended codes.
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqliteBusy
}

func (c *sqliteConnector) Driver() sqldriver.Driver { return &sqlite.Driver{} }

// Close is called by sql.DB.Close.
func (c *sqliteConnector) Close() error {
	if c.keeper == nil {
		return nil
	}
	return c.keeper.Close()
}
