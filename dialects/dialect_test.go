package dialects_test

import (
	"testing"

	"github.com/mcpsession/mcpsession/dialects"
)

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
