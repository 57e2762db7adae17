package janitor

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mcpsession/mcpsession"
)

// The Janitor runs the Sweepers of WithSweeper after sessions and handles.
// These tests use fakeSweepers; requeststate's Sealer, on real databases,
// is in store_test.go.

// fakeSweeper plays a script of steps, one per Sweep, and records its
// calls in the fakeCleaner's call order under its name.
type fakeSweeper struct {
	name   string
	f      *fakeCleaner
	script []step
}

func (s *fakeSweeper) Sweep(ctx context.Context) (int64, error) {
	s.f.mu.Lock()
	s.f.order = append(s.f.order, s.name)
	var st step
	if len(s.script) > 0 {
		st, s.script = s.script[0], s.script[1:]
	}
	s.f.mu.Unlock()
	return st.play(ctx, s.f.release)
}

func setupSweepers(t *testing.T, sessions, handles []step, sweepers map[string][]step, names ...string) *bundle {
	t.Helper()
	f := newFakeCleaner(sessions...)
	f.handleScript = handles
	var opts []Option
	for _, name := range names {
		opts = append(opts, WithSweeper((&fakeSweeper{name: name, f: f, script: sweepers[name]}).Sweep))
	}
	return newBundle(t, handleCleaner{f}, f, opts)
}

func TestSweepersRunAfterHandles(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setupSweepers(t, []step{{removed: 1}, {}}, []step{{removed: 2}, {}},
			map[string][]step{"a": {{removed: 3, took: 5 * time.Millisecond}}, "b": {{removed: 4, took: 5 * time.Millisecond}}},
			"a", "b")
		n, err := b.j.Sweep(guardCtx(t))
		if n != 1 || err != nil {
			t.Fatalf("Sweep = %d, %v; want the sessions removed, 1, nil", n, err)
		}
		res := recv(t, b.results)
		if res.Removed != 1 || res.RemovedHandles != 2 || res.RemovedOther != 7 || res.Err != nil || res.Skipped {
			t.Errorf("result = %+v; want Removed 1, RemovedHandles 2, RemovedOther 7", res)
		}
		if res.Duration != 10*time.Millisecond {
			t.Errorf("Duration = %v; want the sweepers' included, 10ms", res.Duration)
		}
		if got, want := b.cleaner.callOrder(), []string{"sessions", "handles", "a", "b"}; !slices.Equal(got, want) {
			t.Errorf("calls = %v; want %v", got, want)
		}
		// A sweep that removed only other rows is worth an Info line.
		if _, err := b.j.Sweep(guardCtx(t)); err != nil {
			t.Fatal(err)
		}
		recv(t, b.results)
		lines := b.logs.lines(t)
		if len(lines) != 2 || lines[0]["level"] != "INFO" || lines[0]["removed_other"] != 7.0 || lines[1]["level"] != "DEBUG" {
			t.Errorf("log = %v; want an Info line with removed_other 7, then a Debug line", lines)
		}
	})
}

// The sweepers do not run after a failed or skipped session or handle
// sweep; a failed sweeper fails the sweep and stops the ones after it, and
// a skipped one skips it.
func TestSweepersStopAtAFailure(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name               string
		sessions, handles  []step
		a                  []step
		wantOrder          []string
		wantErr            error
		skipped            bool
		wantOther, wantHdl int64
	}{
		{"sessions failed", []step{{err: errDB}}, nil, nil, []string{"sessions"}, errDB, false, 0, 0},
		{"sessions skipped", []step{{err: errInProgress}}, nil, nil, []string{"sessions"}, errInProgress, true, 0, 0},
		{"handles failed", nil, []step{{removed: 1, err: errDB}}, nil, []string{"sessions", "handles"}, errDB, false, 0, 1},
		{"sweeper failed", nil, []step{{removed: 1}}, []step{{removed: 2, err: errDB}}, []string{"sessions", "handles", "a"}, errDB, false, 2, 1},
		{"sweeper skipped", nil, nil, []step{{err: errInProgress}}, []string{"sessions", "handles", "a"}, errInProgress, true, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				b := setupSweepers(t, tt.sessions, tt.handles, map[string][]step{"a": tt.a, "b": {{removed: 9}}}, "a", "b")
				_, err := b.j.Sweep(guardCtx(t))
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Sweep error = %v; want %v", err, tt.wantErr)
				}
				res := recv(t, b.results)
				if res.Skipped != tt.skipped || res.RemovedOther != tt.wantOther || res.RemovedHandles != tt.wantHdl {
					t.Errorf("result = %+v; want Skipped %v, RemovedOther %d, RemovedHandles %d", res, tt.skipped, tt.wantOther, tt.wantHdl)
				}
				if tt.skipped != (res.Err == nil) || tt.skipped && !errors.Is(err, mcpsession.ErrCleanupInProgress) {
					t.Errorf("result Err = %v, Sweep error %v", res.Err, err)
				}
				if got := b.cleaner.callOrder(); !slices.Equal(got, tt.wantOrder) {
					t.Errorf("calls = %v; want %v", got, tt.wantOrder)
				}
			})
		})
	}
}
