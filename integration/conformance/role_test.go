package conformance_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/dialects/postgres"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/mcpsessiontest"
	"github.com/mcpsession/mcpsession/sqlstore"
	"github.com/mcpsession/mcpsession/storetest"
)

// appRole is a login role that holds SELECT, INSERT, UPDATE and DELETE on
// mcp_sessions and mcpsession_leases (the cleanup lease) in the schemas it
// is granted, and nothing else: what an application runs as when its
// schema is migrated by someone else.
type appRole struct {
	admin    string // the server's superuser DSN
	name     string
	password string
}

// newAppRole creates the role, dropped when t ends.
func newAppRole(t *testing.T) *appRole {
	t.Helper()
	r := &appRole{
		admin:    mcpsessiontest.PostgresAdminDSN(t),
		name:     "mcps_app_" + strings.ToLower(rand.Text()[:12]),
		password: rand.Text(),
	}
	db := adminDB(t, r.admin)
	// Not testdb.Exec: its failure message would show the statement, and
	// so the password.
	if _, err := db.ExecContext(t.Context(), "CREATE ROLE "+r.name+" LOGIN PASSWORD '"+r.password+"'"); err != nil {
		t.Fatalf("create role %s: %v", r.name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db, err := postgres.Dialect().Driver().Open(ctx, r.admin)
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		for _, q := range []string{"DROP OWNED BY " + r.name, "DROP ROLE " + r.name} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
	})
	return r
}

// schema returns the DSN of a new schema, migrated by its owner (the
// superuser) when migrated is set, in which the role has USAGE and, if the
// tables exist, its four rights on mcp_sessions and mcpsession_leases; and
// the same DSN logged in
// as the role.
func (r *appRole) schema(t *testing.T, migrated bool) (ownerDSN, roleDSN string) {
	t.Helper()
	ownerDSN = testdb.PostgresSchema(t, r.admin)
	schema := searchPath(t, ownerDSN)
	db := adminDB(t, ownerDSN)
	if migrated {
		owner, err := sqlstore.Open(t.Context(), postgres.Dialect(), ownerDSN, sqlstore.WithAutoMigrate())
		if err != nil {
			t.Fatal(err)
		}
		if err := owner.Close(); err != nil {
			t.Fatal(err)
		}
		testdb.Exec(t, db, "GRANT SELECT, INSERT, UPDATE, DELETE ON "+schema+".mcp_sessions, "+schema+".mcpsession_leases TO "+r.name)
	}
	testdb.Exec(t, db, "GRANT USAGE ON SCHEMA "+schema+" TO "+r.name)
	u, err := url.Parse(ownerDSN)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(r.name, r.password)
	return ownerDSN, u.String()
}

// open opens a store as the role, without WithAutoMigrate, on a new
// migrated schema.
func (r *appRole) open(t *testing.T, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	_, dsn := r.schema(t, true)
	s, err := sqlstore.Open(t.Context(), postgres.Dialect(), dsn, opts...)
	if err != nil {
		t.Fatalf("open as the application role: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func adminDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := postgres.Dialect().Driver().Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestLeastPrivilegeRole runs the store as a role that cannot change the
// schema: the whole contract must hold with DML rights alone, and
// WithAutoMigrate must fail plainly rather than half-migrate.
func TestLeastPrivilegeRole(t *testing.T) {
	t.Parallel()
	r := newAppRole(t)

	t.Run("RightsAreOnlyDML", func(t *testing.T) {
		t.Parallel()
		ownerDSN, _ := r.schema(t, true)
		schema := searchPath(t, ownerDSN)
		db := adminDB(t, ownerDSN)
		var create, truncate, references, trigger, versions bool
		err := db.QueryRowContext(t.Context(), `SELECT
			has_schema_privilege($1, $2, 'CREATE'),
			has_table_privilege($1, $2 || '.mcp_sessions', 'TRUNCATE'),
			has_table_privilege($1, $2 || '.mcp_sessions', 'REFERENCES'),
			has_table_privilege($1, $2 || '.mcp_sessions', 'TRIGGER'),
			has_table_privilege($1, $2 || '.mcpsession_db_version', 'SELECT')`,
			r.name, schema).Scan(&create, &truncate, &references, &trigger, &versions)
		if err != nil {
			t.Fatal(err)
		}
		if create || truncate || references || trigger || versions {
			t.Fatalf("the role has more than DML on mcp_sessions: CREATE on schema %v, TRUNCATE %v, REFERENCES %v, TRIGGER %v, SELECT on the version table %v",
				create, truncate, references, trigger, versions)
		}
	})

	t.Run("Conformance", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, func(t *testing.T) mcpsession.Store { return r.open(t) })
	})

	t.Run("ConformanceExpiry", func(t *testing.T) {
		t.Parallel()
		storetest.RunExpiry(t, func(t *testing.T, idle, lifetime time.Duration) mcpsession.Store {
			return r.open(t, expiryOptions(idle, lifetime)...)
		})
	})

	t.Run("AutoMigrateRefused", func(t *testing.T) {
		t.Parallel()
		_, dsn := r.schema(t, false)
		s, err := sqlstore.Open(t.Context(), postgres.Dialect(), dsn, sqlstore.WithAutoMigrate())
		if err == nil {
			_ = s.Close()
			t.Fatal("WithAutoMigrate as a role without CREATE opened a store on an empty schema")
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" { // insufficient_privilege
			t.Fatalf("WithAutoMigrate as a role without CREATE: %v; want permission denied (SQLSTATE 42501)", err)
		}
		if !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("the error does not say why: %v", err)
		}
		if strings.Contains(err.Error(), r.password) {
			t.Errorf("the error shows the role's password: %v", err)
		}
		t.Logf("as expected: %v", err)

		// Nothing was half-created.
		var tables int
		if err := adminDB(t, r.admin).QueryRowContext(t.Context(),
			`SELECT count(*) FROM pg_tables WHERE schemaname = $1`, searchPath(t, dsn)).Scan(&tables); err != nil {
			t.Fatal(err)
		}
		if tables != 0 {
			t.Errorf("the failed migration left %d tables in the schema", tables)
		}
	})

	t.Run("WithoutAutoMigrateNoDDL", func(t *testing.T) {
		t.Parallel()
		// On an empty schema the role's store opens (Open runs no DDL)
		// and its calls fail for want of the table, not with a DDL error.
		_, dsn := r.schema(t, false)
		s, err := sqlstore.Open(t.Context(), postgres.Dialect(), dsn)
		if err != nil {
			t.Fatalf("Open without WithAutoMigrate ran something the role may not: %v", err)
		}
		defer s.Close()
		err = s.Create(t.Context(), mcpsession.NewID(), nil)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42P01" { // undefined_table
			t.Fatalf("Create on an unmigrated schema: %v; want undefined table (SQLSTATE 42P01)", err)
		}
	})

	t.Run("WrongPasswordNotShown", func(t *testing.T) {
		t.Parallel()
		_, dsn := r.schema(t, true)
		u, _ := url.Parse(dsn)
		wrong := "Wrong" + rand.Text()
		u.User = url.UserPassword(r.name, wrong)
		s, err := sqlstore.Open(t.Context(), postgres.Dialect(), u.String())
		if err == nil {
			_ = s.Close()
			t.Fatal("Open with a wrong password succeeded")
		}
		for _, secret := range []string{wrong, r.password} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error shows a password: %v", err)
			}
		}
		if !strings.Contains(err.Error(), "xxxxx") {
			t.Errorf("the error does not show the redacted DSN: %v", err)
		}
	})
}

func searchPath(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("search_path")
}
