package sqlstore_test

import (
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
	"github.com/mcpsession/mcpsession/storetest"
)

// dsns are the databases every test runs on; each call returns a fresh,
// empty one.
var dsns = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite-file", func(t *testing.T) string { return testdb.SQLiteFile(t) }},
	{"sqlite-memory", func(*testing.T) string { return "sqlite::memory:" }},
	{"postgres", func(t *testing.T) string { return testdb.Postgres(t) }},
}

func TestConformance(t *testing.T) {
	for _, d := range dsns {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, func(t *testing.T) mcpsession.Store { return testdb.OpenStore(t, d.dsn(t)) })
		})
	}
}

func TestConformanceExpiry(t *testing.T) {
	for _, d := range dsns {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			storetest.RunExpiry(t, func(t *testing.T, idle, lifetime time.Duration) mcpsession.Store {
				var opts []sqlstore.Option
				if idle > 0 {
					opts = append(opts, sqlstore.WithIdleTimeout(idle))
				}
				if lifetime > 0 {
					opts = append(opts, sqlstore.WithMaxLifetime(lifetime))
				}
				return testdb.OpenStore(t, d.dsn(t), opts...)
			})
		})
	}
}

func TestHandleConformance(t *testing.T) {
	for _, d := range dsns {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			storetest.RunHandles(t, func(t *testing.T) mcpsession.HandleStore { return testdb.OpenStore(t, d.dsn(t)) })
		})
	}
}

func TestHandleConformanceExpiry(t *testing.T) {
	for _, d := range dsns {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			storetest.RunHandleExpiry(t, func(t *testing.T, idle, lifetime time.Duration) mcpsession.HandleStore {
				var opts []sqlstore.Option
				if idle > 0 {
					opts = append(opts, sqlstore.WithHandleIdleTimeout(idle))
				}
				if lifetime > 0 {
					opts = append(opts, sqlstore.WithHandleMaxLifetime(lifetime))
				}
				return testdb.OpenStore(t, d.dsn(t), opts...)
			})
		})
	}
}
