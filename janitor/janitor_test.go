package janitor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
)

var errInProgress = fmt.Errorf("sqlstore: %w", mcpsession.ErrCleanupInProgress)

func skipTimes(n int) []step { return failTimes(n, errInProgress) }

func TestRunFirstSweepAfterOneInterval(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	stop := b.run(t)

	tm := b.clock.next(t)
	if tm.d != testInterval {
		t.Errorf("first wait = %v, want %v", tm.d, testInterval)
	}
	// Run is waiting on tm: it cannot have swept yet.
	if n := b.cleaner.calls(); n != 0 {
		t.Fatalf("Cleanup called %d times before the first interval ended", n)
	}
	tm.fire()
	recv(t, b.cleaner.started)
	recv(t, b.results)
	if err := stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}

func TestRunWaitsOneIntervalAfterEachSweep(t *testing.T) {
	t.Parallel()
	// Each sweep takes 300ms of fake time; the next wait starts after it.
	script := []step{{took: 300 * time.Millisecond}, {took: 300 * time.Millisecond}, {took: 300 * time.Millisecond}}
	b := setup(t, script)
	b.run(t)

	tm := b.clock.next(t)
	for i := range 3 {
		tm.fire()
		res := recv(t, b.results)
		tm = b.clock.next(t)
		if tm.d != testInterval {
			t.Errorf("wait %d = %v, want %v", i+1, tm.d, testInterval)
		}
		if end := res.Start.Add(res.Duration); !tm.created.Equal(end) {
			t.Errorf("wait %d started at %v, want when the sweep ended, %v", i+1, tm.created, end)
		}
	}
	if n := b.cleaner.calls(); n != 3 {
		t.Errorf("Cleanup called %d times, want 3", n)
	}
}

func TestRunJitterUsesRandomSource(t *testing.T) {
	t.Parallel()
	b := setup(t, nil, WithJitter(0.25), withRand(seqRand(0, 0.5, 0.75)))
	b.run(t)
	// wait = interval * (1 + jitter*(2r-1))
	want := []time.Duration{750 * time.Millisecond, time.Second, 1125 * time.Millisecond, 750 * time.Millisecond}
	for i, w := range want {
		tm := b.clock.next(t)
		if tm.d != w {
			t.Errorf("wait %d = %v, want %v", i, tm.d, w)
		}
		tm.fire()
		recv(t, b.results)
	}
}

func TestRunJitterBounds(t *testing.T) {
	t.Parallel()
	// The default random source, through Run.
	b := setup(t, nil, WithJitter(0.25))
	b.run(t)
	lo, hi := 750*time.Millisecond, 1250*time.Millisecond
	seen := map[time.Duration]bool{}
	for i := range 50 {
		tm := b.clock.next(t)
		if tm.d < lo || tm.d > hi {
			t.Fatalf("wait %d = %v, outside [%v, %v]", i, tm.d, lo, hi)
		}
		seen[tm.d] = true
		tm.fire()
		recv(t, b.results)
	}
	if len(seen) < 2 {
		t.Errorf("50 jittered waits were all %v", b.clock.next(t).d)
	}
}

func TestNextWaitJitterBounds(t *testing.T) {
	t.Parallel()
	for _, jitter := range []float64{0.1, 0.25, 0.5, 0.9} {
		j, err := New(newFakeCleaner(nil), WithTTL(time.Hour), WithInterval(time.Minute), WithJitter(jitter))
		if err != nil {
			t.Fatal(err)
		}
		for failures := range 7 {
			base := time.Minute << min(max(failures-1, 0), 3)
			delta := time.Duration(float64(base) * jitter)
			lo, hi := base-delta, base+delta
			seen := map[time.Duration]bool{}
			for range 10000 {
				w := j.nextWait(failures)
				if w < lo || w > hi {
					t.Fatalf("jitter %v, failures %d: wait %v outside [%v, %v]", jitter, failures, w, lo, hi)
				}
				seen[w] = true
			}
			if len(seen) < 1000 {
				t.Errorf("jitter %v, failures %d: only %d distinct waits in 10000", jitter, failures, len(seen))
			}
		}
	}
}

func TestNextWaitBackoff(t *testing.T) {
	t.Parallel()
	newJ := func(interval time.Duration, jitter float64, r func() float64) *Janitor {
		t.Helper()
		j, err := New(newFakeCleaner(nil), WithTTL(time.Hour), WithInterval(interval), WithJitter(jitter), withRand(r))
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	s := time.Second
	j := newJ(s, 0, seqRand(0.5))
	for failures, want := range []time.Duration{s, s, 2 * s, 4 * s, 8 * s, 8 * s, 8 * s} {
		if got := j.nextWait(failures); got != want {
			t.Errorf("nextWait(%d) = %v, want %v", failures, got, want)
		}
	}
	if got := j.nextWait(math.MaxInt); got != 8*s {
		t.Errorf("nextWait(MaxInt) = %v, want 8s", got)
	}
	// The cap is jittered too.
	if got := newJ(s, 0.5, seqRand(0)).nextWait(10); got != 4*s {
		t.Errorf("capped wait, lowest jitter = %v, want 4s", got)
	}
	if got := newJ(s, 0.5, seqRand(0.75)).nextWait(10); got != 10*s {
		t.Errorf("capped wait, high jitter = %v, want 10s", got)
	}
	// No overflow for absurd intervals, and never a zero wait.
	if got := newJ(math.MaxInt64/2, 0.5, seqRand(0.99)).nextWait(5); got != math.MaxInt64 {
		t.Errorf("huge wait = %v, want the largest Duration", got)
	}
	if got := newJ(1, 0.9, seqRand(0)).nextWait(0); got != 1 {
		t.Errorf("tiny wait = %v, want 1ns", got)
	}
}

func TestRunBackoffAndRecovery(t *testing.T) {
	t.Parallel()
	script := append(failTimes(5, errDB), step{removed: 2}, step{err: errDB})
	b := setup(t, script)
	b.run(t)

	s := testInterval
	// The first wait, then the wait after each sweep.
	wantWaits := []time.Duration{s, s, 2 * s, 4 * s, 8 * s, 8 * s, s, s}
	for i, want := range wantWaits {
		tm := b.clock.next(t)
		if tm.d != want {
			t.Errorf("wait %d = %v, want %v", i, tm.d, want)
		}
		if i == len(wantWaits)-1 {
			break
		}
		tm.fire()
		res := recv(t, b.results)
		switch {
		case i < 5 || i == 6:
			if !errors.Is(res.Err, errDB) || res.Skipped {
				t.Errorf("sweep %d: Err = %v, Skipped = %v; want the cleaner's error", i, res.Err, res.Skipped)
			}
		default:
			if res.Err != nil || res.Removed != 2 {
				t.Errorf("sweep %d: Err = %v, Removed = %d; want nil, 2", i, res.Err, res.Removed)
			}
		}
	}

	var warns []map[string]any
	for _, l := range b.logs.lines(t) {
		if l["level"] == "WARN" {
			warns = append(warns, l)
		}
	}
	if len(warns) != 6 {
		t.Fatalf("%d Warn lines, want one per failed sweep, 6", len(warns))
	}
	for i, want := range []struct {
		failures int
		next     time.Duration
	}{{1, s}, {2, 2 * s}, {3, 4 * s}, {4, 8 * s}, {5, 8 * s}, {1, s}} {
		w := warns[i]
		if w["error"] != errDB.Error() || w["consecutive_failures"] != float64(want.failures) || w["next_wait"] != float64(want.next) {
			t.Errorf("Warn line %d = %v; want error %q, consecutive_failures %d, next_wait %d",
				i, w, errDB, want.failures, want.next)
		}
	}
}

func TestRunSkippedSweepIsNotAFailure(t *testing.T) {
	t.Parallel()
	var script []step
	script = append(script, skipTimes(3)...)
	script = append(script, failTimes(2, errDB)...)
	script = append(script, skipTimes(1)...)
	script = append(script, failTimes(1, errDB)...)
	script = append(script, step{removed: 1})
	b := setup(t, script)
	b.run(t)

	s := testInterval
	// Skips add no backoff, and neither reset nor extend a failure streak.
	wantWaits := []time.Duration{s, s, s, s, s, 2 * s, 2 * s, 4 * s, s}
	for i, want := range wantWaits {
		tm := b.clock.next(t)
		if tm.d != want {
			t.Errorf("wait %d = %v, want %v", i, tm.d, want)
		}
		if i == len(script) {
			break
		}
		tm.fire()
		res := recv(t, b.results)
		skipped := i < 3 || i == 5
		if res.Skipped != skipped {
			t.Errorf("sweep %d: Skipped = %v, want %v", i, res.Skipped, skipped)
		}
		if skipped && res.Err != nil {
			t.Errorf("sweep %d: skipped with Err = %v, want nil", i, res.Err)
		}
	}
	levels := b.logs.levels(t)
	if levels["WARN"] != 3 || levels["INFO"] != 1 || levels["DEBUG"] != 4 {
		t.Errorf("log levels = %v; want 3 WARN (failures), 1 INFO, 4 DEBUG (skips)", levels)
	}
}

func TestSweepSkippedReturnsError(t *testing.T) {
	t.Parallel()
	b := setup(t, skipTimes(1))
	n, err := b.j.Sweep(guardCtx(t))
	if n != 0 || !errors.Is(err, mcpsession.ErrCleanupInProgress) {
		t.Errorf("Sweep = %d, %v; want 0 and an error matching ErrCleanupInProgress", n, err)
	}
	res := recv(t, b.results)
	if !res.Skipped || res.Err != nil {
		t.Errorf("result Skipped = %v, Err = %v; want true, nil", res.Skipped, res.Err)
	}
}

func TestSweepReturnsCleanupError(t *testing.T) {
	t.Parallel()
	b := setup(t, []step{{removed: 3, err: errDB}})
	n, err := b.j.Sweep(guardCtx(t))
	if n != 3 || !errors.Is(err, errDB) {
		t.Errorf("Sweep = %d, %v; want what Cleanup returned, 3 and %v", n, err, errDB)
	}
	res := recv(t, b.results)
	if !errors.Is(res.Err, errDB) || res.Removed != 3 || res.Skipped {
		t.Errorf("result = %+v, want Err %v and Removed 3", res, errDB)
	}
	lines := b.logs.lines(t)
	if len(lines) != 1 || lines[0]["level"] != "WARN" || lines[0]["error"] != errDB.Error() {
		t.Fatalf("log = %v, want one Warn line with the error", lines)
	}
	if _, ok := lines[0]["next_wait"]; ok {
		t.Errorf("a manual sweep's Warn line has next_wait: %v", lines[0])
	}
}

func TestSweepWaitsForRunningSweep(t *testing.T) {
	t.Parallel()
	b := setup(t, []step{{block: true, removed: 1}, {removed: 2}})
	b.run(t)

	b.clock.next(t).fire()
	recv(t, b.cleaner.started) // Run's sweep is now blocked in Cleanup

	type sweepReturn struct {
		n   int64
		err error
	}
	done := make(chan sweepReturn, 1)
	ctx := guardCtx(t)
	go func() {
		n, err := b.j.Sweep(ctx)
		done <- sweepReturn{n, err}
	}()
	recv(t, b.waiting) // Sweep found Run's sweep running and waits
	noValue(t, b.cleaner.started, "Cleanup call while another runs")
	noValue(t, done, "Sweep return while another sweep runs")

	b.cleaner.release <- struct{}{} // end Run's sweep
	recv(t, b.cleaner.started)      // now Sweep's
	if got := recv(t, done); got.n != 2 || got.err != nil {
		t.Errorf("Sweep = %d, %v; want 2, nil", got.n, got.err)
	}
	if n := b.cleaner.overlap(); n != 1 {
		t.Errorf("%d Cleanup calls overlapped", n)
	}
	removed := map[int64]bool{}
	for range 2 {
		removed[recv(t, b.results).Removed] = true
	}
	if !removed[1] || !removed[2] {
		t.Errorf("results removed %v, want one from each sweep, 1 and 2", removed)
	}
	if d := b.clock.next(t).d; d != testInterval {
		t.Errorf("Run's next wait = %v, want %v", d, testInterval)
	}
}

func TestSweepGivesUpWaitingWhenContextEnds(t *testing.T) {
	t.Parallel()
	b := setup(t, []step{{block: true, removed: 1}})
	b.run(t)
	b.clock.next(t).fire()
	recv(t, b.cleaner.started)

	ctx, cancel := context.WithCancel(guardCtx(t))
	done := make(chan error, 1)
	go func() {
		_, err := b.j.Sweep(ctx)
		done <- err
	}()
	recv(t, b.waiting)
	cancel()
	if err := recv(t, done); !errors.Is(err, context.Canceled) {
		t.Errorf("Sweep = %v, want context.Canceled", err)
	}
	if n := b.cleaner.calls(); n != 1 {
		t.Errorf("Cleanup called %d times, want 1 (Run's)", n)
	}
	noValue(t, b.results, "result for a sweep that never ran")

	b.cleaner.release <- struct{}{}
	if res := recv(t, b.results); res.Removed != 1 {
		t.Errorf("Run's sweep removed %d, want 1", res.Removed)
	}
}

func TestSweepWithEndedContext(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n, err := b.j.Sweep(ctx); n != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("Sweep = %d, %v; want 0, context.Canceled", n, err)
	}
	if n := b.cleaner.calls(); n != 0 {
		t.Errorf("Cleanup called %d times", n)
	}
	noValue(t, b.results, "result")
}

func TestRunStopsWhileWaiting(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	stop := b.run(t)
	tm := b.clock.next(t)
	if err := stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if !tm.stopped.Load() {
		t.Errorf("the pending timer was not stopped")
	}
	if n := b.cleaner.calls(); n != 0 {
		t.Errorf("Cleanup called %d times", n)
	}
	noValue(t, b.results, "result")
}

func TestRunStopsDuringSweep(t *testing.T) {
	t.Parallel()
	b := setup(t, []step{{block: true}})
	stop := b.run(t)
	b.clock.next(t).fire()
	recv(t, b.cleaner.started)

	if err := stop(); err != nil { // the fake Cleanup returns when its ctx ends
		t.Errorf("Run = %v, want nil", err)
	}
	res := recv(t, b.results)
	if !errors.Is(res.Err, context.Canceled) {
		t.Errorf("interrupted sweep's Err = %v, want context.Canceled", res.Err)
	}
	noValue(t, b.clock.timers, "wait after Run was cancelled")
	lines := b.logs.lines(t)
	if len(lines) != 1 || lines[0]["level"] != "DEBUG" || !strings.Contains(lines[0]["msg"].(string), "interrupted") {
		t.Errorf("log = %v, want one Debug line about the interrupted sweep", lines)
	}
}

func TestRunAlreadyRunning(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	stop := b.run(t)
	b.clock.next(t) // Run is in its loop
	if err := b.j.Run(guardCtx(t)); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run = %v, want ErrRunning", err)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	// Once Run has returned, it can run again.
	b.run(t)
	b.clock.next(t).fire()
	recv(t, b.results)
}

func TestOnSweepResults(t *testing.T) {
	t.Parallel()
	script := []step{{removed: 4, took: 250 * time.Millisecond}, {took: 10 * time.Millisecond}}
	b := setup(t, script)
	start := b.clock.now()
	b.run(t)

	b.clock.next(t).fire()
	got := recv(t, b.results)
	want := SweepResult{Start: start.Add(testInterval), Duration: 250 * time.Millisecond, TTL: time.Hour, Removed: 4}
	if got != want {
		t.Errorf("Run's sweep: result = %+v, want %+v", got, want)
	}

	b.clock.next(t) // Run waits again
	if _, err := b.j.Sweep(guardCtx(t)); err != nil {
		t.Fatal(err)
	}
	got = recv(t, b.results)
	want = SweepResult{Start: start.Add(testInterval + 250*time.Millisecond), Duration: 10 * time.Millisecond, TTL: time.Hour}
	if got != want {
		t.Errorf("manual sweep: result = %+v, want %+v", got, want)
	}
}

func TestLogInfoOnlyWhenSomethingRemoved(t *testing.T) {
	t.Parallel()
	b := setup(t, []step{{removed: 0}, {removed: 5, took: 20 * time.Millisecond}, {err: errInProgress}, {removed: 0}})
	ctx := guardCtx(t)

	wantInfo := []int{0, 1, 1, 1}
	for i, want := range wantInfo {
		_, _ = b.j.Sweep(ctx)
		if got := b.logs.levels(t)["INFO"]; got != want {
			t.Errorf("after sweep %d: %d Info lines, want %d", i, got, want)
		}
	}
	var info map[string]any
	for _, l := range b.logs.lines(t) {
		if l["level"] == "INFO" {
			info = l
		}
	}
	if info["removed"] != 5.0 || info["duration"] != float64(20*time.Millisecond) || info["ttl"] != float64(time.Hour) {
		t.Errorf("Info line = %v, want removed 5, duration 20ms, ttl 1h", info)
	}
	if levels := b.logs.levels(t); levels["DEBUG"] != 3 || len(levels) != 2 {
		t.Errorf("log levels = %v, want 1 INFO and 3 DEBUG", levels)
	}
}

func TestPanicsAreNotRecoveredAndReleaseTheTurn(t *testing.T) {
	t.Parallel()
	b := setup(t, []step{{panics: true}}, WithOnSweep(func(SweepResult) { panic("callback panicked") }))
	ctx := guardCtx(t)
	sweepPanic := func() (v any) {
		defer func() { v = recover() }()
		_, _ = b.j.Sweep(ctx)
		return nil
	}
	if v := sweepPanic(); v != "cleaner panicked" {
		t.Errorf("first Sweep panicked with %v, want the cleaner's panic", v)
	}
	if v := sweepPanic(); v != "callback panicked" {
		t.Errorf("second Sweep panicked with %v, want the callback's panic", v)
	}
	if v := sweepPanic(); v != "callback panicked" {
		t.Errorf("third Sweep panicked with %v, want the callback's panic", v)
	}
	noValue(t, b.waiting, "wait for a turn a panic kept")
}

func TestRunWithRealClock(t *testing.T) {
	t.Parallel()
	fc := newFakeCleaner(nil)
	results := make(chan SweepResult, 100)
	j, err := New(fc, WithTTL(time.Hour), WithInterval(time.Millisecond), WithJitter(0.5),
		WithOnSweep(func(r SweepResult) {
			select {
			case results <- r:
			default: // Run goes on sweeping until the test cancels it
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- j.Run(ctx) }()
	for range 3 {
		if res := recv(t, results); res.Err != nil || res.Start.IsZero() || res.Duration < 0 {
			t.Errorf("result = %+v", res)
		}
	}
	cancel()
	if err := recv(t, done); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}
