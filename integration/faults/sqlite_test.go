package faults_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// writerEnv, set to a SQLite file path, makes the test binary the writer
// process of TestSQLiteKill instead of running tests.
const writerEnv = "MCPSESSION_FAULTS_SQLITE_WRITER"

// writerGoroutines is how many goroutines of the writer create sessions at
// once, so that the kill lands while writes queue for SQLite's lock.
const writerGoroutines = 4

// sqliteWriter creates sessions in the file at path until it is killed,
// printing "ack ID N" on stdout once Create(ID, {"n": N}) has returned nil.
// It returns an exit code only if it cannot go on.
func sqliteWriter(path string) int {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlite.Dialect(), "sqlite:"+path, sqlstore.WithAutoMigrate())
	if err != nil {
		fmt.Fprintln(os.Stderr, "writer:", err)
		return 1
	}
	var (
		mu  sync.Mutex
		out = bufio.NewWriter(os.Stdout)
	)
	errs := make(chan error, writerGoroutines)
	for g := range writerGoroutines {
		go func() {
			pad := strings.Repeat("p", 512)
			for n := g; ; n += writerGoroutines {
				id := mcpsession.NewID()
				if err := s.Create(ctx, id, map[string]any{"n": n, "pad": pad}); err != nil {
					errs <- err
					return
				}
				// Only once Create has returned is the session acknowledged;
				// flushing each line keeps what the parent read no later
				// than what was acknowledged.
				mu.Lock()
				fmt.Fprintf(out, "ack %s %d\n", id, n)
				err := out.Flush()
				mu.Unlock()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	err = <-errs
	fmt.Fprintln(os.Stderr, "writer:", err)
	return 1
}

// TestSQLiteKill kills a writing process with SIGKILL, several times over
// one file, and checks the file after each kill.
func TestSQLiteKill(t *testing.T) {
	const rounds = 5
	path := filepath.Join(t.TempDir(), "sessions.db")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))
	all := map[string]int{} // every acknowledged session, over all rounds
	for round := 1; round <= rounds; round++ {
		killAfter := 100 + rng.IntN(900)
		acks, stderr := runAndKill(t, path, killAfter)
		if len(acks) < killAfter {
			t.Fatalf("round %d: the writer acknowledged %d Creates, then stopped before it was killed:\n%s", round, len(acks), stderr)
		}
		for id, n := range acks {
			all[id] = n
		}
		integrity, lost := checkFile(t, path, all)
		t.Logf("round %d: killed after %d acks (%d read in all), integrity_check=%s, lost=%d", round, killAfter, len(acks), integrity, lost)
		if integrity != "ok" || lost > 0 {
			t.Fatalf("round %d: integrity_check=%q, %d of %d acknowledged sessions lost", round, integrity, lost, len(all))
		}
	}
	reportFault(t, "sqlite-sigkill: rounds=%d writers=%d acked=%d lost=0 integrity_check=ok", rounds, writerGoroutines, len(all))
}

// runAndKill starts the writer on path, SIGKILLs it once it has
// acknowledged killAfter Creates, and returns every acknowledgement it
// printed (those still in the pipe included) and its stderr.
func runAndKill(t *testing.T, path string, killAfter int) (map[string]int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), writerEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	kill := func() {
		if !killed {
			killed = true
			_ = cmd.Process.Kill() // SIGKILL
		}
	}
	defer kill()

	acks := map[string]int{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var id string
		var n int
		if _, err := fmt.Sscanf(sc.Text(), "ack %s %d", &id, &n); err != nil {
			t.Fatalf("writer printed %q: %v", sc.Text(), err)
		}
		acks[id] = n
		if len(acks) == killAfter {
			kill()
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exitErr *exec.ExitError
	if killed {
		ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !errors.As(err, &exitErr) || !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("the writer did not die of SIGKILL: %v\n%s", err, stderr.String())
		}
	}
	return acks, stderr.String()
}

// checkFile opens the file as a fresh process would after the crash, runs
// PRAGMA integrity_check, and counts the acknowledged sessions that are
// missing or hold something else.
func checkFile(t *testing.T, path string, acked map[string]int) (integrity string, lost int) {
	t.Helper()
	ctx := t.Context()
	s, err := sqlstore.Open(ctx, sqlite.Dialect(), "sqlite:"+path)
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer s.Close()
	rows, err := s.DB().QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	for id, n := range acked {
		m, err := s.Get(ctx, id)
		switch {
		case errors.Is(err, mcpsession.ErrNotFound):
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged session %s (n=%d) is gone", id, n)
			}
		case err != nil:
			t.Fatal(err)
		case m["n"] != float64(n):
			lost++
			t.Errorf("acknowledged session %s holds n=%v; want %d", id, m["n"], n)
		}
	}
	return strings.Join(lines, "; "), lost
}

// openerEnv, set to a SQLite DSN, makes the test binary an opener process
// of TestSQLiteFreshFileManyProcessesSoak.
const openerEnv = "MCPSESSION_FAULTS_SQLITE_OPENER"

// sqliteOpener starts as a replica does: it waits for its standard input to
// close (so that every opener of a round starts at once), opens the store
// with its migrations, and creates one session.
func sqliteOpener(dsn string) int {
	_, _ = io.Copy(io.Discard, os.Stdin)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := sqlstore.Open(ctx, sqlite.Dialect(), dsn, sqlstore.WithAutoMigrate())
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

// The soak of sqlstore's TestSQLiteFreshFileManyProcesses, which proves
// the property in two rounds: ten replicas started together on a SQLite
// file that does not exist yet all open, migrate and write, with no
// "database is locked", ten rounds of a new file each.
func TestSQLiteFreshFileManyProcessesSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("a soak of 100 process starts; -short leaves it out")
	}
	t.Parallel()
	const processes, rounds = 10, 10
	for round := range rounds {
		dsn := "sqlite:" + filepath.Join(t.TempDir(), "sessions.db")
		fails := testdb.RunTogether(t, processes, openerEnv+"="+dsn)
		if len(fails) > 0 {
			t.Errorf("round %d: %d of %d processes failed:\n%s", round, len(fails), processes, strings.Join(fails, "\n"))
			continue
		}
		s, err := sqlstore.Open(t.Context(), sqlite.Dialect(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		var mode string
		err = s.DB().QueryRowContext(t.Context(), "SELECT count(*) FROM mcp_sessions").Scan(&n)
		if err == nil {
			err = s.DB().QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode)
		}
		_ = s.Close()
		if err != nil {
			t.Fatal(err)
		}
		if n != processes || mode != "wal" {
			t.Errorf("round %d: %d sessions in the file, journal_mode %q; want one per process, %d, and wal", round, n, mode, processes)
		}
	}
}
