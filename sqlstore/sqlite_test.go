package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

const childEnv = "MCPSESSION_SQLITE_WRITER_DSN"

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

// TestMain runs the child of TestSQLiteTwoProcesses when asked to.
func TestMain(m *testing.M) {
	if dsn := os.Getenv(childEnv); dsn != "" {
		os.Exit(sqliteWriterProcess(dsn))
	}
	os.Exit(m.Run())
}

func sqliteWriterProcess(dsn string) int {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, dsn)
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
