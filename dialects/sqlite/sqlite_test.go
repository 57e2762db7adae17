package sqlite_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mcpsession/mcpsession/dialects"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/internal/driver"
)

// Open takes sqlite:PATH and sqlite::memory: only, naming them when it
// refuses another form, and hiding the password of a DSN meant for
// another database.
func TestOpenRefusesOtherDSNs(t *testing.T) {
	t.Parallel()
	drv := sqlite.Dialect().Driver()
	for _, dsn := range []string{
		"",
		"sqlite:",
		"postgres://u:hunter2@h/d",
		"host=h password=hunter2 dbname=d",
		"/var/lib/sessions.db",
		"file:x.db",
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
		for _, form := range []string{"sqlite:PATH", "sqlite::memory:"} {
			if !strings.Contains(err.Error(), form) {
				t.Errorf("error %q does not name the accepted form %s", err, form)
			}
		}
	}
}

// ClassifyError: a write on a query_only connection is read-only.
func TestClassifyError(t *testing.T) {
	t.Parallel()
	drv := sqlite.Dialect().Driver()
	db, err := drv.Open(t.Context(), "sqlite::memory:?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = db.ExecContext(t.Context(), "CREATE TABLE t (x)")
	if got := drv.ClassifyError(err); got != driver.ErrorReadOnly {
		t.Errorf("SQLite write on query_only (%v): %v; want read-only", err, got)
	}
}
