package dialects_test

import (
	"errors"
	"testing"

	"github.com/mcpsession/mcpsession/dialects"
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
