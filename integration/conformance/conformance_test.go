package conformance_test

import (
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/integration/internal/pgtest"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
	"github.com/mcpsession/mcpsession/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// databases are the databases every test runs on; each call returns a new,
// empty one.
var databases = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"postgres", func(t *testing.T) string { return pgtest.DSN(t) }},
	{"sqlite-file", func(t *testing.T) string { return testdb.SQLiteFile(t) }},
}

func TestConformance(t *testing.T) {
	for _, d := range databases {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, func(t *testing.T) mcpsession.Store { return testdb.OpenStore(t, d.dsn(t)) })
		})
	}
}

func TestConformanceExpiry(t *testing.T) {
	for _, d := range databases {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			storetest.RunExpiry(t, func(t *testing.T, idle, lifetime time.Duration) mcpsession.Store {
				return testdb.OpenStore(t, d.dsn(t), expiryOptions(idle, lifetime)...)
			})
		})
	}
}

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
