package conformance_test

import (
	"testing"
	"time"

	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/mcpsessiontest"
	"github.com/mcpsession/mcpsession/sqlstore"
)

func TestMain(m *testing.M) { mcpsessiontest.Main(m) }

// databases are the databases every test runs on; each call returns a new,
// empty one.
var databases = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"postgres", func(t *testing.T) string { return mcpsessiontest.PostgresDSN(t) }},
	{"sqlite-file", func(t *testing.T) string { return testdb.SQLiteFile(t) }},
}

// The conformance kit itself runs in package sqlstore, on SQLite and on the
// Postgres that make test gives the core module: once. This package keeps
// what needs a server of its own: hostile input, and a least-privilege
// role.

func expiryOptions(idle, lifetime time.Duration) []sqlstore.Option {
	var opts []sqlstore.Option
	if idle > 0 {
		opts = append(opts, sqlstore.WithIdleTimeout(idle))
	}
	if lifetime > 0 {
		opts = append(opts, sqlstore.WithMaxLifetime(lifetime))
	}
	return opts
}
