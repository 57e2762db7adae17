package postgres_test

import (
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mcpsession/mcpsession/dialects"
	"github.com/mcpsession/mcpsession/dialects/postgres"
	"github.com/mcpsession/mcpsession/internal/driver"
)

// Open takes the DSNs pgx takes, and refuses any other form before pgx
// would read it as key=value pairs or fall back to the PG* variables,
// naming the forms it takes and hiding the password.
func TestOpenRefusesOtherDSNs(t *testing.T) {
	t.Parallel()
	drv := postgres.Dialect().Driver()
	for _, dsn := range []string{
		"",
		"   ",
		"sqlite:/tmp/x.db",
		"sqlite:x.db?_pragma=busy_timeout(1)",
		"sqlite::memory:",
		"mysql://root:hunter2@localhost/db",
		"redis://:hunter2@localhost:6379",
		"POSTGRES://u:hunter2@h/d",
		"/var/lib/sessions.db",
		"=x",
	} {
		db, err := drv.Open(t.Context(), dsn)
		if err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded; want ErrUnsupportedDSN", dialects.Redact(dsn))
			continue
		}
		if !errors.Is(err, dialects.ErrUnsupportedDSN) {
			t.Errorf("Open(%q): %v; want ErrUnsupportedDSN", dialects.Redact(dsn), err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks the password: %v", err)
		}
		for _, form := range []string{"postgres://", "postgresql://", "key=value"} {
			if !strings.Contains(err.Error(), form) {
				t.Errorf("error %q does not name the accepted form %s", err, form)
			}
		}
	}
	// pgx's forms open (lazily: nothing listens there).
	for _, dsn := range []string{
		"postgres://u@127.0.0.1:1/d",
		"postgresql://u@127.0.0.1:1/d",
		"host=127.0.0.1 port=1 user=u dbname=d",
		" host = 127.0.0.1 port=1",
	} {
		db, err := drv.Open(t.Context(), dsn)
		if err != nil {
			t.Errorf("Open(%q): %v", dsn, err)
			continue
		}
		db.Close()
	}
}

// TransactionPooled is what the DSN's exec mode says: exec and
// simple_protocol prepare nothing on the server, as a pooler in
// transaction mode needs, and there LISTEN hears nothing.
func TestTransactionPooled(t *testing.T) {
	t.Parallel()
	drv := postgres.Dialect().Driver()
	for dsn, want := range map[string]bool{
		"postgres://u@h/d": false,
		"postgres://u@h/d?default_query_exec_mode=exec":             true,
		"postgres://u@h/d?default_query_exec_mode=simple_protocol":  true,
		"postgres://u@h/d?default_query_exec_mode=cache_statement":  false,
		"host=h default_query_exec_mode=exec":                       true,
		"host=h default_query_exec_mode='simple_protocol' dbname=d": true,
		"host=h dbname=d": false,
	} {
		if got := drv.TransactionPooled(dsn); got != want {
			t.Errorf("TransactionPooled(%q) = %v; want %v", dsn, got, want)
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
		if got := postgres.Dialect().Driver().ClassifyError(c.err); got != c.want {
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
	if got := postgres.Dialect().Driver().ClassifyError(err); got != driver.ErrorUnavailable {
		t.Errorf("pgx connect to a closed port (%v): %v; want unavailable", err, got)
	}
}
