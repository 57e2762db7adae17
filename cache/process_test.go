package cache_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/cache"
	"github.com/mcpsession/mcpsession/internal/msgbus"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// readerEnv makes the test binary a reader process: a replica with its own
// store, bus and cache over the DSN it names, answering "get ID" lines on
// stdin with "found", "missing" or "error …" on stdout.
const readerEnv = "MCPSESSION_CACHE_READER_DSN"

func TestMain(m *testing.M) {
	if dsn := os.Getenv(readerEnv); dsn != "" {
		os.Exit(readerProcess(dsn))
	}
	os.Exit(m.Run())
}

func readerProcess(dsn string) int {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, testdb.Dialect(dsn), dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	b, err := bus.New(s, bus.WithPollInterval(20*time.Millisecond))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c, err := cache.New(s, b, cache.WithMaxStaleness(processBound))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	listening := make(chan struct{}, 1)
	stopWatch := (*msgbus.Bus)(b).OnListening(func(on bool) {
		select {
		case listening <- struct{}{}:
		default:
		}
	})
	go b.Run(rctx)
	<-b.Ready()
	for (*msgbus.Bus)(b).DatabaseListens() && !(*msgbus.Bus)(b).Listening() {
		<-listening
	}
	stopWatch()
	invalidated := cache.Invalidated(c)
	invalidated.Arm(exitOnFatal{})
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd, rest, _ := strings.Cut(in.Text(), " ")
		switch cmd {
		case "get":
			fmt.Println(answer(ctx, c, rest))
		case "wait":
			// "wait ID WANT": ask the cache again each time it drops an
			// entry, until it answers WANT (or twice the bound passes),
			// and say what it answered last. What it dropped before this
			// line says nothing of this write.
			id, want, _ := strings.Cut(rest, " ")
			invalidated.Drain()
			got := answer(ctx, c, id)
			deadline := time.After(2 * processBound)
		wait:
			for got != want {
				select {
				case <-invalidated.C():
				case <-deadline:
					break wait
				}
				got = answer(ctx, c, id)
			}
			fmt.Println(got)
		}
	}
	return 0
}

// exitOnFatal is the reader process's testing.TB for its signal: a
// failure ends the process, which its test then reports.
type exitOnFatal struct{}

func (exitOnFatal) Helper()        {}
func (exitOnFatal) Cleanup(func()) {}
func (exitOnFatal) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

// answer is what the reader says of id: "found", "missing" or "error …".
func answer(ctx context.Context, c cache.Store, id string) string {
	_, err := c.Get(ctx, id)
	switch {
	case err == nil:
		return "found"
	case errors.Is(err, mcpsession.ErrNotFound):
		return "missing"
	}
	return "error " + err.Error()
}

// processBound is the staleness bound the reader process runs with.
const processBound = time.Second

type reader struct {
	in  io.Writer
	out *bufio.Scanner
}

func startReader(t *testing.T, dsn string) *reader {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), readerEnv+"="+dsn)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		cmd.Wait()
	})
	r := &reader{in: in, out: bufio.NewScanner(out)}
	if line := r.line(t); line != "ready" {
		t.Fatalf("reader process: %q", line)
	}
	return r
}

func (r *reader) line(t *testing.T) string {
	t.Helper()
	if !r.out.Scan() {
		t.Fatalf("the reader process ended: %v", r.out.Err())
	}
	return r.out.Text()
}

func (r *reader) get(t *testing.T, id string) string {
	t.Helper()
	fmt.Fprintf(r.in, "get %s\n", id)
	return r.line(t)
}

// Two processes: a session the other process has cached, deleted through
// this one's cache, answers not found there within the staleness bound;
// and on Postgres also while the listeners' connections are killed again
// and again. A few rounds prove it; the integration suite's
// TestCacheDeleteSeenAcrossProcessesSoak runs 1300.
func TestTwoProcessesDeleteThenNotFound(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		w := newReplica(t, dsn, nil)
		r := startReader(t, dsn)
		const rounds = 20
		lags := deleteRounds(t, w, r, rounds, nil)
		t.Logf("%s: %d deletes seen by the other process: %s", t.Name(), rounds, summary(lags))
		if !(*msgbus.Bus)(w.bus).DatabaseListens() {
			return
		}
		ctx, stop := context.WithCancel(t.Context())
		ticks := make(chan struct{}, 1)
		killed := keepKillingListeners(ctx, w, ticks, 1)
		lags = deleteRounds(t, w, r, rounds, ticks)
		stop()
		n := killed()
		if n == 0 {
			t.Fatal("no listener connection was killed: the rounds proved nothing")
		}
		t.Logf("%s: with %d listener connections killed meanwhile, %d deletes seen: %s", t.Name(), n, rounds, summary(lags))
	})
}

// deleteRounds creates a session, lets the reader cache it, deletes it and
// waits until the reader answers missing, rounds times; it returns how long
// each delete took to be seen. Each round done is a tick on ticks, when
// given.
func deleteRounds(t *testing.T, w *replica, r *reader, rounds int, ticks chan<- struct{}) []time.Duration {
	t.Helper()
	ctx := t.Context()
	var lags []time.Duration
	for i := range rounds {
		id := fmt.Sprintf("p-%d-%s", i, mcpsession.NewID()[:8])
		if err := w.cache.Create(ctx, id, map[string]any{"i": i}); err != nil {
			t.Fatal(err)
		}
		if got := r.get(t, id); got != "found" { // cached over there now
			t.Fatalf("round %d: the reader: %s", i, got)
		}
		// The reader starts asking before the delete, and answers once it
		// sees it (or gives up after twice the bound).
		fmt.Fprintf(r.in, "wait %s missing\n", id)
		deleted := time.Now()
		if err := w.cache.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
		got := r.line(t)
		if time.Since(deleted) > processBound || got != "missing" {
			t.Fatalf("round %d: the reader still said %q %v after the delete; the bound is %v", i, got, time.Since(deleted), processBound)
		}
		lags = append(lags, time.Since(deleted))
		if ticks != nil {
			tick(ticks)
		}
	}
	return lags
}

func summary(lags []time.Duration) string {
	slices.Sort(lags)
	n := len(lags)
	return fmt.Sprintf("p50 %v, p99 %v, max %v", lags[n/2], lags[n*99/100], lags[n-1])
}
