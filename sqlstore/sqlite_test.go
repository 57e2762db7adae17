package sqlstore_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

const (
	childEnv = "MCPSESSION_SQLITE_WRITER_DSN"
	// openerEnv makes the test binary an opener process of
	// TestSQLiteFreshFileManyProcesses.
	openerEnv = "MCPSESSION_SQLITE_OPENER_DSN"
	// openRoundsEnv overrides how many rounds that test runs.
	openRoundsEnv = "MCPSESSION_TEST_SQLITE_OPEN_ROUNDS"
)

// writeLoad creates, updates and deletes sessions, and records its name in
// one session every process shares.
func writeLoad(ctx context.Context, s *sqlstore.Store, name string, rounds int) error {
	for r := range rounds {
		id := mcpsession.NewID()
		if err := s.Create(ctx, id, map[string]any{"by": name}); err != nil {
			return fmt.Errorf("%s round %d Create: %w", name, r, err)
		}
		if err := s.Update(ctx, "shared", map[string]any{name: r}); err != nil {
			return fmt.Errorf("%s round %d Update: %w", name, r, err)
		}
		if err := s.Modify(ctx, "shared", func(m map[string]any) (map[string]any, error) {
			n, _ := m["modifies"].(float64)
			m["modifies"] = n + 1
			return m, nil
		}); err != nil {
			return fmt.Errorf("%s round %d Modify: %w", name, r, err)
		}
		if err := s.Delete(ctx, id); err != nil {
			return fmt.Errorf("%s round %d Delete: %w", name, r, err)
		}
	}
	return nil
}

// TestMain runs the children of TestSQLiteTwoProcesses and
// TestSQLiteFreshFileManyProcesses when asked to.
func TestMain(m *testing.M) {
	if dsn := os.Getenv(childEnv); dsn != "" {
		os.Exit(sqliteWriterProcess(dsn))
	}
	if dsn := os.Getenv(openerEnv); dsn != "" {
		os.Exit(sqliteOpenerProcess(dsn))
	}
	os.Exit(m.Run())
}

// sqliteOpenerProcess starts as a replica does: it waits for its standard
// input to close (so that every opener of a round starts at once), opens
// the store with its migrations, and creates one session.
func sqliteOpenerProcess(dsn string) int {
	_, _ = io.Copy(io.Discard, os.Stdin)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := sqlstore.Open(ctx, testdb.Dialect(dsn), dsn, sqlstore.WithAutoMigrate())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	if err := s.Create(ctx, mcpsession.NewID(), map[string]any{"pid": os.Getpid()}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func sqliteWriterProcess(dsn string) int {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, testdb.Dialect(dsn), dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	rounds, _ := strconv.Atoi(os.Getenv(childEnv + "_ROUNDS"))
	if err := writeLoad(ctx, s, "child", rounds); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// Two processes writing one SQLite file at once: no "database is locked",
// no lost update, no lost increment.
func TestSQLiteTwoProcesses(t *testing.T) {
	t.Parallel()
	dsn := testdb.SQLiteFile(t)
	s := testdb.OpenStore(t, dsn)
	if err := s.Create(t.Context(), "shared", nil); err != nil {
		t.Fatal(err)
	}
	const rounds = 150
	child := exec.CommandContext(t.Context(), os.Args[0])
	child.Env = append(os.Environ(), childEnv+"="+dsn, childEnv+"_ROUNDS="+strconv.Itoa(rounds))
	var out []byte
	var childErr error
	var wg sync.WaitGroup
	wg.Go(func() { out, childErr = child.CombinedOutput() })
	parentErr := writeLoad(t.Context(), s, "parent", rounds)
	wg.Wait()
	if childErr != nil {
		t.Fatalf("child process: %v\n%s", childErr, out)
	}
	if parentErr != nil {
		t.Fatal(parentErr)
	}
	got, err := s.Get(t.Context(), "shared")
	if err != nil {
		t.Fatal(err)
	}
	if got["parent"] != float64(rounds-1) || got["child"] != float64(rounds-1) || got["modifies"] != float64(2*rounds) {
		t.Fatalf("shared session = %v; want parent and child at %d and %d modifies", got, rounds-1, 2*rounds)
	}
	if n := count(t, s); n != 1 {
		t.Fatalf("%d sessions left; want only the shared one", n)
	}
}

// Ten replicas started together on a SQLite file that does not exist yet,
// as the two-copy recipe of docs/example.md does: every one opens, migrates and
// writes, with no "database is locked", round after round. Each round is a
// new file, since the race is in the first switch to WAL and the first
// migration. Two rounds here; MCPSESSION_TEST_SQLITE_OPEN_ROUNDS sets
// another number, and the integration suite's
// TestSQLiteFreshFileManyProcessesSoak runs ten.
func TestSQLiteFreshFileManyProcesses(t *testing.T) {
	t.Parallel()
	const processes = 10
	rounds := 2
	if v := os.Getenv(openRoundsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", openRoundsEnv, v)
		}
		rounds = n
	}
	failed := 0
	for round := range rounds {
		dsn := testdb.SQLiteFile(t)
		fails := testdb.RunTogether(t, processes, openerEnv+"="+dsn)
		if len(fails) > 0 {
			failed++
			t.Errorf("round %d: %d of %d processes failed:\n%s", round, len(fails), processes, strings.Join(fails, "\n"))
			continue
		}
		s := testdb.OpenStore(t, dsn)
		if n := count(t, s); n != processes {
			t.Errorf("round %d: %d sessions in the file; want one per process, %d", round, n, processes)
		}
		var mode string
		if err := s.DB().QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" {
			t.Errorf("round %d: journal_mode = %q; want wal", round, mode)
		}
	}
	t.Logf("%d processes opening one fresh file at once: %d of %d rounds failed", processes, failed, rounds)
}
