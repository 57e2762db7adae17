package faults_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/integration/internal/pgtest"
)

// Limits every call under load is held to.
const (
	// callDeadline is each call's context deadline.
	callDeadline = 2 * time.Second
	// callSlack is how far past its deadline a call may return: the
	// driver has to notice the deadline and close the connection.
	callSlack = time.Second
	// recoverWithin is how soon after the server is back the same Store
	// must complete a call again.
	recoverWithin = 5 * time.Second
	workers       = 8
)

// load drives a store from several goroutines, Creates mostly and Gets of
// sessions it created, and records what happened: which Creates were
// acknowledged, the errors by kind, and how long each call took.
type load struct {
	store  mcpsession.Store
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every call that ends
	acked    []acked
	calls    int
	errs     int
	kinds    map[string]int
	examples map[string]string // kind: the first error seen of it
	late     []string          // calls that overran callDeadline + callSlack
	maxCall  time.Duration
	lastOK   time.Time // when the latest successful call ended
	notFound []string  // acknowledged sessions a Get did not find
	wrong    []string  // acknowledged sessions a Get found holding something else

	// firstOK is when the first call that succeeded after watchFrom
	// ended, and firstWrite the first acknowledged Create.
	watchFrom, firstOK, firstWrite time.Time

	// unmatched counts the errors that match none of the sentinels a
	// caller can act on (mcpsession.ErrUnavailable, ErrReadOnly) nor the
	// call's own deadline; unmatchedExample is the first of them.
	unmatched        int
	unmatchedExample string
	// failedCreates are the ids of Creates that returned an error: some
	// may have committed all the same.
	failedCreates []string
	// pauseOnError is how long a worker waits after a failed call, so
	// that a long outage whose calls fail at once does not spin.
	pauseOnError time.Duration
}

type acked struct {
	id string
	n  int
}

// startLoad starts the workers; stop them with stop.
func startLoad(store mcpsession.Store) *load { return startPacedLoad(store, 0) }

// startPacedLoad starts workers that wait pauseOnError after each failed
// call.
func startPacedLoad(store mcpsession.Store, pauseOnError time.Duration) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{
		store:        store,
		cancel:       cancel,
		changed:      make(chan struct{}),
		kinds:        map[string]int{},
		examples:     map[string]string{},
		pauseOnError: pauseOnError,
	}
	for w := range workers {
		l.wg.Go(func() { l.work(ctx, w) })
	}
	return l
}

func (l *load) work(ctx context.Context, w int) {
	rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
	for n := 0; ctx.Err() == nil; n++ {
		callCtx, cancel := context.WithTimeout(ctx, callDeadline)
		start := time.Now()
		var err error
		var ack *acked
		var created string
		if target, ok := l.randomAcked(rng, n%4 == 3); ok {
			var m map[string]any
			m, err = l.store.Get(callCtx, target.id)
			if err == nil && m["n"] != float64(target.n) {
				l.mu.Lock()
				l.wrong = append(l.wrong, fmt.Sprintf("%s holds %v, want n=%d", target.id, m, target.n))
				l.mu.Unlock()
			}
			if errors.Is(err, mcpsession.ErrNotFound) {
				l.mu.Lock()
				l.notFound = append(l.notFound, target.id)
				l.mu.Unlock()
			}
		} else {
			id := mcpsession.NewID()
			num := w*1_000_000 + n
			err = l.store.Create(callCtx, id, map[string]any{"n": num, "worker": w})
			if err == nil {
				ack = &acked{id, num}
			} else {
				created = id
			}
		}
		took := time.Since(start)
		callErr := callCtx.Err()
		if dl, _ := callCtx.Deadline(); callErr == nil && !time.Now().Before(dl) {
			// Past its deadline before the context's timer fired: the
			// store reports the deadline (sqlstore's ended), and so must
			// the check of what it reported.
			callErr = context.DeadlineExceeded
		}
		cancel()
		if ctx.Err() != nil && err != nil {
			return // stopped mid-call: neither a result nor an error of the store
		}
		l.record(took, ack, created, err, callErr)
		if err != nil && l.pauseOnError > 0 {
			select {
			case <-time.After(l.pauseOnError):
			case <-ctx.Done():
			}
		}
	}
}

// randomAcked picks an acknowledged session to read, when want is set and
// there is one.
func (l *load) randomAcked(rng *rand.Rand, want bool) (acked, bool) {
	if !want {
		return acked{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.acked) == 0 {
		return acked{}, false
	}
	return l.acked[rng.IntN(len(l.acked))], true
}

// record counts one call that took took and ended with err, callErr being
// its context's error when it returned; ack is the session it created, or
// created the id of a Create that failed.
func (l *load) record(took time.Duration, ack *acked, created string, err, callErr error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	l.maxCall = max(l.maxCall, took)
	if took > callDeadline+callSlack {
		l.late = append(l.late, fmt.Sprintf("%v (%v)", took.Round(time.Millisecond), err))
	}
	if err != nil {
		l.errs++
		k := errorKind(err)
		l.kinds[k]++
		if _, seen := l.examples[k]; !seen {
			l.examples[k] = err.Error()
		}
		actionable := errors.Is(err, mcpsession.ErrUnavailable) || errors.Is(err, mcpsession.ErrReadOnly) ||
			errors.Is(err, mcpsession.ErrNotFound) || (callErr != nil && errors.Is(err, callErr))
		if !actionable {
			l.unmatched++
			if l.unmatchedExample == "" {
				l.unmatchedExample = err.Error()
			}
		}
		if created != "" {
			l.failedCreates = append(l.failedCreates, created)
		}
	} else {
		l.lastOK = time.Now()
		if !l.watchFrom.IsZero() && l.firstOK.IsZero() {
			l.firstOK = l.lastOK
		}
		if ack != nil && !l.watchFrom.IsZero() && l.firstWrite.IsZero() {
			l.firstWrite = l.lastOK
		}
	}
	if ack != nil {
		l.acked = append(l.acked, *ack)
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// await blocks until cond, evaluated under the lock after every call, is
// true, or fails t after timeout.
func (l *load) await(t *testing.T, what string, timeout time.Duration, cond func(l *load) bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		ok := cond(l)
		changed := l.changed
		l.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("waited %v for %s; load so far: %s", timeout, what, l.summary())
		}
	}
}

// counts returns how many Creates were acknowledged and how many calls
// failed so far.
func (l *load) counts() (acked, errs int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked), l.errs
}

// watchFirstOK starts watching for the first successful call from now on:
// call it once the server is down, when no call can succeed.
func (l *load) watchFirstOK() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.watchFrom, l.firstOK, l.firstWrite = time.Now(), time.Time{}, time.Time{}
}

// firstWriteAt is when the first Create acknowledged after watchFirstOK
// ended, or zero.
func (l *load) firstWriteAt() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.firstWrite
}

// committedFailures counts, through the store, the Creates that returned
// an error and yet committed.
func (l *load) committedFailures(t *testing.T) int {
	t.Helper()
	l.mu.Lock()
	ids := slices.Clone(l.failedCreates)
	l.mu.Unlock()
	n := 0
	for _, id := range ids {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := l.store.Get(ctx, id)
		cancel()
		switch {
		case err == nil:
			n++
		case !errors.Is(err, mcpsession.ErrNotFound):
			t.Fatalf("Get(%s) after the fault: %v", id, err)
		}
	}
	return n
}

// firstOKAt is when the first call that succeeded after watchFirstOK
// ended, or zero.
func (l *load) firstOKAt() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.firstOK
}

// checkCalls fails t if a call overran its deadline and slack, or a Get
// during the load missed or misread an acknowledged session. A miss of a
// session in lost, one that is gone after the load as well (an
// asynchronous standby never received it), is what losing it looks like
// and is not counted again; a miss of one that is there after the load is
// a wrong answer.
func (l *load) checkCalls(t *testing.T, lost map[string]bool) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.late) > 0 {
		t.Errorf("%d calls returned later than their deadline (%v) plus %v, e.g. %s",
			len(l.late), callDeadline, callSlack, strings.Join(l.late[:min(5, len(l.late))], "; "))
	}
	var missed []string
	for _, id := range l.notFound {
		if !lost[id] {
			missed = append(missed, id)
		}
	}
	if len(missed) > 0 {
		t.Errorf("Get did not find %d acknowledged sessions during the load that are there after it, e.g. %v", len(missed), missed[:min(5, len(missed))])
	}
	if len(l.wrong) > 0 {
		t.Errorf("Get read %d acknowledged sessions wrong during the load, e.g. %v", len(l.wrong), l.wrong[:min(5, len(l.wrong))])
	}
}

// stop stops the workers and waits for every call in flight to return;
// one that does not return within its deadline and slack is a hang.
func (l *load) stop(t *testing.T) {
	t.Helper()
	l.cancel()
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(callDeadline + callSlack + 5*time.Second):
		_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
		t.Fatal("load workers did not return after stop: a store call hangs")
	}
}

// errorSummary is "kind:count,kind:count", most frequent first.
func (l *load) errorSummary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.kinds) == 0 {
		return "none"
	}
	kinds := make([]string, 0, len(l.kinds))
	for k := range l.kinds {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		if l.kinds[kinds[i]] != l.kinds[kinds[j]] {
			return l.kinds[kinds[i]] > l.kinds[kinds[j]]
		}
		return kinds[i] < kinds[j]
	})
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s:%d", k, l.kinds[k])
	}
	return strings.Join(parts, ",")
}

func (l *load) summary() string {
	l.mu.Lock()
	calls, acked, maxCall := l.calls, len(l.acked), l.maxCall
	l.mu.Unlock()
	return fmt.Sprintf("calls=%d acked=%d errors=%s max_call=%v", calls, acked, l.errorSummary(), maxCall.Round(time.Millisecond))
}

// logExamples logs the first error of each kind, so that "other" can be
// told apart.
func (l *load) logExamples(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	kinds := slices.Sorted(func(yield func(string) bool) {
		for k := range l.examples {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range kinds {
		t.Logf("first %s error: %s", k, l.examples[k])
	}
}

// verifyAcked checks, through the store, that every acknowledged Create is
// there with what it wrote; it returns how many are not, and fails t for
// each.
func (l *load) verifyAcked(t *testing.T) (lost int) {
	t.Helper()
	return len(l.findLost(t, true))
}

// findLost returns the acknowledged Creates that are not there with what
// they wrote, failing t for each if must is set.
func (l *load) findLost(t *testing.T, must bool) (lost map[string]bool) {
	t.Helper()
	l.mu.Lock()
	all := slices.Clone(l.acked)
	l.mu.Unlock()
	lost = map[string]bool{}
	for _, a := range all {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		m, err := l.store.Get(ctx, a.id)
		cancel()
		switch {
		case errors.Is(err, mcpsession.ErrNotFound):
			lost[a.id] = true
			if must && len(lost) <= 5 {
				t.Errorf("acknowledged session %s is gone", a.id)
			}
		case err != nil:
			t.Fatalf("Get(%s) after the fault: %v", a.id, err)
		case m["n"] != float64(a.n):
			lost[a.id] = true
			if must {
				t.Errorf("acknowledged session %s holds %v; want n=%d", a.id, m, a.n)
			}
		}
	}
	return lost
}

// reportFault logs the test's FAULT line and appends it to the report
// file that make test prints.
func reportFault(t *testing.T, format string, args ...any) {
	t.Helper()
	pgtest.Report(t, format, args...)
}

// errorKind names what went wrong in a word, for the FAULT line.
func errorKind(err error) string {
	var pgErr *pgconn.PgError
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &pgErr):
		switch pgErr.Code {
		case "57P01":
			return "admin_shutdown"
		case "57P02":
			return "crash_shutdown"
		case "57P03":
			return "cannot_connect_now"
		}
		return "pg_" + pgErr.Code
	case errors.Is(err, syscall.ECONNREFUSED):
		return "conn_refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "conn_reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken_pipe"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.Is(err, driver.ErrBadConn):
		return "bad_conn"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "net_timeout"
	case errors.Is(err, mcpsession.ErrNotFound):
		return "not_found"
	}
	return "other"
}
