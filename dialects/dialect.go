package dialects

import (
	"errors"

	"github.com/mcpsession/mcpsession/internal/driver"
)

// Dialect is a database the session store runs on: postgres.Dialect()
// (package dialects/postgres) or sqlite.Dialect() (package
// dialects/sqlite). Pass one to sqlstore.Open or New, and to migrations.Up.
// Only this module's dialect packages implement it.
type Dialect interface {
	// Name is "postgres" or "sqlite". It also names the directory of the
	// dialect's migrations: migrations/postgres, migrations/sqlite.
	Name() string

	// Driver is what this module's packages run the dialect's SQL
	// through. Its type is internal to this module, so that no other
	// package implements a Dialect or depends on how one works.
	Driver() driver.Driver
}

var (
	// ErrUnsupportedDSN means a DSN is not of a form the dialect opens,
	// such as a sqlite: DSN given to the Postgres dialect.
	ErrUnsupportedDSN = errors.New("dialects: unsupported DSN")

	// ErrUnsupportedDatabase means the database answers but cannot hold
	// what the store writes faithfully, such as a Postgres database whose
	// encoding is not UTF8.
	ErrUnsupportedDatabase = errors.New("dialects: unsupported database")
)

// Redact returns dsn with every secret replaced by "xxxxx", for errors and
// logs: the password of a URL's user (user:password@host), and the value of
// every parameter whose name contains "password" (password, sslpassword),
// in URLs and in key=value DSNs alike. A DSN it cannot parse is replaced by
// its scheme alone.
func Redact(dsn string) string { return driver.Redact(dsn) }
