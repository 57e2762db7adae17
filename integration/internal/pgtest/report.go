package pgtest

import (
	"errors"
	"fmt"
	"os"
	"testing"
)

// ReportEnv names a file that the fault and production-Postgres tests
// append their FAULT lines to, so that a run without -v (make test) can
// show what they measured.
const ReportEnv = "MCPSESSION_FAULT_REPORT"

// Report logs "FAULT " and the formatted line, and appends it to the
// report file when ReportEnv names one.
func Report(t testing.TB, format string, args ...any) {
	t.Helper()
	line := "FAULT " + fmt.Sprintf(format, args...)
	t.Log(line)
	path := os.Getenv(ReportEnv)
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err == nil {
		_, err = fmt.Fprintln(f, line)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		t.Errorf("%s: %v", ReportEnv, err)
	}
}
