package dialects_test

import (
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mcpsession/mcpsession/dialects"
	"github.com/mcpsession/mcpsession/internal/driver"
)

func TestForDSN(t *testing.T) {
	t.Parallel()
	for dsn, want := range map[string]dialects.Dialect{
		"postgres://u@h/d":      dialects.Postgres,
		"postgresql://u@h/d":    dialects.Postgres,
		"POSTGRES://u@h/d":      dialects.Postgres,
		"sqlite:/tmp/x.db":      dialects.SQLite,
		"sqlite:relative.db":    dialects.SQLite,
		"sqlite::memory:":       dialects.SQLite,
		"sqlite:x.db?_txlock=1": dialects.SQLite,
	} {
		got, err := dialects.ForDSN(dsn)
		if err != nil || got != want {
			t.Errorf("ForDSN(%q) = %v, %v; want %s", dsn, got, err, want.Name())
		}
	}
	for _, dsn := range []string{"", "mysql://h/d", "file:x.db", "/x.db", "host=h dbname=d"} {
		if _, err := dialects.ForDSN(dsn); !errors.Is(err, dialects.ErrUnsupportedDSN) {
			t.Errorf("ForDSN(%q) = %v; want ErrUnsupportedDSN", dsn, err)
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"postgres://u:secret@h:5432/d?sslmode=disable": "postgres://u:xxxxx@h:5432/d?sslmode=disable",
		"postgres://u@h/d":                                            "postgres://u@h/d",
		"postgres://h/d?password=secret&x=1":                          "postgres://h/d?password=xxxxx&x=1",
		"host=h password=secret dbname=d":                             "host=h password=xxxxx dbname=d",
		"host=h password='se cret' dbname=d":                          "host=h password=xxxxx dbname=d",
		"sqlite:/tmp/x.db":                                            "sqlite:/tmp/x.db",
		"postgres://u:pw@h/d?sslpassword=keypass&sslmode=verify-full": "postgres://u:xxxxx@h/d?sslmode=verify-full&sslpassword=xxxxx",
		"postgres://h/d?SSLPassword=keypass":                          "postgres://h/d?SSLPassword=xxxxx",
		"host=h sslpassword=keypass password=pw dbname=d":             "host=h sslpassword=xxxxx password=xxxxx dbname=d",
		"host=h sslpassword='key pass' dbname=d":                      "host=h sslpassword=xxxxx dbname=d",
	} {
		if got := dialects.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q; want %q", in, got, want)
		}
	}
}

// ClassifyError sorts what a failover throws at a caller: the messages of
// issue 12, as pgx and database/sql return them.
func TestClassifyError(t *testing.T) {
	t.Parallel()
	pg := func(code string) error { return fmt.Errorf("exec: %w", &pgconn.PgError{Code: code}) }
	for _, c := range []struct {
		name string
		err  error
		want driver.ErrorKind
	}{
		{"admin shutdown", pg("57P01"), driver.ErrorUnavailable},
		{"crash shutdown", pg("57P02"), driver.ErrorUnavailable},
		{"cannot connect now", pg("57P03"), driver.ErrorUnavailable},
		{"too many connections", pg("53300"), driver.ErrorUnavailable},
		{"connection failure", pg("08006"), driver.ErrorUnavailable},
		{"read-only transaction", pg("25006"), driver.ErrorReadOnly},
		{"unique violation", pg("23505"), driver.ErrorOther},
		{"bad password", pg("28P01"), driver.ErrorOther},
		{"bad conn", fmt.Errorf("x: %w", sqldriver.ErrBadConn), driver.ErrorUnavailable},
		{"unexpected EOF", fmt.Errorf("x: %w", io.ErrUnexpectedEOF), driver.ErrorUnavailable},
		{"connection refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, driver.ErrorUnavailable},
		{"other", errors.New("syntax error"), driver.ErrorOther},
	} {
		if got := dialects.Postgres.ClassifyError(c.err); got != c.want {
			t.Errorf("Postgres: %s: %v; want %v", c.name, got, c.want)
		}
	}
	// A real connection refused, as pgx reports it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = pgx.Connect(t.Context(), "postgres://u@"+addr+"/db?sslmode=disable")
	if got := dialects.Postgres.ClassifyError(err); got != driver.ErrorUnavailable {
		t.Errorf("pgx connect to a closed port (%v): %v; want unavailable", err, got)
	}
	// SQLite: a write on a query_only connection.
	db, err := dialects.SQLite.Open(t.Context(), "sqlite::memory:?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = db.ExecContext(t.Context(), "CREATE TABLE t (x)")
	if got := dialects.SQLite.ClassifyError(err); got != driver.ErrorReadOnly {
		t.Errorf("SQLite write on query_only (%v): %v; want read-only", err, got)
	}
}
