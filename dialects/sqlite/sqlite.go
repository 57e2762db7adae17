package sqlite

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

	"github.com/mcpsession/mcpsession/dialects"
	"github.com/mcpsession/mcpsession/internal/backoff"
	"github.com/mcpsession/mcpsession/internal/driver"
	sqlitemigrations "github.com/mcpsession/mcpsession/migrations/sqlite"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
	msqlite "modernc.org/sqlite"
)

// Dialect returns SQLite through modernc.org/sqlite (pure Go, no cgo), for
// sqlstore.Open and New and migrations.Up. Timestamps are INTEGER Unix
// milliseconds UTC from SQLite's clock; metadata is TEXT holding a JSON
// object.
func Dialect() dialects.Dialect { return dialect{} }

// dialect is what a user holds; sqliteDriver is what this module's
// packages run, through dialect's Driver.
type dialect struct{}

func (dialect) Name() string          { return "sqlite" }
func (dialect) Driver() driver.Driver { return sqliteDriver{} }

type sqliteDriver struct{}

func (sqliteDriver) Name() string                   { return "sqlite" }
func (sqliteDriver) GooseDialect() database.Dialect { return database.DialectSQLite3 }
func (sqliteDriver) SerializeWrites() bool          { return true }
func (sqliteDriver) Migrations() fs.FS              { return sqlitemigrations.FS() }
func (sqliteDriver) Statements() *driver.Statements { return &statements }

// TransactionPooled is false: no pooler stands between a process and its
// SQLite file.
func (sqliteDriver) TransactionPooled(string) bool { return false }

// Listens is false: SQLite wakes nobody; package bus polls it.
func (sqliteDriver) Listens() bool { return false }

// Listen: SQLite wakes nobody; package bus polls it.
func (sqliteDriver) Listen(context.Context, *sql.DB) (driver.Listener, error) {
	return nil, driver.ErrNoListen
}

// PrepareStatements is true: modernc.org/sqlite compiles a statement run by
// its text on every call, and a prepared statement lives in the process,
// not on a server.
func (sqliteDriver) PrepareStatements() bool { return true }

// MigrationLocker is nil: SQLite's single write lock already serialises
// migrations, and migrations.Up tolerates a concurrent migrator.
func (sqliteDriver) MigrationLocker(context.Context, *sql.DB) (lock.Locker, error) {
	return nil, nil
}

// CheckDatabase accepts every SQLite database: the driver exchanges text as
// UTF-8 whatever the file's encoding.
func (sqliteDriver) CheckDatabase(context.Context, *sql.DB) error { return nil }

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
func (sqliteDriver) ClassifyError(err error) driver.ErrorKind {
	var e *msqlite.Error
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
func (sqliteDriver) ReadOnly(ctx context.Context, db *sql.DB) (string, error) {
	var queryOnly bool
	if err := db.QueryRowContext(ctx, `PRAGMA query_only`).Scan(&queryOnly); err != nil {
		return "", err
	}
	if queryOnly {
		return "the database is query_only", nil
	}
	return "", nil
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
func (sqliteDriver) Open(ctx context.Context, dsn string) (*sql.DB, error) {
	rest, ok := strings.CutPrefix(dsn, "sqlite:")
	if !ok || rest == "" {
		return nil, fmt.Errorf("%w %q (the sqlite dialect takes sqlite:PATH or sqlite::memory:)", dialects.ErrUnsupportedDSN, driver.Redact(dsn))
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
		if !backoff.Sleep(ctx, wait) {
			return fmt.Errorf("set journal_mode=WAL: %w (%w)", ctx.Err(), err)
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// isBusy reports whether err is SQLITE_BUSY or one of its extended codes.
func isBusy(err error) bool {
	var se *msqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqliteBusy
}

func (c *sqliteConnector) Driver() sqldriver.Driver { return &msqlite.Driver{} }

// Close is called by sql.DB.Close.
func (c *sqliteConnector) Close() error {
	if c.keeper == nil {
		return nil
	}
	return c.keeper.Close()
}
