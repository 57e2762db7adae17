package janitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// guard bounds how long a test waits for a signal before failing. It is a
// deadline for a broken test, never part of the timing under test.
const guard = 10 * time.Second

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

// fakeClock is a clock whose timers fire only when a test fires them. Each
// new timer is sent on timers, so a test learns what wait was asked for.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	timers chan *fakeTimer
}

func newFakeClock() *fakeClock {
	return &fakeClock{
		t:      time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
		timers: make(chan *fakeTimer, 100),
	}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fakeClock) newTimer(d time.Duration) timer {
	t := &fakeTimer{d: d, created: c.now(), ch: make(chan time.Time, 1), clock: c}
	c.timers <- t
	return t
}

// next returns the next timer the Janitor asked for.
func (c *fakeClock) next(t *testing.T) *fakeTimer {
	t.Helper()
	return recv(t, c.timers)
}

type fakeTimer struct {
	d       time.Duration
	created time.Time // the fake time when the Janitor asked for it
	ch      chan time.Time
	clock   *fakeClock
	stopped atomic.Bool
}

func (t *fakeTimer) c() <-chan time.Time { return t.ch }

func (t *fakeTimer) stop() bool { return !t.stopped.Swap(true) }

// fire advances the clock by the timer's duration and lets it expire.
func (t *fakeTimer) fire() {
	t.clock.advance(t.d)
	t.ch <- t.clock.now()
}

// step is what one Cleanup call of a fakeCleaner does.
type step struct {
	removed int64
	err     error
	took    time.Duration // advances the fake clock, to give the sweep a duration
	block   bool          // wait for release (or the context) before returning
	panics  bool
}

// fakeCleaner is a test double of mcpsession.Cleaner. It plays a script of
// steps, one per call, then returns (0, nil). It records each call's ttl,
// signals each call on started, and tracks how many calls overlap.
type fakeCleaner struct {
	clock   *fakeClock
	started chan time.Duration // the ttl of each call, as it starts
	release chan struct{}      // a blocked step returns when this is received from

	mu        sync.Mutex
	script    []step
	ttls      []time.Duration
	active    int
	maxActive int
}

func newFakeCleaner(clock *fakeClock, script ...step) *fakeCleaner {
	return &fakeCleaner{
		clock:   clock,
		started: make(chan time.Duration, 100),
		release: make(chan struct{}),
		script:  script,
	}
}

func (f *fakeCleaner) Cleanup(ctx context.Context, ttl time.Duration) (int64, error) {
	f.mu.Lock()
	f.ttls = append(f.ttls, ttl)
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
	if s.block {
		select {
		case <-f.release:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	if s.panics {
		panic("cleaner panicked")
	}
	if s.took > 0 && f.clock != nil {
		f.clock.advance(s.took)
	}
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

func (f *fakeCleaner) overlap() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxActive
}

// idleCleaner is a fakeCleaner that reports an idle timeout, as sqlstore's
// Store does.
type idleCleaner struct {
	*fakeCleaner
	idle time.Duration
}

func (c idleCleaner) IdleTimeout() time.Duration { return c.idle }

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
	clock   *fakeClock
	cleaner *fakeCleaner
	results chan SweepResult // every SweepResult, in order
	logs    *logBuffer
	waiting chan struct{} // a signal each time a sweep starts to wait for its turn
}

const testInterval = time.Second

// setup returns a Janitor over a fakeCleaner playing script, with a fake
// clock, no jitter, ttl one hour, Debug logs captured, and every result
// sent on b.results. Extra options are applied last.
func setup(t *testing.T, script []step, opts ...Option) *bundle {
	t.Helper()
	b := &bundle{
		clock:   newFakeClock(),
		results: make(chan SweepResult, 100),
		logs:    &logBuffer{},
		waiting: make(chan struct{}, 100),
	}
	b.cleaner = newFakeCleaner(b.clock, script...)
	base := []Option{
		WithTTL(time.Hour),
		WithInterval(testInterval),
		WithJitter(0),
		WithLogger(slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		WithOnSweep(func(r SweepResult) { b.results <- r }),
		withClock(b.clock),
		withLockWaitHook(func() { b.waiting <- struct{}{} }),
	}
	j, err := New(b.cleaner, append(base, opts...)...)
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

// noValue fails the test if ch holds a value now. It is meaningful only
// where the value, if any, must already have been sent.
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
