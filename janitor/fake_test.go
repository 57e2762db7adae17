package janitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
)

// The Janitor's tests that involve time run in a testing/synctest bubble:
// the Janitor calls time.Now and time.NewTimer as it does in production,
// and the bubble's fake clock jumps to the next timer as soon as every
// goroutine in the bubble is blocked. A test reads when things happened
// from the fake clock, exactly, and moves it with time.Sleep, which in a
// bubble waits for nothing but sets the clock. synctest.Wait returns once
// every other goroutine of the bubble is blocked, so a test can tell that
// something has not happened, not just that it has not happened yet.

// guard bounds how long a test waits for a signal before it fails. In a
// bubble it is fake time and costs nothing; it must exceed the longest wait
// a test expects of the Janitor (8 intervals, the backoff cap). It is a
// deadline for a broken test, never part of the timing under test.
const guard = time.Minute

// recv returns the next value from ch, failing the test if none comes.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(guard):
		t.Fatalf("no signal after %v", guard)
		var zero T
		return zero
	}
}

// guardCtx returns a context that ends after guard, so that a test of a
// broken Janitor fails instead of hanging.
func guardCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	t.Cleanup(cancel)
	return ctx
}

// step is what one Cleanup (or CleanupHandles) call of a fakeCleaner does.
type step struct {
	removed int64
	err     error
	took    time.Duration // how long the call lasts: in a bubble, fake time
	block   bool          // wait for release (or the context) before returning
	panics  bool
}

// fakeCleaner is a test double of mcpsession.Cleaner. It plays a script of
// steps, one per call, then returns (0, nil). It records each call's ttl
// and start time, signals each call on started, and tracks how many calls
// overlap.
type fakeCleaner struct {
	started chan time.Duration // the ttl of each call, as it starts
	release chan struct{}      // a blocked step returns when this is received from

	mu        sync.Mutex
	script    []step
	ttls      []time.Duration
	at        []time.Time // when each call started
	active    int
	maxActive int

	// The handle sweep, for a handleCleaner: its script, and the order of
	// all calls ("sessions", "handles").
	handleScript []step
	order        []string
}

func newFakeCleaner(script ...step) *fakeCleaner {
	return &fakeCleaner{
		started: make(chan time.Duration, 1000),
		release: make(chan struct{}),
		script:  script,
	}
}

func (f *fakeCleaner) Cleanup(ctx context.Context, ttl time.Duration) (int64, error) {
	f.mu.Lock()
	f.ttls = append(f.ttls, ttl)
	f.at = append(f.at, time.Now())
	f.order = append(f.order, "sessions")
	f.active++
	f.maxActive = max(f.maxActive, f.active)
	var s step
	if len(f.script) > 0 {
		s, f.script = f.script[0], f.script[1:]
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.active--
		f.mu.Unlock()
	}()

	f.started <- ttl
	return s.play(ctx, f.release)
}

// play does what s says, as one cleanup call.
func (s step) play(ctx context.Context, release <-chan struct{}) (int64, error) {
	if s.block {
		select {
		case <-release:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	if s.panics {
		panic("cleaner panicked")
	}
	// The time the call takes: in a bubble this only moves the fake clock,
	// which gives the sweep a duration.
	time.Sleep(s.took)
	return s.removed, s.err
}

// failTimes returns n steps that fail with err.
func failTimes(n int, err error) []step {
	s := make([]step, n)
	for i := range s {
		s[i].err = err
	}
	return s
}

func (f *fakeCleaner) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ttls)
}

// callTimes returns when each Cleanup call started.
func (f *fakeCleaner) callTimes() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.at...)
}

func (f *fakeCleaner) overlap() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxActive
}

// callOrder returns the Cleanup ("sessions") and CleanupHandles ("handles")
// calls so far, in order.
func (f *fakeCleaner) callOrder() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.order...)
}

// idleCleaner is a fakeCleaner that reports an idle timeout, as sqlstore's
// Store does.
type idleCleaner struct {
	*fakeCleaner
	idle time.Duration
}

func (c idleCleaner) IdleTimeout() time.Duration { return c.idle }

// handleCleaner is a fakeCleaner that sweeps state handles too, as
// sqlstore's Store does: an mcpsession.HandleCleaner whose CleanupHandles
// plays the fakeCleaner's handleScript, one step per call, then (0, nil).
type handleCleaner struct{ *fakeCleaner }

var _ mcpsession.HandleCleaner = handleCleaner{}

func (c handleCleaner) CleanupHandles(ctx context.Context) (int64, error) {
	f := c.fakeCleaner
	f.mu.Lock()
	f.order = append(f.order, "handles")
	var s step
	if len(f.handleScript) > 0 {
		s, f.handleScript = f.handleScript[0], f.handleScript[1:]
	}
	f.mu.Unlock()
	return s.play(ctx, f.release)
}

// logBuffer collects JSON log lines, safe for the Janitor's goroutine to
// write while the test reads.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns each record logged so far, decoded.
func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(b.buf.Bytes()))
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("decoding log: %v", err)
		}
		out = append(out, m)
	}
	return out
}

// levels returns how many lines were logged at each level.
func (b *logBuffer) levels(t *testing.T) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, l := range b.lines(t) {
		n[l["level"].(string)]++
	}
	return n
}

// bundle is a Janitor under test and its collaborators.
type bundle struct {
	j       *Janitor
	cleaner *fakeCleaner
	results chan SweepResult // every SweepResult, in order
	logs    *logBuffer
}

const testInterval = time.Second

// setup returns a Janitor over a fakeCleaner playing script, with no
// jitter, ttl one hour, Debug logs captured, and every result sent on
// b.results. Extra options are applied last. Call it inside the bubble, so
// that the Janitor's channels belong to it.
func setup(t *testing.T, script []step, opts ...Option) *bundle {
	t.Helper()
	f := newFakeCleaner(script...)
	return newBundle(t, f, f, opts)
}

// setupHandles is setup over a handleCleaner: sessions play script and
// handles play handles.
func setupHandles(t *testing.T, script, handles []step, opts ...Option) *bundle {
	t.Helper()
	f := newFakeCleaner(script...)
	f.handleScript = handles
	return newBundle(t, handleCleaner{f}, f, opts)
}

func newBundle(t *testing.T, c mcpsession.Cleaner, f *fakeCleaner, opts []Option) *bundle {
	t.Helper()
	b := &bundle{
		cleaner: f,
		results: make(chan SweepResult, 1000),
		logs:    &logBuffer{},
	}
	base := []Option{
		WithTTL(time.Hour),
		WithInterval(testInterval),
		withJitter(0),
		WithLogger(slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		WithOnSweep(func(r SweepResult) { b.results <- r }),
	}
	j, err := New(c, append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	b.j = j
	return b
}

// run starts Run and returns a function that cancels it and returns what
// Run returned. The test fails if Run has not returned by the end of the
// test.
func (b *bundle) run(t *testing.T) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.j.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			err = recv(t, done)
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// waits returns the wait before each of the n next sweeps Run reports: the
// first from since (when Run started), each later one from the end of the
// sweep before. It reads results, so Run's sweeps only: call it where no
// Sweep runs.
func (b *bundle) waits(t *testing.T, since time.Time, n int) ([]time.Duration, []SweepResult) {
	t.Helper()
	var waits []time.Duration
	var results []SweepResult
	for range n {
		res := recv(t, b.results)
		waits = append(waits, res.Start.Sub(since))
		results = append(results, res)
		since = res.Start.Add(res.Duration)
	}
	return waits, results
}

// noValue fails the test if ch holds a value now. Call it after
// synctest.Wait, when every value that will be sent has been.
func noValue[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %s: %v", what, v)
	default:
	}
}

var errDB = errors.New("database is down")

// seqRand returns a random source that plays vals in a loop.
func seqRand(vals ...float64) func() float64 {
	var mu sync.Mutex
	i := 0
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		v := vals[i%len(vals)]
		i++
		return v
	}
}
