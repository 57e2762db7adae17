package faults_test

import (
	"os"
	"testing"

	"github.com/mcpsession/mcpsession/mcpsessiontest"
)

func TestMain(m *testing.M) {
	// The test binary doubles as the SQLite writer that TestSQLiteKill
	// starts and kills, and the openers of
	// TestSQLiteFreshFileManyProcessesSoak.
	if path := os.Getenv(writerEnv); path != "" {
		os.Exit(sqliteWriter(path))
	}
	if dsn := os.Getenv(openerEnv); dsn != "" {
		os.Exit(sqliteOpener(dsn))
	}
	mcpsessiontest.Main(m)
}
