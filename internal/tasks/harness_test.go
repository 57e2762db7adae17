package tasks_test

import (
	"context"
	"encoding/json"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/mcpsession/mcpsession/internal/tasks"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// guard bounds every wait for a signal: a deadline for a broken test,
// never part of the timing under test.
const guard = 30 * time.Second

// testLease is the lease of the harness's replicas.
const testLease = 30 * time.Second

// clock is the time every statement of the harness's stores takes for now:
// the tests move it, nothing waits for it.
type clock struct{ ms atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ms.Store(time.Now().UnixMilli())
	return c
}

func (c *clock) now() time.Time { return time.UnixMilli(c.ms.Load()).UTC() }

func (c *clock) advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }

// replica is one process's view: its own pool, its own running bus, its own
// task store, on the harness's clock.
type replica struct {
	store *sqlstore.Store
	bus   *bus.Bus
	tasks *tasks.Store
	// waiting receives a value each time a Wait on tasks is about to wait.
	waiting chan struct{}
}

// harness is two replicas of one service over one database.
type harness struct {
	dsn   string
	clock *clock
	a, b  *replica
}

// setup opens two replicas on a new database of dsn's kind. Their Waits
// have a backstop of an hour: only the bus wakes them within a test.
func setup(t *testing.T, dsn string, opts ...tasks.Option) *harness {
	t.Helper()
	h := &harness{dsn: dsn, clock: newClock()}
	h.a = h.replica(t, "replica-a", opts...)
	h.b = h.replica(t, "replica-b", opts...)
	return h
}

func (h *harness) replica(t *testing.T, name string, opts ...tasks.Option) *replica {
	t.Helper()
	s := testdb.OpenStore(t, h.dsn)
	b := adaptertest.StartBus(t, s, bus.WithPollInterval(20*time.Millisecond))
	opts = append([]tasks.Option{tasks.WithReplica(name), tasks.WithLease(testLease), tasks.WithBackstop(time.Hour)}, opts...)
	ts, err := tasks.New(s, b, opts...)
	if err != nil {
		t.Fatal(err)
	}
	tasks.SetClock(ts, h.clock.now)
	r := &replica{store: s, bus: b, tasks: ts, waiting: make(chan struct{}, 100)}
	tasks.OnWaiting(ts, func() { r.waiting <- struct{}{} })
	return r
}

// create creates a task on r for principal, failing t on error.
func (r *replica) create(t *testing.T, p tasks.CreateParams) tasks.Task {
	t.Helper()
	task, err := r.tasks.Create(t.Context(), p)
	if err != nil {
		t.Fatalf("Create(%+v): %v", p, err)
	}
	return task
}

// get returns principal's task id as r reads it, failing t on error.
func (r *replica) get(t *testing.T, id, principal string) tasks.Task {
	t.Helper()
	task, err := r.tasks.Get(t.Context(), id, principal)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return task
}

// waitResult is what a Wait returned.
type waitResult struct {
	task tasks.Task
	err  error
}

// startWait starts a Wait on r and returns once it is waiting (it has read
// the task unfinished), with the channel its result arrives on.
func (r *replica) startWait(t *testing.T, ctx context.Context, id, principal string) <-chan waitResult {
	t.Helper()
	out := make(chan waitResult, 1)
	go func() {
		task, err := r.tasks.Wait(ctx, id, principal)
		out <- waitResult{task, err}
	}()
	select {
	case <-r.waiting:
	case res := <-out:
		t.Fatalf("Wait returned before the task finished: %+v, %v", res.task, res.err)
	case <-time.After(guard):
		t.Fatalf("Wait was not waiting within %v", guard)
	}
	return out
}

// recv returns the next value of ch, failing t if none comes within the
// guard.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(guard):
		t.Fatalf("no %s within %v", what, guard)
		var zero T
		return zero
	}
}

// sameTask fails t unless got and want are the same task in the same state.
func sameTask(t *testing.T, what string, got, want tasks.Task) {
	t.Helper()
	g, w := got, want
	// JSON compares results by their bytes, as stored.
	g.Result, w.Result = nil, nil
	if !reflect.DeepEqual(g, w) || string(got.Result) != string(want.Result) {
		t.Errorf("%s:\n got %+v (result %s)\nwant %+v (result %s)", what, got, got.Result, want, want.Result)
	}
}

// toolResult is a CallToolResult with a number encoding/json would not keep
// (beyond float64), to see a result kept byte for byte.
var toolResult = json.RawMessage(`{"content":[{"type":"text","text":"done"}],"structuredContent":{"n":1.00000000000000000001,"b":true,"a":"é"}}`)
