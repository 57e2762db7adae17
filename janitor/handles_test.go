package janitor

import (
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mcpsession/mcpsession"
)

// The Janitor sweeps state handles after sessions when its Cleaner is an
// mcpsession.HandleCleaner. These tests use a handleCleaner; the sweeps of
// real stores are in store_test.go.

func TestSweepRemovesHandlesAfterSessions(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setupHandles(t,
			[]step{{removed: 3, took: 40 * time.Millisecond}, {}},
			[]step{{removed: 5, took: 60 * time.Millisecond}, {removed: 2}})
		ctx := guardCtx(t)
		start := time.Now()

		n, err := b.j.Sweep(ctx)
		if n != 3 || err != nil {
			t.Errorf("Sweep = %d, %v; want the sessions removed, 3, nil", n, err)
		}
		res := recv(t, b.results)
		if !res.Start.Equal(start) || res.Removed != 3 || res.RemovedHandles != 5 || res.Skipped || res.Err != nil {
			t.Errorf("result = %+v, want Removed 3, RemovedHandles 5", res)
		}
		if res.Duration != 100*time.Millisecond {
			t.Errorf("Duration = %v, want both sweeps', 100ms", res.Duration)
		}
		if got := b.cleaner.callOrder(); !slices.Equal(got, []string{"sessions", "handles"}) {
			t.Errorf("calls = %v, want sessions then handles", got)
		}

		// A sweep that removed only handles is worth an Info line too.
		if n, err := b.j.Sweep(ctx); n != 0 || err != nil {
			t.Errorf("second Sweep = %d, %v; want 0, nil", n, err)
		}
		if res := recv(t, b.results); res.Removed != 0 || res.RemovedHandles != 2 {
			t.Errorf("second result = %+v, want Removed 0, RemovedHandles 2", res)
		}
		var infos []map[string]any
		for _, l := range b.logs.lines(t) {
			if l["level"] == "INFO" {
				infos = append(infos, l)
			}
		}
		if len(infos) != 2 || infos[0]["removed"] != 3.0 || infos[0]["removed_handles"] != 5.0 ||
			infos[1]["removed"] != 0.0 || infos[1]["removed_handles"] != 2.0 {
			t.Errorf("Info lines = %v, want removed 3 and 5 handles, then 0 and 2 handles", infos)
		}
	})
}

func TestNoHandleSweepWhenSessionSweepFailsOrSkips(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		err     error
		skipped bool
	}{
		{"failed", errDB, false},
		{"skipped", errInProgress, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				b := setupHandles(t, []step{{removed: 1, err: tt.err}}, []step{{removed: 9}})
				n, err := b.j.Sweep(guardCtx(t))
				if n != 1 || !errors.Is(err, tt.err) {
					t.Errorf("Sweep = %d, %v; want what Cleanup returned, 1, %v", n, err, tt.err)
				}
				res := recv(t, b.results)
				if res.RemovedHandles != 0 || res.Skipped != tt.skipped {
					t.Errorf("result = %+v, want no handles removed and Skipped %v", res, tt.skipped)
				}
				if tt.skipped != (res.Err == nil) {
					t.Errorf("result Err = %v", res.Err)
				}
				if got := b.cleaner.callOrder(); !slices.Equal(got, []string{"sessions"}) {
					t.Errorf("calls = %v, want the session sweep only", got)
				}
			})
		})
	}
}

// A failed handle sweep fails the sweep (the sessions it removed are still
// counted); a skipped one skips it.
func TestSweepHandleErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		err     error
		skipped bool
		level   string
	}{
		{"failed", errDB, false, "WARN"},
		{"skipped", errInProgress, true, "DEBUG"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				b := setupHandles(t, []step{{removed: 4}}, []step{{removed: 1, err: tt.err}})
				n, err := b.j.Sweep(guardCtx(t))
				if n != 4 || !errors.Is(err, tt.err) {
					t.Errorf("Sweep = %d, %v; want the sessions removed, 4, and %v", n, err, tt.err)
				}
				if tt.skipped && !errors.Is(err, mcpsession.ErrCleanupInProgress) {
					t.Errorf("Sweep error %v does not match ErrCleanupInProgress", err)
				}
				res := recv(t, b.results)
				if res.Removed != 4 || res.RemovedHandles != 1 || res.Skipped != tt.skipped {
					t.Errorf("result = %+v, want Removed 4, RemovedHandles 1, Skipped %v", res, tt.skipped)
				}
				if tt.skipped && res.Err != nil || !tt.skipped && !errors.Is(res.Err, errDB) {
					t.Errorf("result Err = %v", res.Err)
				}
				if lines := b.logs.lines(t); len(lines) != 1 || lines[0]["level"] != tt.level {
					t.Errorf("log = %v, want one %s line", lines, tt.level)
				}
			})
		})
	}
}

// Run sweeps handles on each of its sweeps, except after a failed or
// skipped session sweep. A failed handle sweep is a failure like any other:
// it extends a streak that a failed session sweep began, and Run backs off;
// a skipped one is not.
func TestRunSweepsHandles(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sessions := []step{{removed: 1}, {err: errDB}, {removed: 1}, {removed: 1}, {removed: 1}}
		handles := []step{{removed: 4}, {err: errDB}, {err: errInProgress}, {removed: 2}}
		b := setupHandles(t, sessions, handles)
		start := time.Now()
		b.run(t)

		s := testInterval
		wantWaits := []time.Duration{s, s, s, 2 * s, 2 * s, s}
		waits, results := b.waits(t, start, len(wantWaits))
		if !slices.Equal(waits, wantWaits) {
			t.Errorf("waits = %v, want %v", waits, wantWaits)
		}
		wantHandles := []int64{4, 0, 0, 0, 2, 0}
		for i, res := range results {
			if res.RemovedHandles != wantHandles[i] {
				t.Errorf("sweep %d: RemovedHandles = %d, want %d", i, res.RemovedHandles, wantHandles[i])
			}
		}
		if !errors.Is(results[1].Err, errDB) || !errors.Is(results[2].Err, errDB) || !results[3].Skipped || results[3].Err != nil {
			t.Errorf("results = %+v; want sweep 1 failed (sessions), 2 failed (handles), 3 skipped (handles)", results)
		}
		want := []string{"sessions", "handles", "sessions", "sessions", "handles", "sessions", "handles",
			"sessions", "handles", "sessions", "handles"}
		if got := b.cleaner.callOrder(); !slices.Equal(got, want) {
			t.Errorf("calls = %v, want %v", got, want)
		}
	})
}
