package janitor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mcpsession/mcpsession"
)

var errInProgress = fmt.Errorf("sqlstore: %w", mcpsession.ErrCleanupInProgress)

func skipTimes(n int) []step { return failTimes(n, errInProgress) }

func TestRunFirstSweepAfterOneInterval(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, nil)
		start := time.Now()
		stop := b.run(t)

		time.Sleep(testInterval - time.Nanosecond)
		synctest.Wait() // Run is waiting, or it swept
		if n := b.cleaner.calls(); n != 0 {
			t.Fatalf("Cleanup called %d times before the first interval ended", n)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if at := b.cleaner.callTimes(); len(at) != 1 || !at[0].Equal(start.Add(testInterval)) {
			t.Fatalf("Cleanup called at %v, want once, one interval after Run started (%v)", at, start.Add(testInterval))
		}
		if res := recv(t, b.results); !res.Start.Equal(start.Add(testInterval)) {
			t.Errorf("result Start = %v, want %v", res.Start, start.Add(testInterval))
		}
		if err := stop(); err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	})
}

func TestRunWaitsOneIntervalAfterEachSweep(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// Each sweep takes 300ms; the next wait starts after it.
		took := 300 * time.Millisecond
		b := setup(t, []step{{took: took}, {took: took}, {took: took}, {took: took}})
		start := time.Now()
		b.run(t)

		waits, results := b.waits(t, start, 4)
		for i, w := range waits {
			if w != testInterval {
				t.Errorf("wait %d (from the end of the sweep before) = %v, want %v", i, w, testInterval)
			}
			if d := results[i].Duration; d != took {
				t.Errorf("sweep %d: Duration = %v, want %v", i, d, took)
			}
		}
		synctest.Wait()
		if n := b.cleaner.calls(); n != 4 {
			t.Errorf("Cleanup called %d times, want 4", n)
		}
	})
}

func TestRunJitterUsesRandomSource(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, nil, withJitter(0.25), withRand(seqRand(0, 0.5, 0.75)))
		start := time.Now()
		b.run(t)
		// wait = interval * (1 + jitter*(2r-1))
		want := []time.Duration{750 * time.Millisecond, time.Second, 1125 * time.Millisecond, 750 * time.Millisecond}
		if got, _ := b.waits(t, start, len(want)); !slices.Equal(got, want) {
			t.Errorf("waits = %v, want %v", got, want)
		}
	})
}

func TestRunJitterBounds(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// The default random source, through Run.
		b := setup(t, nil, withJitter(0.25))
		start := time.Now()
		b.run(t)
		lo, hi := 750*time.Millisecond, 1250*time.Millisecond
		waits, _ := b.waits(t, start, 50)
		seen := map[time.Duration]bool{}
		for i, w := range waits {
			if w < lo || w > hi {
				t.Fatalf("wait %d = %v, outside [%v, %v]", i, w, lo, hi)
			}
			seen[w] = true
		}
		if len(seen) < 2 {
			t.Errorf("50 jittered waits were all %v", waits[0])
		}
	})
}

func TestNextWaitJitterBounds(t *testing.T) {
	t.Parallel()
	for _, jitter := range []float64{0.1, 0.25, 0.5, 0.9} {
		j, err := New(newFakeCleaner(), WithTTL(time.Hour), WithInterval(time.Minute), withJitter(jitter))
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
		j, err := New(newFakeCleaner(), WithTTL(time.Hour), WithInterval(interval), withJitter(jitter), withRand(r))
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
	synctest.Test(t, func(t *testing.T) {
		script := append(failTimes(5, errDB), step{removed: 2}, step{err: errDB})
		b := setup(t, script)
		start := time.Now()
		b.run(t)

		s := testInterval
		// The first wait, then the wait after each sweep: the last is
		// before the sweep after the script, which succeeds.
		wantWaits := []time.Duration{s, s, 2 * s, 4 * s, 8 * s, 8 * s, s, s}
		waits, results := b.waits(t, start, len(wantWaits))
		if !slices.Equal(waits, wantWaits) {
			t.Errorf("waits = %v, want %v", waits, wantWaits)
		}
		for i, res := range results {
			switch {
			case i < 5 || i == 6:
				if !errors.Is(res.Err, errDB) || res.Skipped {
					t.Errorf("sweep %d: Err = %v, Skipped = %v; want the cleaner's error", i, res.Err, res.Skipped)
				}
			case i == 5:
				if res.Err != nil || res.Removed != 2 {
					t.Errorf("sweep %d: Err = %v, Removed = %d; want nil, 2", i, res.Err, res.Removed)
				}
			default:
				if res.Err != nil || res.Skipped {
					t.Errorf("sweep %d: Err = %v, Skipped = %v; want a success", i, res.Err, res.Skipped)
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
	})
}

func TestRunSkippedSweepIsNotAFailure(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var script []step
		script = append(script, skipTimes(3)...)
		script = append(script, failTimes(2, errDB)...)
		script = append(script, skipTimes(1)...)
		script = append(script, failTimes(1, errDB)...)
		script = append(script, step{removed: 1})
		b := setup(t, script)
		start := time.Now()
		b.run(t)

		s := testInterval
		// Skips add no backoff, and neither reset nor extend a failure
		// streak. The last wait is before the sweep after the script.
		wantWaits := []time.Duration{s, s, s, s, s, 2 * s, 2 * s, 4 * s, s}
		waits, results := b.waits(t, start, len(wantWaits))
		if !slices.Equal(waits, wantWaits) {
			t.Errorf("waits = %v, want %v", waits, wantWaits)
		}
		for i, res := range results[:len(script)] {
			skipped := i < 3 || i == 5
			if res.Skipped != skipped {
				t.Errorf("sweep %d: Skipped = %v, want %v", i, res.Skipped, skipped)
			}
			if skipped && res.Err != nil {
				t.Errorf("sweep %d: skipped with Err = %v, want nil", i, res.Err)
			}
		}
		levels := b.logs.levels(t)
		skips := 0
		for _, l := range b.logs.lines(t) {
			if l["level"] == "DEBUG" && strings.Contains(l["msg"].(string), "skipped") {
				skips++
			}
		}
		// The sweep after the script found nothing: one more Debug line.
		if levels["WARN"] != 3 || levels["INFO"] != 1 || levels["DEBUG"] != 5 || skips != 4 {
			t.Errorf("log levels = %v, %d skip lines; want 3 WARN (failures), 1 INFO, 5 DEBUG of which 4 skips", levels, skips)
		}
	})
}

func TestSweepSkippedReturnsError(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, skipTimes(1))
		n, err := b.j.Sweep(guardCtx(t))
		if n != 0 || !errors.Is(err, mcpsession.ErrCleanupInProgress) {
			t.Errorf("Sweep = %d, %v; want 0 and an error matching ErrCleanupInProgress", n, err)
		}
		res := recv(t, b.results)
		if !res.Skipped || res.Err != nil {
			t.Errorf("result Skipped = %v, Err = %v; want true, nil", res.Skipped, res.Err)
		}
	})
}

func TestSweepReturnsCleanupError(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
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
	})
}

func TestSweepWaitsForRunningSweep(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, []step{{block: true, removed: 1}, {removed: 2}})
		start := time.Now()
		b.run(t)
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
		// However long Run's sweep takes, Sweep waits for its turn.
		const held = 5 * time.Second
		time.Sleep(held)
		synctest.Wait()
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
		byRemoved := map[int64]SweepResult{}
		for range 2 {
			r := recv(t, b.results)
			byRemoved[r.Removed] = r
		}
		runs, manual := byRemoved[1], byRemoved[2]
		if ended := start.Add(testInterval + held); !runs.Start.Add(runs.Duration).Equal(ended) || !manual.Start.Equal(ended) {
			t.Errorf("results %v; want Run's sweep (removed 1) ending at %v and Sweep's (removed 2) starting then", byRemoved, ended)
		}
		// The manual sweep does not move Run's schedule: one interval after
		// Run's own sweep ended.
		next := recv(t, b.results)
		if want := runs.Start.Add(runs.Duration + testInterval); !next.Start.Equal(want) {
			t.Errorf("Run's next sweep at %v, want %v", next.Start, want)
		}
	})
}

func TestSweepGivesUpWaitingWhenContextEnds(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, []step{{block: true, removed: 1}})
		b.run(t)
		recv(t, b.cleaner.started)

		ctx, cancel := context.WithCancel(guardCtx(t))
		done := make(chan error, 1)
		go func() {
			_, err := b.j.Sweep(ctx)
			done <- err
		}()
		synctest.Wait() // Sweep waits for its turn
		noValue(t, done, "Sweep return before its context ended")
		cancel()
		if err := recv(t, done); !errors.Is(err, context.Canceled) {
			t.Errorf("Sweep = %v, want context.Canceled", err)
		}
		synctest.Wait()
		if n := b.cleaner.calls(); n != 1 {
			t.Errorf("Cleanup called %d times, want 1 (Run's)", n)
		}
		noValue(t, b.results, "result for a sweep that never ran")

		b.cleaner.release <- struct{}{}
		if res := recv(t, b.results); res.Removed != 1 {
			t.Errorf("Run's sweep removed %d, want 1", res.Removed)
		}
	})
}

func TestSweepGivesUpWaitingAtItsDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, []step{{block: true, removed: 1}})
		b.run(t)
		recv(t, b.cleaner.started)

		const timeout = 3 * time.Second
		ctx, cancel := context.WithTimeout(guardCtx(t), timeout)
		defer cancel()
		waited := time.Now()
		if _, err := b.j.Sweep(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Sweep = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(waited); d != timeout {
			t.Errorf("Sweep returned after %v, want at its deadline, %v", d, timeout)
		}
		synctest.Wait()
		if n := b.cleaner.calls(); n != 1 {
			t.Errorf("Cleanup called %d times, want 1 (Run's)", n)
		}
		noValue(t, b.results, "result for a sweep that never ran")
		b.cleaner.release <- struct{}{}
		recv(t, b.results)
	})
}

func TestSweepWithEndedContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
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
	})
}

// Sweeps from Run and from many goroutines at once take turns: no two
// Cleanup calls overlap, and every Sweep sweeps.
func TestSweepsNeverOverlap(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		script := make([]step, 40)
		for i := range script {
			script[i] = step{removed: 1, took: 300 * time.Millisecond}
		}
		b := setup(t, script)
		stop := b.run(t)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 3 {
					if n, err := b.j.Sweep(guardCtx(t)); n != 1 || err != nil {
						t.Errorf("Sweep = %d, %v; want 1, nil", n, err)
					}
				}
			})
		}
		wg.Wait()
		if err := stop(); err != nil {
			t.Errorf("Run = %v", err)
		}
		if n := b.cleaner.overlap(); n != 1 {
			t.Errorf("%d Cleanup calls overlapped", n)
		}
		// 24 sweeps of 300ms in a row take 7.2s: Run swept in between.
		if n := b.cleaner.calls(); n <= 24 {
			t.Errorf("Cleanup called %d times, want the 24 Sweeps' and Run's", n)
		}
	})
}

func TestRunStopsWhileWaiting(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, nil)
		start := time.Now()
		stop := b.run(t)
		synctest.Wait() // Run waits for its first sweep
		if err := stop(); err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Run returned %v after its context ended, want at once", d)
		}
		time.Sleep(10 * testInterval)
		synctest.Wait()
		if n := b.cleaner.calls(); n != 0 {
			t.Errorf("Cleanup called %d times", n)
		}
		noValue(t, b.results, "result")
	})
}

func TestRunStopsDuringSweep(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, []step{{block: true}})
		stop := b.run(t)
		recv(t, b.cleaner.started)

		if err := stop(); err != nil { // the fake Cleanup returns when its ctx ends
			t.Errorf("Run = %v, want nil", err)
		}
		res := recv(t, b.results)
		if !errors.Is(res.Err, context.Canceled) {
			t.Errorf("interrupted sweep's Err = %v, want context.Canceled", res.Err)
		}
		time.Sleep(10 * testInterval)
		synctest.Wait()
		if n := b.cleaner.calls(); n != 1 {
			t.Errorf("Cleanup called %d times after Run returned, want only the interrupted call", n)
		}
		noValue(t, b.results, "result after Run returned")
		lines := b.logs.lines(t)
		if len(lines) != 1 || lines[0]["level"] != "DEBUG" || !strings.Contains(lines[0]["msg"].(string), "interrupted") {
			t.Errorf("log = %v, want one Debug line about the interrupted sweep", lines)
		}
	})
}

func TestRunAlreadyRunning(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, nil)
		start := time.Now()
		stop := b.run(t)
		synctest.Wait() // Run is in its loop
		if err := b.j.Run(guardCtx(t)); !errors.Is(err, errRunning) {
			t.Errorf("second Run = %v, want ErrRunning", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("second Run returned after %v, want at once", d)
		}
		if err := stop(); err != nil {
			t.Fatalf("Run = %v", err)
		}
		if n := b.cleaner.calls(); n != 0 {
			t.Errorf("Cleanup called %d times", n)
		}
		// Once Run has returned, it can run again.
		b.run(t)
		if res := recv(t, b.results); !res.Start.Equal(start.Add(testInterval)) {
			t.Errorf("second Run swept at %v, want one interval after it started, %v", res.Start, start.Add(testInterval))
		}
	})
}

func TestOnSweepResults(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		script := []step{{removed: 4, took: 250 * time.Millisecond}, {took: 10 * time.Millisecond}}
		b := setup(t, script)
		start := time.Now()
		b.run(t)

		check := func(what string, got SweepResult, start time.Time, d time.Duration, removed int64) {
			t.Helper()
			if !got.Start.Equal(start) || got.Duration != d || got.TTL != time.Hour || got.Removed != removed ||
				got.RemovedHandles != 0 || got.Skipped || got.Err != nil {
				t.Errorf("%s: result = %+v, want Start %v, Duration %v, TTL 1h, Removed %d, and nothing else",
					what, got, start, d, removed)
			}
		}
		check("Run's sweep", recv(t, b.results), start.Add(testInterval), 250*time.Millisecond, 4)

		synctest.Wait() // Run waits again
		if _, err := b.j.Sweep(guardCtx(t)); err != nil {
			t.Fatal(err)
		}
		check("manual sweep", recv(t, b.results), start.Add(testInterval+250*time.Millisecond), 10*time.Millisecond, 0)
	})
}

func TestLogInfoOnlyWhenSomethingRemoved(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
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
		if info["removed"] != 5.0 || info["removed_handles"] != 0.0 || info["duration"] != float64(20*time.Millisecond) || info["ttl"] != float64(time.Hour) {
			t.Errorf("Info line = %v, want removed 5, removed_handles 0, duration 20ms, ttl 1h", info)
		}
		if levels := b.logs.levels(t); levels["DEBUG"] != 3 || len(levels) != 2 {
			t.Errorf("log levels = %v, want 1 INFO and 3 DEBUG", levels)
		}
	})
}

func TestPanicsAreNotRecoveredAndReleaseTheTurn(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, []step{{panics: true}}, WithOnSweep(func(SweepResult) { panic("callback panicked") }))
		ctx := guardCtx(t)
		start := time.Now()
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
		// A turn a panic kept would have made a Sweep wait for its context.
		if d := time.Since(start); d != 0 {
			t.Errorf("the Sweeps waited %v for their turns, want none", d)
		}
		if n := b.cleaner.calls(); n != 3 {
			t.Errorf("Cleanup called %d times, want 3", n)
		}
	})
}

// Every other Run test runs in a synctest bubble, on its fake clock; this
// one runs on the real clock, with a 1ms interval.
func TestRunInRealTime(t *testing.T) {
	t.Parallel()
	fc := newFakeCleaner()
	results := make(chan SweepResult, 100)
	j, err := New(fc, WithTTL(time.Hour), WithInterval(time.Millisecond), withJitter(0.5),
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
