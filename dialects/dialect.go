package dialects

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mcpsession/mcpsession/internal/driver"
)

// Dialect is one database as sqlstore sees it. The two implementations are
// [Postgres] and [SQLite].
type Dialect interface {
	driver.Driver
}

var (
	// ErrUnsupportedDSN means a DSN names no database this package can
	// open.
	ErrUnsupportedDSN = errors.New("dialects: unsupported DSN")

	// ErrUnsupportedDatabase means the database answers but cannot hold
	// what the store writes faithfully, such as a Postgres database whose
	// encoding is not UTF8.
	ErrUnsupportedDatabase = errors.New("dialects: unsupported database")
)

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

// Redact returns dsn with every secret replaced by "xxxxx", for errors and
// logs: the password of a URL's user (user:password@host), and the value of
// every parameter whose name contains "password" (password, sslpassword),
// in URLs and in key=value DSNs alike. A DSN it cannot parse is replaced by
// its scheme alone.
func Redact(dsn string) string { return driver.Redact(dsn) }
