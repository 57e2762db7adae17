package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
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
	"github.com/mcpsession/mcpsession/mcpsessiontest"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// implCache is the store behind package cache (impl=cache): Get from
// memory while coherent, every write announced on a bus running in the
// benchmark's process.
const implCache = "cache"

// newCache returns a cache over store, with its bus running until b ends,
// once the bus listens (on Postgres) or has found its position.
func newCache(b testing.TB, store *sqlstore.Store) cache.Store {
	b.Helper()
	c, _ := newCacheBus(b, store)
	return c
}

// newCacheBus is newCache with opts for its bus, and the bus.
func newCacheBus(b testing.TB, store *sqlstore.Store, opts ...bus.Option) (cache.Store, *bus.Bus) {
	b.Helper()
	bs, err := bus.New(store, opts...)
	if err != nil {
		b.Fatal(err)
	}
	c, err := cache.New(store, bs)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = bs.Run(ctx) }()
	b.Cleanup(func() {
		_ = c.Close()
		cancel()
		<-done
	})
	<-bs.Ready()
	waitListening(b, bs)
	return c, bs
}

// waitListening returns once bs listens, where its database can wake it.
func waitListening(b testing.TB, bs *bus.Bus) {
	b.Helper()
	changed := make(chan struct{}, 1)
	defer (*msgbus.Bus)(bs).OnListening(func(bool) {
		select {
		case changed <- struct{}{}:
		default:
		}
	})()
	deadline := time.After(30 * time.Second)
	for (*msgbus.Bus)(bs).DatabaseListens() && !(*msgbus.Bus)(bs).Listening() {
		select {
		case <-changed:
		case <-deadline:
			b.Fatal("the cache's bus did not listen within 30s")
		}
	}
}

// seenReaderEnv makes the benchmark binary a reader process: a replica
// with a store, a bus and a cache of its own over the DSN it names,
// answering "get ID" lines on stdin with "found" or "missing".
const seenReaderEnv = "MCPSESSION_BENCH_CACHE_READER"

// seenReaderPollEnv sets the reader's bus poll interval (a Go duration);
// the bus's default otherwise.
const seenReaderPollEnv = "MCPSESSION_BENCH_CACHE_READER_POLL"

// readerMain is the reader process (see TestMain).
func readerMain(dsn string) int {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, testdb.Dialect(dsn), dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	var opts []bus.Option
	if d, err := time.ParseDuration(os.Getenv(seenReaderPollEnv)); err == nil {
		opts = append(opts, bus.WithPollInterval(d))
	}
	c, _ := newCacheBus(exitOnFatal{}, s, opts...)
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd, rest, _ := strings.Cut(in.Text(), " ")
		switch cmd {
		case "get":
			fmt.Println(seenAnswer(ctx, c, rest))
		case "wait":
			// "wait ID WANT": ask every 100 µs, as a busy client would,
			// until the answer is WANT (or 5 s pass); answer the last.
			// Kept polling: a busy client's view is what the benchmark
			// and the soak measure (the cache's own tests wait on its
			// test signal instead).
			id, want, _ := strings.Cut(rest, " ")
			got := seenAnswer(ctx, c, id)
			for deadline := time.Now().Add(5 * time.Second); got != want && time.Now().Before(deadline); got = seenAnswer(ctx, c, id) {
				time.Sleep(100 * time.Microsecond)
			}
			fmt.Println(got)
		}
	}
	return 0
}

// seenAnswer is what the reader says of id: "found V", "missing" or
// "error …".
func seenAnswer(ctx context.Context, c cache.Store, id string) string {
	md, err := c.Get(ctx, id)
	switch {
	case err == nil:
		return fmt.Sprint("found ", md["v"])
	case errors.Is(err, mcpsession.ErrNotFound):
		return "missing"
	}
	return "error " + err.Error()
}

// exitOnFatal is the testing.TB of the reader process: Fatal ends it.
type exitOnFatal struct{ testing.TB }

func (exitOnFatal) Helper()                   {}
func (exitOnFatal) Cleanup(func())            {}
func (exitOnFatal) Fatal(args ...any)         { fmt.Fprintln(os.Stderr, args...); os.Exit(1) }
func (exitOnFatal) Fatalf(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...); os.Exit(1) }

// BenchmarkCacheSeenElsewhere measures how soon a write through one
// process's cache is seen by a second process that has the session cached:
// each iteration creates a session, lets the reader cache it, updates it
// (even iterations) or deletes it (odd ones) here, while the reader asks
// its cache every 100 µs until it answers the new state. It reports
// the p50 and p99 of that lag, on Postgres (NOTIFY) and on SQLite (the
// bus's poll). The reader is the benchmark binary itself, started again.
func BenchmarkCacheSeenElsewhere(b *testing.B) {
	for _, d := range availableDialects(b) {
		b.Run("dialect="+d, func(b *testing.B) {
			var dsn string
			if d == dialectPostgres {
				dsn = mcpsessiontest.PostgresDSN(b)
			} else {
				dsn = "sqlite:" + b.TempDir() + "/sessions.db"
			}
			w := newCache(b, openStore(b, dsn, sqlstore.WithAutoMigrate()))
			r := startCacheReader(b, dsn)
			ctx := context.Background()
			lags := make([]time.Duration, 0, b.N)
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				id := fmt.Sprintf("seen-%d-%s", i, mcpsession.NewID()[:8])
				if err := w.Create(ctx, id, map[string]any{"v": 0}); err != nil {
					b.Fatal(err)
				}
				if got := r.ask(b, "wait "+id+" found 0"); got != "found 0" { // the reader holds it now
					b.Fatalf("the reader: %s", got)
				}
				// A pause of up to the SQLite bus's poll interval, so
				// that writes fall at every phase of its polling.
				time.Sleep(time.Duration(rand.Int64N(int64(busPollInterval))))
				want := "missing"
				if i%2 == 0 {
					want = "found 1"
				}
				// The reader starts asking before the write, and answers
				// once it sees it.
				fmt.Fprintf(r.in, "wait %s %s\n", id, want)
				b.StartTimer()
				start := time.Now()
				var err error
				if i%2 == 0 {
					err = w.Update(ctx, id, map[string]any{"v": 1})
				} else {
					err = w.Delete(ctx, id)
				}
				if err != nil {
					b.Fatal(err)
				}
				if got := r.line(b); got != want {
					b.Fatalf("the reader still says %q %v after the write", got, time.Since(start))
				}
				lags = append(lags, time.Since(start))
			}
			slices.Sort(lags)
			b.ReportMetric(float64(lags[len(lags)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lags[len(lags)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

type cacheReader struct {
	in  io.Writer
	out *bufio.Scanner
}

// startCacheReader starts the reader process on dsn, with env added to
// its environment.
func startCacheReader(b testing.TB, dsn string, env ...string) *cacheReader {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(append(os.Environ(), seenReaderEnv+"="+dsn), env...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { in.Close(); _ = cmd.Wait() })
	r := &cacheReader{in: in, out: bufio.NewScanner(out)}
	if !r.out.Scan() || r.out.Text() != "ready" {
		b.Fatalf("the reader process did not start: %q %v", r.out.Text(), r.out.Err())
	}
	return r
}

// ask sends a command and returns the reader's answer.
func (r *cacheReader) ask(b testing.TB, cmd string) string {
	fmt.Fprintln(r.in, cmd)
	return r.line(b)
}

func (r *cacheReader) line(b testing.TB) string {
	if !r.out.Scan() {
		b.Fatalf("the reader process ended: %v", r.out.Err())
	}
	return r.out.Text()
}
