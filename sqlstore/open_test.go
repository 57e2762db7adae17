package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/dialects"
	"github.com/mcpsession/mcpsession/dialects/postgres"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/migrations"
	"github.com/mcpsession/mcpsession/sqlstore"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Open refuses a DSN its dialect does not take, before touching anything,
// with an error that names the forms the dialect takes and hides the
// password.
func TestOpenRejectsAnotherDialectsDSN(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		dialect  dialects.Dialect
		dsns     []string
		accepted []string
	}{
		{postgres.Dialect(), []string{
			"mysql://root:hunter2@localhost/db",
			"redis://:hunter2@localhost:6379",
			"sqlite:/tmp/x.db",
			"sqlite::memory:",
			"/var/lib/sessions.db",
			"",
		}, []string{"postgres://", "postgresql://", "key=value"}},
		{sqlite.Dialect(), []string{
			"postgres://u:hunter2@localhost/db",
			"host=localhost user=u password=hunter2 dbname=d",
			"/var/lib/sessions.db",
			"",
			"sqlite:",
		}, []string{"sqlite:PATH", "sqlite::memory:"}},
	} {
		for _, dsn := range c.dsns {
			_, err := sqlstore.Open(t.Context(), c.dialect, dsn)
			if !errors.Is(err, dialects.ErrUnsupportedDSN) {
				t.Errorf("%s: Open(%s): %v; want ErrUnsupportedDSN", c.dialect.Name(), dialects.Redact(dsn), err)
				continue
			}
			msg := err.Error()
			if strings.Contains(msg, "hunter2") {
				t.Errorf("error leaks the password: %s", msg)
			}
			for _, accepted := range c.accepted {
				if !strings.Contains(msg, accepted) {
					t.Errorf("error %q does not name the accepted form %s", msg, accepted)
				}
			}
		}
	}
	if _, err := sqlstore.Open(t.Context(), nil, "sqlite::memory:"); !errors.Is(err, mcpsession.ErrInvalidOption) {
		t.Errorf("Open(nil dialect): %v; want ErrInvalidOption", err)
	}
}

func TestOpenPostgresErrorsHidePassword(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// Nothing listens on port 1; the error must still not show the password.
	for _, dsn := range []string{
		"postgres://user:hunter2@127.0.0.1:1/db?sslmode=disable&connect_timeout=2",
		"postgresql://user:hunter2@127.0.0.1:1/db?sslmode=disable&connect_timeout=2",
		"postgres://user:hunter2@127.0.0.1:1/db?sslmode=bogus",
		// sslpassword decrypts a client key: a secret too (issue 13, item 9).
		"postgres://user@127.0.0.1:1/db?sslpassword=hunter2&sslmode=bogus",
		"postgres://user@127.0.0.1:1/db?sslpassword=hunter2&connect_timeout=nope",
		"host=127.0.0.1 port=1 user=u sslpassword=hunter2 sslmode=bogus",
		"postgres://user@127.0.0.1:1/db?sslpassword=hunter2&sslmode=disable&connect_timeout=2",
	} {
		_, err := sqlstore.Open(ctx, testdb.Dialect(dsn), dsn)
		if err == nil {
			t.Fatalf("Open(%s) succeeded", dialects.Redact(dsn))
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
}

func TestOptionsValidated(t *testing.T) {
	t.Parallel()
	db, err := sqlite.Dialect().Driver().Open(t.Context(), "sqlite::memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for name, opt := range map[string]sqlstore.Option{
		"idle 0":          sqlstore.WithIdleTimeout(0),
		"idle negative":   sqlstore.WithIdleTimeout(-time.Second),
		"idle under 1ms":  sqlstore.WithIdleTimeout(999 * time.Microsecond),
		"lifetime 0":      sqlstore.WithMaxLifetime(0),
		"max bytes 0":     sqlstore.WithMaxMetadataBytes(0),
		"max bytes 1":     sqlstore.WithMaxMetadataBytes(1),
		"batch 0":         sqlstore.WithCleanupBatchSize(0),
		"batch too large": sqlstore.WithCleanupBatchSize(2_000_000),
		"nil logger":      sqlstore.WithLogger(nil),
		"nil option":      nil,
	} {
		if _, err := sqlstore.New(db, sqlite.Dialect(), opt); !errors.Is(err, mcpsession.ErrInvalidOption) {
			t.Errorf("New with %s: %v; want ErrInvalidOption", name, err)
		}
		// Open refuses before touching the database: this path does not exist.
		dsn := "sqlite:" + filepath.Join(t.TempDir(), "missing-dir", "x.db")
		if _, err := sqlstore.Open(t.Context(), testdb.Dialect(dsn), dsn, opt); !errors.Is(err, mcpsession.ErrInvalidOption) {
			t.Errorf("Open with %s: %v; want ErrInvalidOption", name, err)
		}
	}
	if _, err := sqlstore.New(nil, sqlite.Dialect()); !errors.Is(err, mcpsession.ErrInvalidOption) {
		t.Errorf("New(nil db): %v", err)
	}
	if _, err := sqlstore.New(db, nil); !errors.Is(err, mcpsession.ErrInvalidOption) {
		t.Errorf("New(nil dialect): %v", err)
	}
}

// Close closes only what Open opened.
func TestCloseOwnership(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := sqlite.Dialect().Driver().Open(ctx, "sqlite::memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := migrations.Up(ctx, db, sqlite.Dialect()); err != nil {
		t.Fatal(err)
	}
	s, err := sqlstore.New(db, sqlite.Dialect())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, "a", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("the caller's db after Store.Close: %v", err)
	}
	again, err := sqlstore.New(db, sqlite.Dialect())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := again.Get(ctx, "a"); err != nil {
		t.Fatalf("a new Store on the caller's db after Close: %v", err)
	}

	opened, err := sqlstore.Open(ctx, sqlite.Dialect(), "sqlite::memory:", sqlstore.WithAutoMigrate())
	if err != nil {
		t.Fatal(err)
	}
	if err := opened.Close(); err != nil {
		t.Fatal(err)
	}
	if err := opened.DB().PingContext(ctx); err == nil {
		t.Fatal("the db Open opened is still open after Close")
	}
}

// sqlite::memory: is one database for all of a store's connections, and a
// different one for each Open.
func TestSQLiteMemoryShared(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a := testdb.OpenStore(t, "sqlite::memory:")
	b := testdb.OpenStore(t, "sqlite::memory:")
	if err := a.Create(ctx, "x", map[string]any{"store": "a"}); err != nil {
		t.Fatal(err)
	}
	// Hold several connections at once: each must see the session.
	var conns []*sql.Conn
	for range 4 {
		c, err := a.DB().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		var n int
		if err := c.QueryRowContext(ctx, "SELECT count(*) FROM mcp_sessions WHERE id = 'x'").Scan(&n); err != nil || n != 1 {
			t.Fatalf("connection %d sees %d rows (%v); want 1", i, n, err)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	// Idle connections closing does not drop the database.
	a.DB().SetMaxIdleConns(0)
	a.DB().SetMaxIdleConns(4)
	if _, err := a.Get(ctx, "x"); err != nil {
		t.Fatalf("after the idle connections closed: %v", err)
	}
	if _, err := b.Get(ctx, "x"); !errors.Is(err, mcpsession.ErrNotFound) {
		t.Fatalf("another sqlite::memory: store sees the session: %v", err)
	}
}

func TestAutoMigrateLogs(t *testing.T) {
	t.Parallel()
	var buf strings.Builder
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	testdb.OpenStore(t, "sqlite::memory:", sqlstore.WithLogger(logger))
	if !strings.Contains(buf.String(), "schema migrated") {
		t.Fatalf("log = %q; want a line saying the schema was migrated", buf.String())
	}
}

// Without WithAutoMigrate nothing creates the table.
func TestNoAutoMigrate(t *testing.T) {
	t.Parallel()
	s, err := sqlstore.Open(t.Context(), sqlite.Dialect(), "sqlite::memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Create(t.Context(), "a", nil)
	if err == nil || !strings.Contains(err.Error(), "sqlstore: create session:") {
		t.Fatalf("Create without a schema: %v; want a wrapped database error", err)
	}
}
