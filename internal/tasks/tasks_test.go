package tasks_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/internal/tasks"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// rules are the store's behaviours, each run on SQLite and on Postgres, on
// a database of its own with two replicas (two pools, two buses, two task
// stores) and a clock the rule moves.
var rules = []struct {
	name string
	run  func(t *testing.T, h *harness)
}{
	{"CreateThenGetOnAnyReplica", testCreateThenGet},
	{"IDsAreRandomMCPIDs", testIDs},
	{"AnotherPrincipalSeesAndChangesNothing", testAnotherPrincipal},
	{"StatusTransitions", testTransitions},
	{"TerminalStatusesNeverChange", testTerminalNeverChanges},
	{"BadInputChangesNothing", testBadInput},
	{"ConcurrentEndsOneWins", testConcurrentEnds},
	{"ListPagesAsMCPGo", testListPages},
	{"ListPagesAcrossInserts", testListAcrossInserts},
	{"ListBySession", testListBySession},
	{"WaitReturnsAtOnceWhenFinished", testWaitFinished},
	{"WaitWokenByAnotherReplica", testWaitWoken},
	{"WaitEndsWithItsContext", testWaitContext},
	{"WatchSeesEveryChange", testWatch},
	{"RenewedLeasesKeepTasksWorking", testRenew},
	{"LapsedLeaseSweptToFailed", testLapsedLease},
	{"TTLFromCreationThenDeleted", testTTL},
	{"SweepWorksInBatches", testSweepBatches},
	{"TwoSweepsAtOnceFailEachTaskOnce", testSweepRaces},
}

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			testdb.Each(t, func(t *testing.T, dsn string) { r.run(t, setup(t, dsn)) })
		})
	}
}

func testCreateThenGet(t *testing.T, h *harness) {
	start := h.clock.now()
	created := h.a.create(t, tasks.CreateParams{
		Principal: "alice", Session: "session-1", Tool: "research",
		TTL: time.Hour, PollInterval: 2 * time.Second,
	})
	want := tasks.Task{
		ID: created.ID, Principal: "alice", Session: "session-1", Tool: "research",
		Status: tasks.Working, CreatedAt: start, UpdatedAt: start,
		TTL: time.Hour, PollInterval: 2 * time.Second,
		Replica: "replica-a", LeaseUntil: start.Add(testLease),
	}
	sameTask(t, "Create", created, want)
	// The row is committed when Create returns: the other replica finds it.
	sameTask(t, "Get on the other replica", h.b.get(t, created.ID, "alice"), want)

	// The optional parts: no session, no ttl, no poll interval, no tool.
	bare := h.b.create(t, tasks.CreateParams{Principal: ""})
	want = tasks.Task{ID: bare.ID, Status: tasks.Working, CreatedAt: start, UpdatedAt: start,
		Replica: "replica-b", LeaseUntil: start.Add(testLease)}
	sameTask(t, "Create without options", bare, want)
	sameTask(t, "Get without options", h.a.get(t, bare.ID, ""), want)
}

func testIDs(t *testing.T, h *harness) {
	seen := map[string]bool{}
	for range 50 {
		id := h.a.create(t, tasks.CreateParams{Principal: "p"}).ID
		if err := mcpsession.ValidateID(id); err != nil {
			t.Fatalf("id %q: %v", id, err)
		}
		// 26 base32 characters: 130 bits.
		if len(id) != 26 || strings.Trim(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
			t.Fatalf("id %q: want 26 characters of base32", id)
		}
		if seen[id] {
			t.Fatalf("id %q minted twice", id)
		}
		seen[id] = true
	}
}

func testAnotherPrincipal(t *testing.T, h *harness) {
	ctx := t.Context()
	task := h.a.create(t, tasks.CreateParams{Principal: "alice", Tool: "research", TTL: time.Hour})
	h.clock.advance(time.Second)

	unknown := mcpsession.NewID()
	for _, id := range []string{task.ID, unknown} {
		_, err := h.b.tasks.Get(ctx, id, "bob")
		if err != tasks.ErrTaskNotFound || !errors.Is(err, mcpsession.ErrNotFound) {
			t.Errorf("Get of another principal's or an unknown task: %v; want exactly ErrTaskNotFound", err)
		}
	}
	calls := map[string]func() (tasks.Task, error){
		"SetStatus": func() (tasks.Task, error) { return h.b.tasks.SetStatus(ctx, task.ID, "bob", tasks.InputRequired, "x") },
		"Complete":  func() (tasks.Task, error) { return h.b.tasks.Complete(ctx, task.ID, "bob", toolResult) },
		"Fail":      func() (tasks.Task, error) { return h.b.tasks.Fail(ctx, task.ID, "bob", "x") },
		"Cancel":    func() (tasks.Task, error) { return h.b.tasks.Cancel(ctx, task.ID, "bob") },
		"Wait": func() (tasks.Task, error) {
			// Bounded: a Wait that found the task would wait for its end.
			ctx, cancel := context.WithTimeout(ctx, guard)
			defer cancel()
			return h.b.tasks.Wait(ctx, task.ID, "bob")
		},
	}
	for name, call := range calls {
		got, err := call()
		if err != tasks.ErrTaskNotFound || got.ID != "" {
			t.Errorf("%s as another principal: %+v, %v; want nothing, ErrTaskNotFound", name, got, err)
		}
	}
	page, err := h.b.tasks.List(ctx, "bob", tasks.ListParams{})
	if err != nil || len(page.Tasks) != 0 || page.NextCursor != "" {
		t.Errorf("List as another principal: %+v, %v; want an empty page", page, err)
	}
	// The anonymous principal is a principal like any other.
	if _, err := h.b.tasks.Get(ctx, task.ID, ""); err != tasks.ErrTaskNotFound {
		t.Errorf("Get as the anonymous principal: %v; want ErrTaskNotFound", err)
	}
	sameTask(t, "the task after the other principal's calls", h.a.get(t, task.ID, "alice"), task)
}

func testTransitions(t *testing.T, h *harness) {
	ctx := t.Context()
	task := h.a.create(t, tasks.CreateParams{Principal: "alice"})
	steps := []struct {
		status  tasks.Status
		message string
	}{
		{tasks.InputRequired, "which city?"},
		{tasks.Working, "searching"},
		{tasks.Working, "50% done"},
	}
	for _, st := range steps {
		h.clock.advance(time.Second)
		got, err := h.b.tasks.SetStatus(ctx, task.ID, "alice", st.status, st.message)
		if err != nil {
			t.Fatalf("SetStatus(%s): %v", st.status, err)
		}
		task.Status, task.StatusMessage, task.UpdatedAt = st.status, st.message, h.clock.now()
		sameTask(t, "SetStatus("+string(st.status)+")", got, task)
		sameTask(t, "Get after SetStatus", h.a.get(t, task.ID, "alice"), task)
	}
	h.clock.advance(time.Second)
	got, err := h.b.tasks.Complete(ctx, task.ID, "alice", toolResult)
	if err != nil {
		t.Fatal(err)
	}
	// The status message stays; the result is kept byte for byte.
	task.Status, task.Result, task.UpdatedAt = tasks.Completed, toolResult, h.clock.now()
	sameTask(t, "Complete", got, task)
	sameTask(t, "Get after Complete", h.a.get(t, task.ID, "alice"), task)

	failed := h.a.create(t, tasks.CreateParams{Principal: "alice"})
	h.clock.advance(time.Second)
	got, err = h.b.tasks.Fail(ctx, failed.ID, "alice", "upstream said 503")
	if err != nil {
		t.Fatal(err)
	}
	failed.Status, failed.StatusMessage, failed.Error, failed.UpdatedAt = tasks.Failed, "upstream said 503", "upstream said 503", h.clock.now()
	sameTask(t, "Fail", got, failed)
	sameTask(t, "Get after Fail", h.a.get(t, failed.ID, "alice"), failed)

	cancelled := h.a.create(t, tasks.CreateParams{Principal: "alice"})
	h.clock.advance(time.Second)
	got, err = h.b.tasks.Cancel(ctx, cancelled.ID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	cancelled.Status, cancelled.StatusMessage, cancelled.UpdatedAt = tasks.Cancelled, "Task cancelled by request", h.clock.now()
	sameTask(t, "Cancel", got, cancelled)
	sameTask(t, "Get after Cancel", h.a.get(t, cancelled.ID, "alice"), cancelled)
}

// end is a call that may end a task or change its status.
type end struct {
	name string
	call func(s *tasks.Store, id string) (tasks.Task, error)
}

func ends(ctx context.Context) []end {
	return []end{
		{"SetStatus(working)", func(s *tasks.Store, id string) (tasks.Task, error) {
			return s.SetStatus(ctx, id, "alice", tasks.Working, "again")
		}},
		{"SetStatus(input_required)", func(s *tasks.Store, id string) (tasks.Task, error) {
			return s.SetStatus(ctx, id, "alice", tasks.InputRequired, "again")
		}},
		{"Complete", func(s *tasks.Store, id string) (tasks.Task, error) {
			return s.Complete(ctx, id, "alice", []byte(`{"other":1}`))
		}},
		{"Fail", func(s *tasks.Store, id string) (tasks.Task, error) { return s.Fail(ctx, id, "alice", "other") }},
		{"Cancel", func(s *tasks.Store, id string) (tasks.Task, error) { return s.Cancel(ctx, id, "alice") }},
	}
}

func testTerminalNeverChanges(t *testing.T, h *harness) {
	ctx := t.Context()
	for _, first := range ends(ctx)[2:] { // Complete, Fail, Cancel
		task := h.a.create(t, tasks.CreateParams{Principal: "alice"})
		h.clock.advance(time.Second)
		final, err := first.call(h.a.tasks, task.ID)
		if err != nil || !final.Status.Terminal() {
			t.Fatalf("%s: %+v, %v", first.name, final, err)
		}
		for _, then := range ends(ctx) {
			h.clock.advance(time.Second)
			got, err := then.call(h.b.tasks, task.ID)
			if !errors.Is(err, tasks.ErrTerminal) || !strings.Contains(err.Error(), string(final.Status)) {
				t.Errorf("%s after %s: %v; want ErrTerminal naming %s", then.name, first.name, err, final.Status)
			}
			sameTask(t, then.name+" after "+first.name+" returns the task as it is", got, final)
		}
		sameTask(t, "the task after the refused changes", h.a.get(t, task.ID, "alice"), final)
	}
}

func testBadInput(t *testing.T, h *harness) {
	ctx := t.Context()
	task := h.a.create(t, tasks.CreateParams{Principal: "alice"})
	h.clock.advance(time.Second)
	long := strings.Repeat("x", tasks.MaxStatusMessageLength+1)
	for _, c := range []struct {
		name   string
		call   func() (tasks.Task, error)
		target error
	}{
		{"SetStatus(completed)", func() (tasks.Task, error) {
			return h.a.tasks.SetStatus(ctx, task.ID, "alice", tasks.Completed, "")
		}, tasks.ErrInvalidArgument},
		{"SetStatus(unknown)", func() (tasks.Task, error) {
			return h.a.tasks.SetStatus(ctx, task.ID, "alice", "paused", "")
		}, tasks.ErrInvalidArgument},
		{"SetStatus with a message too long", func() (tasks.Task, error) {
			return h.a.tasks.SetStatus(ctx, task.ID, "alice", tasks.Working, long)
		}, tasks.ErrInvalidArgument},
		{"SetStatus with invalid UTF-8", func() (tasks.Task, error) {
			return h.a.tasks.SetStatus(ctx, task.ID, "alice", tasks.Working, "\xff")
		}, tasks.ErrInvalidArgument},
		{"Fail with U+0000", func() (tasks.Task, error) { return h.a.tasks.Fail(ctx, task.ID, "alice", "a\x00b") }, tasks.ErrInvalidArgument},
		{"Complete with invalid JSON", func() (tasks.Task, error) {
			return h.a.tasks.Complete(ctx, task.ID, "alice", []byte(`{"content":`))
		}, tasks.ErrInvalidArgument},
		{"Complete with no result", func() (tasks.Task, error) { return h.a.tasks.Complete(ctx, task.ID, "alice", nil) }, tasks.ErrInvalidArgument},
		{"Cancel with an invalid principal", func() (tasks.Task, error) {
			return h.a.tasks.Cancel(ctx, task.ID, "a\x00")
		}, mcpsession.ErrInvalidPrincipal},
		{"Cancel with an id no task has", func() (tasks.Task, error) { return h.a.tasks.Cancel(ctx, "a b", "alice") }, mcpsession.ErrInvalidID},
		{"Get with an empty id", func() (tasks.Task, error) { return h.a.tasks.Get(ctx, "", "alice") }, tasks.ErrTaskNotFound},
		{"Create with a tool holding U+0000", func() (tasks.Task, error) {
			return h.a.tasks.Create(ctx, tasks.CreateParams{Principal: "alice", Tool: "a\x00"})
		}, tasks.ErrInvalidArgument},
		{"Create with a tool too long", func() (tasks.Task, error) {
			return h.a.tasks.Create(ctx, tasks.CreateParams{Principal: "alice", Tool: strings.Repeat("t", tasks.MaxToolLength+1)})
		}, tasks.ErrInvalidArgument},
		{"Create with an invalid session", func() (tasks.Task, error) {
			return h.a.tasks.Create(ctx, tasks.CreateParams{Principal: "alice", Session: "a b"})
		}, tasks.ErrInvalidArgument},
		{"Create with a negative ttl", func() (tasks.Task, error) {
			return h.a.tasks.Create(ctx, tasks.CreateParams{Principal: "alice", TTL: -time.Second})
		}, tasks.ErrInvalidArgument},
		{"Create with a ttl under 1ms", func() (tasks.Task, error) {
			return h.a.tasks.Create(ctx, tasks.CreateParams{Principal: "alice", TTL: time.Microsecond})
		}, tasks.ErrInvalidArgument},
		{"Create with a negative poll interval", func() (tasks.Task, error) {
			return h.a.tasks.Create(ctx, tasks.CreateParams{Principal: "alice", PollInterval: -1})
		}, tasks.ErrInvalidArgument},
		{"Create with an invalid principal", func() (tasks.Task, error) {
			return h.a.tasks.Create(ctx, tasks.CreateParams{Principal: "\xff"})
		}, mcpsession.ErrInvalidPrincipal},
	} {
		got, err := c.call()
		if !errors.Is(err, c.target) || got.ID != "" {
			t.Errorf("%s: %+v, %v; want nothing and an error matching %v", c.name, got, err, c.target)
		}
	}
	sameTask(t, "the task after the refused calls", h.a.get(t, task.ID, "alice"), task)
	if page, err := h.a.tasks.List(ctx, "alice", tasks.ListParams{}); err != nil || len(page.Tasks) != 1 {
		t.Errorf("List after the refused Creates: %d tasks, %v; want the one task", len(page.Tasks), err)
	}
	if _, err := h.a.tasks.List(ctx, "alice", tasks.ListParams{Limit: -1}); !errors.Is(err, tasks.ErrInvalidArgument) {
		t.Errorf("List with a negative limit: %v; want ErrInvalidArgument", err)
	}
	for _, cursor := range []string{"!!!", base64.StdEncoding.EncodeToString([]byte("a\x00")), "QUJD.!!", "."} {
		if _, err := h.a.tasks.List(ctx, "alice", tasks.ListParams{Cursor: cursor}); !errors.Is(err, tasks.ErrInvalidCursor) ||
			!errors.Is(err, tasks.ErrInvalidArgument) {
			t.Errorf("List with cursor %q: %v; want ErrInvalidCursor", cursor, err)
		}
	}

	// The result limit is the Store's.
	small, err := tasks.New(h.a.store, h.a.bus, tasks.WithMaxResultBytes(16))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := small.Complete(ctx, task.ID, "alice", toolResult); !errors.Is(err, tasks.ErrInvalidArgument) {
		t.Errorf("Complete with a result over the limit: %v; want ErrInvalidArgument", err)
	}
	sameTask(t, "the task after the result over the limit", h.a.get(t, task.ID, "alice"), task)
}

// Two replicas end one task at the same moment, one completing it, the
// other cancelling it: exactly one wins, the other is told the task is
// finished and sees the winner's end.
func testConcurrentEnds(t *testing.T, h *harness) {
	ctx := t.Context()
	const rounds = 20
	wins := map[tasks.Status]int{}
	for range rounds {
		task := h.a.create(t, tasks.CreateParams{Principal: "alice"})
		var (
			wg               sync.WaitGroup
			start            = make(chan struct{})
			completed, cancl tasks.Task
			errC, errX       error
		)
		wg.Go(func() {
			<-start
			completed, errC = h.a.tasks.Complete(ctx, task.ID, "alice", toolResult)
		})
		wg.Go(func() {
			<-start
			cancl, errX = h.b.tasks.Cancel(ctx, task.ID, "alice")
		})
		close(start)
		wg.Wait()
		final := h.a.get(t, task.ID, "alice")
		switch {
		case errC == nil && errors.Is(errX, tasks.ErrTerminal):
			sameTask(t, "the cancel that lost returns", cancl, final)
			sameTask(t, "the completion that won returns", completed, final)
		case errX == nil && errors.Is(errC, tasks.ErrTerminal):
			sameTask(t, "the completion that lost returns", completed, final)
			sameTask(t, "the cancel that won returns", cancl, final)
		default:
			t.Fatalf("Complete: %v, Cancel: %v; want exactly one to succeed and the other ErrTerminal", errC, errX)
		}
		wins[final.Status]++
	}
	t.Logf("of %d races: %v", rounds, wins)
}

// listAll returns every page of principal's tasks at limit.
func listAll(t *testing.T, s *tasks.Store, principal string, p tasks.ListParams) [][]tasks.Task {
	t.Helper()
	var pages [][]tasks.Task
	for range 100 {
		page, err := s.List(t.Context(), principal, p)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, page.Tasks)
		if page.NextCursor == "" {
			return pages
		}
		p.Cursor = page.NextCursor
	}
	t.Fatal("List never ended")
	return nil
}

func ids(ts []tasks.Task) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

// List pages as mcp-go's handleListTasks does: sorted by id (Go's string
// order), a cursor that is the base64 of the page's last id whenever the
// page is full, and every task when there is no limit.
func testListPages(t *testing.T, h *harness) {
	var want []string
	for i := range 7 {
		task := h.a.create(t, tasks.CreateParams{Principal: "alice", Tool: fmt.Sprint("t", i)})
		want = append(want, task.ID)
		h.b.create(t, tasks.CreateParams{Principal: "bob"})
	}
	slices.Sort(want)

	all := listAll(t, h.b.tasks, "alice", tasks.ListParams{})
	if len(all) != 1 || !slices.Equal(ids(all[0]), want) {
		t.Fatalf("List without a limit: %v; want one page of %v", all, want)
	}
	pages := listAll(t, h.b.tasks, "alice", tasks.ListParams{Limit: 3})
	if len(pages) != 3 || !slices.Equal(ids(pages[0]), want[:3]) || !slices.Equal(ids(pages[1]), want[3:6]) || !slices.Equal(ids(pages[2]), want[6:]) {
		t.Fatalf("pages of 3: %v; want %v", pages, want)
	}
	first, err := h.b.tasks.List(t.Context(), "alice", tasks.ListParams{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := first.NextCursor; got != base64.StdEncoding.EncodeToString([]byte(want[2])) {
		t.Errorf("cursor %q; want the base64 of the page's last id, as mcp-go's", got)
	}
	// mcp-go's composite cursors (name.tieBreak) mean the same.
	composite, err := h.b.tasks.List(t.Context(), "alice", tasks.ListParams{Limit: 3, Cursor: first.NextCursor + "."})
	if err != nil || !slices.Equal(ids(composite.Tasks), want[3:6]) {
		t.Errorf("List with a composite cursor: %v, %v; want %v", ids(composite.Tasks), err, want[3:6])
	}
	// A full last page has a cursor, to an empty page, as mcp-go's.
	pages = listAll(t, h.b.tasks, "alice", tasks.ListParams{Limit: 7})
	if len(pages) != 2 || len(pages[0]) != 7 || len(pages[1]) != 0 || pages[1] == nil {
		t.Errorf("pages of 7: %v; want all 7, then an empty page", pages)
	}
	for _, p := range pages[0] {
		if p.Principal != "alice" {
			t.Fatalf("alice's list holds %+v", p)
		}
	}
}

// A client pages while tasks are created: no task shows twice, every task
// there when paging began shows once, and a new task shows exactly when its
// id sorts after the cursor it came behind (keys, not offsets).
func testListAcrossInserts(t *testing.T, h *harness) {
	ctx := t.Context()
	before := map[string]bool{}
	for range 6 {
		before[h.a.create(t, tasks.CreateParams{Principal: "alice"}).ID] = true
	}
	p := tasks.ListParams{Limit: 2}
	seen := map[string]int{}
	var order []string
	want := maps(before)
	for range 100 {
		page, err := h.b.tasks.List(ctx, "alice", p)
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range page.Tasks {
			seen[task.ID]++
			order = append(order, task.ID)
		}
		if page.NextCursor == "" {
			break
		}
		p.Cursor = page.NextCursor
		last := page.Tasks[len(page.Tasks)-1].ID
		// Two more tasks, made between two pages.
		for range 2 {
			id := h.a.create(t, tasks.CreateParams{Principal: "alice"}).ID
			if id > last {
				want[id] = true
			}
		}
	}
	if !slices.IsSorted(order) || len(order) != len(seen) {
		t.Errorf("listed %v; want every task once, in id order", order)
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("task %s listed %d times; want once (it was there, or came after the cursor)", id, seen[id])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("listed %d tasks; want %d", len(seen), len(want))
	}
}

func maps(m map[string]bool) map[string]bool {
	out := make(map[string]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// With a session, List keeps that session's tasks and those of none, as
// mcp-go lists a legacy session's tasks.
func testListBySession(t *testing.T, h *harness) {
	one := h.a.create(t, tasks.CreateParams{Principal: "alice", Session: "session-1"}).ID
	two := h.a.create(t, tasks.CreateParams{Principal: "alice", Session: "session-2"}).ID
	none := h.a.create(t, tasks.CreateParams{Principal: "alice"}).ID
	for _, c := range []struct {
		session string
		want    []string
	}{
		{"", []string{one, two, none}},
		{"session-1", []string{one, none}},
		{"session-2", []string{two, none}},
		{"session-3", []string{none}},
	} {
		page, err := h.b.tasks.List(t.Context(), "alice", tasks.ListParams{Session: c.session})
		slices.Sort(c.want)
		if err != nil || !slices.Equal(ids(page.Tasks), c.want) {
			t.Errorf("List(session %q) = %v, %v; want %v", c.session, ids(page.Tasks), err, c.want)
		}
	}
}

func testWaitFinished(t *testing.T, h *harness) {
	task := h.a.create(t, tasks.CreateParams{Principal: "alice"})
	done, err := h.a.tasks.Complete(t.Context(), task.ID, "alice", toolResult)
	if err != nil {
		t.Fatal(err)
	}
	got, err := h.b.tasks.Wait(t.Context(), task.ID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	sameTask(t, "Wait on a finished task", got, done)
	if _, err := h.b.tasks.Wait(t.Context(), mcpsession.NewID(), "alice"); err != tasks.ErrTaskNotFound {
		t.Errorf("Wait on an unknown task: %v; want ErrTaskNotFound", err)
	}
}

// A Wait on one replica returns when another replica ends the task, woken
// by the bus: its backstop is an hour, so nothing else could wake it.
func testWaitWoken(t *testing.T, h *harness) {
	ctx := t.Context()
	for _, end := range []struct {
		name string
		call func(id string) (tasks.Task, error)
	}{
		{"Complete", func(id string) (tasks.Task, error) { return h.b.tasks.Complete(ctx, id, "alice", toolResult) }},
		{"Fail", func(id string) (tasks.Task, error) { return h.b.tasks.Fail(ctx, id, "alice", "boom") }},
		{"Cancel", func(id string) (tasks.Task, error) { return h.b.tasks.Cancel(ctx, id, "alice") }},
	} {
		task := h.a.create(t, tasks.CreateParams{Principal: "alice"})
		result := h.a.startWait(t, ctx, task.ID, "alice")
		// A change that does not finish the task does not end the Wait.
		if _, err := h.b.tasks.SetStatus(ctx, task.ID, "alice", tasks.InputRequired, "which?"); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		final, err := end.call(task.ID)
		if err != nil {
			t.Fatal(err)
		}
		res := recv(t, result, "Wait's return after "+end.name)
		if res.err != nil {
			t.Fatalf("Wait after %s: %v", end.name, res.err)
		}
		sameTask(t, "Wait after "+end.name, res.task, final)
		t.Logf("%s on replica B to Wait's return on replica A: %v", end.name, time.Since(start))
	}
}

func testWaitContext(t *testing.T, h *harness) {
	task := h.a.create(t, tasks.CreateParams{Principal: "alice"})
	ctx, cancel := context.WithCancel(t.Context())
	result := h.b.startWait(t, ctx, task.ID, "alice")
	cancel()
	if res := recv(t, result, "Wait's return after its context ended"); !errors.Is(res.err, context.Canceled) {
		t.Errorf("Wait after its context ended: %v; want context.Canceled", res.err)
	}
}

func testWatch(t *testing.T, h *harness) {
	ctx := t.Context()
	task := h.a.create(t, tasks.CreateParams{Principal: "alice", TTL: time.Minute})
	seen := make(chan tasks.Status, 10)
	stop := h.a.tasks.Watch(task.ID, func(s tasks.Status) { seen <- s })
	defer stop()
	if _, err := h.b.tasks.SetStatus(ctx, task.ID, "alice", tasks.InputRequired, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.b.tasks.Cancel(ctx, task.ID, "alice"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []tasks.Status{tasks.InputRequired, tasks.Cancelled} {
		if got := recv(t, seen, "status "+string(want)); got != want {
			t.Errorf("Watch saw %q; want %q", got, want)
		}
	}
	// Once finished, the task is deleted silently: nobody waits for it.
	running := h.a.create(t, tasks.CreateParams{Principal: "alice", TTL: time.Minute})
	stopRunning := h.a.tasks.Watch(running.ID, func(s tasks.Status) { seen <- s })
	defer stopRunning()
	waiter := h.b.startWait(t, ctx, running.ID, "alice")
	h.clock.advance(time.Minute)
	if n, err := h.b.tasks.Sweep(ctx); n != 2 || err != nil {
		t.Fatalf("Sweep = %d, %v; want both tasks deleted", n, err)
	}
	if got := recv(t, seen, "the deletion"); got != "" {
		t.Errorf("Watch saw %q for the deletion of an unfinished task; want \"\"", got)
	}
	if res := recv(t, waiter, "Wait's return after the deletion"); res.err != tasks.ErrTaskNotFound {
		t.Errorf("Wait on a task deleted meanwhile: %+v, %v; want ErrTaskNotFound", res.task, res.err)
	}
	// Each change of its own task only: the bus's topic is a digest of the
	// id, never the id.
	if strings.Contains(tasks.Topic(task.ID), task.ID) {
		t.Errorf("topic %q holds the task's id", tasks.Topic(task.ID))
	}
}

func testRenew(t *testing.T, h *harness) {
	ctx := t.Context()
	a1 := h.a.create(t, tasks.CreateParams{Principal: "alice"}).ID
	a2 := h.a.create(t, tasks.CreateParams{Principal: "bob"}).ID
	b1 := h.b.create(t, tasks.CreateParams{Principal: "alice"}).ID
	h.clock.advance(20 * time.Second)
	renewed, err := h.a.tasks.RenewLeases(ctx)
	want := []string{a1, a2}
	slices.Sort(want)
	slices.Sort(renewed)
	if err != nil || !slices.Equal(renewed, want) {
		t.Fatalf("RenewLeases = %v, %v; want replica A's tasks %v", renewed, err, want)
	}
	if got := h.a.get(t, a1, "alice").LeaseUntil; !got.Equal(h.clock.now().Add(testLease)) {
		t.Errorf("lease until %v after renewal; want %v", got, h.clock.now().Add(testLease))
	}
	// B's lease lapsed, A's did not: B's task failed, and B cannot renew
	// it any more.
	h.clock.advance(20 * time.Second)
	if got := h.a.get(t, b1, "alice"); got.Status != tasks.Failed {
		t.Errorf("task not renewed, before the sweep: %s; want failed", got.Status)
	}
	if renewed, err := h.b.tasks.RenewLeases(ctx); err != nil || len(renewed) != 0 {
		t.Errorf("RenewLeases of a lapsed lease = %v, %v; want none", renewed, err)
	}
	if n, err := h.b.tasks.Sweep(ctx); n != 1 || err != nil {
		t.Fatalf("Sweep = %d, %v; want B's task failed", n, err)
	}
	if got := h.a.get(t, a1, "alice").Status; got != tasks.Working {
		t.Errorf("renewed task is %s; want working", got)
	}
	if got := h.a.get(t, b1, "alice").Status; got != tasks.Failed {
		t.Errorf("task not renewed is %s; want failed", got)
	}
	// A finished task needs no lease.
	if _, err := h.a.tasks.Complete(ctx, a1, "alice", toolResult); err != nil {
		t.Fatal(err)
	}
	if renewed, err := h.a.tasks.RenewLeases(ctx); err != nil || !slices.Equal(renewed, []string{a2}) {
		t.Errorf("RenewLeases after one finished = %v, %v; want %v", renewed, err, []string{a2})
	}
	if renewed, err := h.b.tasks.RenewLeases(ctx); err != nil || len(renewed) != 0 {
		t.Errorf("RenewLeases of a replica with no task = %v, %v; want none", renewed, err)
	}
}

// The replica running a task stops: the task has failed from the instant
// its lease lapses, for every reader and every call, before any sweep; a
// sweep on the other replica writes it down as it read, and wakes a
// waiter. The replica, if it comes back, finds the task gone.
func testLapsedLease(t *testing.T, h *harness) {
	ctx := t.Context()
	start := h.clock.now()
	task := h.a.create(t, tasks.CreateParams{Principal: "alice", TTL: time.Hour})
	input := h.a.create(t, tasks.CreateParams{Principal: "alice"})
	if _, err := h.a.tasks.SetStatus(ctx, input.ID, "alice", tasks.InputRequired, "which?"); err != nil {
		t.Fatal(err)
	}
	finished := h.a.create(t, tasks.CreateParams{Principal: "alice"})
	done, err := h.a.tasks.Complete(ctx, finished.ID, "alice", toolResult)
	if err != nil {
		t.Fatal(err)
	}
	result := h.b.startWait(t, ctx, task.ID, "alice")

	h.clock.advance(testLease) // the lease ends now: not lapsed yet
	if got := h.b.get(t, task.ID, "alice"); got.Status != tasks.Working {
		t.Errorf("task at the end of its lease: %s; want working", got.Status)
	}
	if n, err := h.b.tasks.Sweep(ctx); n != 0 || err != nil {
		t.Fatalf("Sweep at the end of the lease = %d, %v; want nothing done", n, err)
	}
	h.clock.advance(time.Millisecond)

	// Failed before any sweep, as the sweep will write it.
	lapsed := task
	lapsed.Status, lapsed.StatusMessage, lapsed.Error, lapsed.UpdatedAt = tasks.Failed, tasks.LeaseLapsedMessage, tasks.LeaseLapsedMessage, start.Add(testLease)
	sameTask(t, "a lapsed task before the sweep", h.b.get(t, task.ID, "alice"), lapsed)
	if page, err := h.b.tasks.List(ctx, "alice", tasks.ListParams{}); err != nil || len(page.Tasks) != 3 {
		t.Fatalf("List: %v, %v", page, err)
	} else {
		for _, got := range page.Tasks {
			if got.ID == task.ID {
				sameTask(t, "a lapsed task in a list", got, lapsed)
			}
		}
	}
	if got, err := h.a.tasks.Complete(ctx, task.ID, "alice", toolResult); !errors.Is(err, tasks.ErrTerminal) {
		t.Errorf("Complete after the lapse: %v; want ErrTerminal", err)
	} else {
		sameTask(t, "the refused Complete returns", got, lapsed)
	}
	if renewed, err := h.a.tasks.RenewLeases(ctx); err != nil || len(renewed) != 0 {
		t.Errorf("RenewLeases after the lapse = %v, %v; want none: a lapsed lease is lost", renewed, err)
	}

	if n, err := h.b.tasks.Sweep(ctx); n != 2 || err != nil {
		t.Fatalf("Sweep after the lease = %d, %v; want 2 tasks failed", n, err)
	}
	res := recv(t, result, "Wait's return after the sweep")
	if res.err != nil {
		t.Fatalf("Wait after the sweep: %v", res.err)
	}
	sameTask(t, "Wait after the sweep", res.task, lapsed)
	sameTask(t, "Get after the sweep", h.a.get(t, task.ID, "alice"), lapsed)
	if got := h.a.get(t, input.ID, "alice"); got.Status != tasks.Failed || got.StatusMessage != tasks.LeaseLapsedMessage {
		t.Errorf("input_required task after the sweep: %+v; want failed", got)
	}
	sameTask(t, "a finished task after the sweep", h.a.get(t, finished.ID, "alice"), done)
	if n, err := h.b.tasks.Sweep(ctx); n != 0 || err != nil {
		t.Errorf("second Sweep = %d, %v; want nothing left", n, err)
	}
}

// A task's ttl counts from its creation, whatever changes it meanwhile;
// past it the task is gone, and the sweep deletes it.
func testTTL(t *testing.T, h *harness) {
	ctx := t.Context()
	task := h.a.create(t, tasks.CreateParams{Principal: "alice", TTL: time.Minute})
	forever := h.a.create(t, tasks.CreateParams{Principal: "alice"})
	h.clock.advance(30 * time.Second)
	if _, err := h.a.tasks.RenewLeases(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.b.tasks.SetStatus(ctx, task.ID, "alice", tasks.Working, "halfway"); err != nil {
		t.Fatal(err)
	}
	h.clock.advance(30*time.Second - time.Millisecond)
	h.b.get(t, task.ID, "alice") // a millisecond left
	h.clock.advance(time.Millisecond)

	if _, err := h.b.tasks.Get(ctx, task.ID, "alice"); err != tasks.ErrTaskExpired || !errors.Is(err, tasks.ErrTaskNotFound) {
		t.Errorf("Get past the ttl: %v; want ErrTaskExpired, matching ErrTaskNotFound", err)
	}
	if _, err := h.b.tasks.Get(ctx, task.ID, "bob"); err != tasks.ErrTaskNotFound {
		t.Errorf("another principal's Get past the ttl: %v; want ErrTaskNotFound", err)
	}
	for _, e := range ends(ctx) {
		if _, err := e.call(h.b.tasks, task.ID); err != tasks.ErrTaskExpired {
			t.Errorf("%s past the ttl: %v; want ErrTaskExpired", e.name, err)
		}
	}
	if _, err := h.b.tasks.Wait(ctx, task.ID, "alice"); err != tasks.ErrTaskExpired {
		t.Errorf("Wait past the ttl: %v; want ErrTaskExpired", err)
	}
	if page, err := h.b.tasks.List(ctx, "alice", tasks.ListParams{}); err != nil || !slices.Equal(ids(page.Tasks), []string{forever.ID}) {
		t.Errorf("List past the ttl: %v, %v; want only the task without a ttl", ids(page.Tasks), err)
	}
	if renewed, err := h.a.tasks.RenewLeases(ctx); err != nil || !slices.Equal(renewed, []string{forever.ID}) {
		t.Errorf("RenewLeases past the ttl: %v, %v; want only the task without a ttl", renewed, err)
	}
	if n, err := h.b.tasks.Sweep(ctx); n != 1 || err != nil {
		t.Fatalf("Sweep = %d, %v; want the expired task deleted", n, err)
	}
	if _, err := h.b.tasks.Get(ctx, task.ID, "alice"); err != tasks.ErrTaskNotFound {
		t.Errorf("Get after the sweep: %v; want ErrTaskNotFound", err)
	}
	// Without a ttl, a task is kept for ever (but its lease still lapses).
	h.clock.advance(100 * 365 * 24 * time.Hour)
	if n, err := h.b.tasks.Sweep(ctx); n != 1 || err != nil {
		t.Fatalf("Sweep a century later = %d, %v; want the task without a ttl failed, not deleted", n, err)
	}
	if got := h.b.get(t, forever.ID, "alice"); got.Status != tasks.Failed {
		t.Errorf("task without a ttl a century later: %+v; want it kept, failed", got)
	}
}

func testSweepBatches(t *testing.T, h *harness) {
	ctx := t.Context()
	small, err := tasks.New(h.b.store, h.b.bus, tasks.WithSweepBatchSize(2))
	if err != nil {
		t.Fatal(err)
	}
	tasks.SetClock(small, h.clock.now)
	var expiring, lapsing []string
	for range 5 {
		expiring = append(expiring, h.a.create(t, tasks.CreateParams{Principal: "alice", TTL: time.Second}).ID)
	}
	h.clock.advance(2 * time.Second)
	for range 5 {
		lapsing = append(lapsing, h.a.create(t, tasks.CreateParams{Principal: "alice"}).ID)
	}
	h.clock.advance(testLease + time.Second)
	if n, err := small.Sweep(ctx); n != 10 || err != nil {
		t.Fatalf("Sweep in batches of 2 = %d, %v; want all 10", n, err)
	}
	for _, id := range expiring {
		if _, err := small.Get(ctx, id, "alice"); err != tasks.ErrTaskNotFound {
			t.Errorf("expired task after the sweep: %v; want ErrTaskNotFound", err)
		}
	}
	for _, id := range lapsing {
		if got := h.a.get(t, id, "alice"); got.Status != tasks.Failed {
			t.Errorf("lapsed task after the sweep: %s; want failed", got.Status)
		}
	}
	if n, err := small.Sweep(ctx); n != 0 || err != nil {
		t.Errorf("second Sweep = %d, %v; want nothing left", n, err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	t.Parallel()
	s := testdb.OpenStore(t, testdb.SQLiteFile(t))
	b, err := bus.New(s)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		opts  []tasks.Option
		nilDB bool
		nilB  bool
	}{
		"nil store":              {nilDB: true},
		"nil bus":                {nilB: true},
		"nil option":             {opts: []tasks.Option{nil}},
		"empty replica":          {opts: []tasks.Option{tasks.WithReplica("")}},
		"replica with a space":   {opts: []tasks.Option{tasks.WithReplica("a b")}},
		"lease under 100ms":      {opts: []tasks.Option{tasks.WithLease(99 * time.Millisecond)}},
		"backstop under 1ms":     {opts: []tasks.Option{tasks.WithBackstop(0)}},
		"max result 0":           {opts: []tasks.Option{tasks.WithMaxResultBytes(0)}},
		"sweep batch 0":          {opts: []tasks.Option{tasks.WithSweepBatchSize(0)}},
		"nil logger":             {opts: []tasks.Option{tasks.WithLogger(nil)}},
		"a bad one after a good": {opts: []tasks.Option{tasks.WithLease(time.Second), tasks.WithLease(-1)}},
	} {
		store, bb := s, b
		if c.nilDB {
			store = nil
		}
		if c.nilB {
			bb = nil
		}
		ts, err := tasks.New(store, bb, c.opts...)
		if ts != nil || !errors.Is(err, mcpsession.ErrInvalidOption) {
			t.Errorf("%s: %v, %v; want no Store and ErrInvalidOption", name, ts, err)
		}
	}
	ts, err := tasks.New(s, b, tasks.WithReplica("pod-7"), tasks.WithLease(100*time.Millisecond))
	if err != nil || ts.Replica() != "pod-7" || ts.Lease() != 100*time.Millisecond {
		t.Fatalf("New with good options: %v, %v", ts, err)
	}
	ts, err = tasks.New(s, b)
	if err != nil || ts.Lease() != 30*time.Second || mcpsession.ValidateID(ts.Replica()) != nil {
		t.Errorf("New's defaults: replica %q, lease %v, %v; want a random replica and 30s", ts.Replica(), ts.Lease(), err)
	}
	if other, _ := tasks.New(s, b); other.Replica() == ts.Replica() {
		t.Error("two Stores got the same random replica name")
	}
}

// Two replicas sweep at once while the replica whose leases lapsed tries
// to complete its tasks: each task is failed once, by one sweep, and no
// completion gets through.
func testSweepRaces(t *testing.T, h *harness) {
	ctx := t.Context()
	const n = 30
	var ids []string
	for range n {
		ids = append(ids, h.a.create(t, tasks.CreateParams{Principal: "alice"}).ID)
	}
	h.clock.advance(testLease + time.Millisecond)
	sweeper := func(r *replica) *tasks.Store {
		s, err := tasks.New(r.store, r.bus, tasks.WithSweepBatchSize(3))
		if err != nil {
			t.Fatal(err)
		}
		tasks.SetClock(s, h.clock.now)
		return s
	}
	sweepers := []*tasks.Store{sweeper(h.a), sweeper(h.b)}
	var (
		wg        sync.WaitGroup
		start     = make(chan struct{})
		swept     [2]int64
		sweepErr  [2]error
		completed = make([]error, n)
	)
	for i, s := range sweepers {
		wg.Go(func() {
			<-start
			swept[i], sweepErr[i] = s.Sweep(ctx)
		})
	}
	wg.Go(func() {
		<-start
		for i, id := range ids {
			_, completed[i] = h.a.tasks.Complete(ctx, id, "alice", toolResult)
		}
	})
	close(start)
	wg.Wait()
	if sweepErr[0] != nil || sweepErr[1] != nil {
		t.Fatalf("Sweep: %v, %v", sweepErr[0], sweepErr[1])
	}
	for i, id := range ids {
		got := h.b.get(t, id, "alice")
		if !errors.Is(completed[i], tasks.ErrTerminal) || got.Status != tasks.Failed || got.StatusMessage != tasks.LeaseLapsedMessage {
			t.Errorf("task %d: Complete %v, then %s; want ErrTerminal, failed", i, completed[i], got.Status)
		}
	}
	if swept[0]+swept[1] != n {
		t.Errorf("the sweeps failed %d and %d tasks; want %d in all", swept[0], swept[1], n)
	}
	t.Logf("of %d tasks, the sweeps failed %d and %d", n, swept[0], swept[1])
}

// The task store runs its SQL with the store's discipline: refused at once
// from inside a Modify function, and every write refused on a store opened
// read-only, whose reads work.
func TestKeepsTheStoresDiscipline(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		s := testdb.OpenStore(t, dsn)
		b, err := bus.New(s)
		if err != nil {
			t.Fatal(err)
		}
		ts, err := tasks.New(s, b)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), guard)
		defer cancel()
		task, err := ts.Create(ctx, tasks.CreateParams{Principal: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		session := mcpsession.NewID()
		if err := s.Create(ctx, session, nil); err != nil {
			t.Fatal(err)
		}
		var inModify []error
		err = s.Modify(ctx, session, func(m map[string]any) (map[string]any, error) {
			_, e1 := ts.Create(ctx, tasks.CreateParams{Principal: "alice"})
			_, e2 := ts.Get(ctx, task.ID, "alice")
			_, e3 := ts.Complete(ctx, task.ID, "alice", toolResult)
			_, e4 := ts.Sweep(ctx)
			_, e5 := ts.RenewLeases(ctx)
			inModify = []error{e1, e2, e3, e4, e5}
			return m, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, err := range inModify {
			if !errors.Is(err, mcpsession.ErrCallInModify) {
				t.Errorf("call %d inside Modify: %v; want ErrCallInModify", i, err)
			}
		}

		ro, err := sqlstore.Open(ctx, testdb.Dialect(dsn), dsn, sqlstore.WithReadOnly())
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		rb, err := bus.New(ro)
		if err != nil {
			t.Fatal(err)
		}
		rts, err := tasks.New(ro, rb)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rts.Create(ctx, tasks.CreateParams{Principal: "alice"}); !errors.Is(err, mcpsession.ErrReadOnly) {
			t.Errorf("Create on a read-only store: %v; want ErrReadOnly", err)
		}
		if _, err := rts.Cancel(ctx, task.ID, "alice"); !errors.Is(err, mcpsession.ErrReadOnly) {
			t.Errorf("Cancel on a read-only store: %v; want ErrReadOnly", err)
		}
		if got, err := rts.Get(ctx, task.ID, "alice"); err != nil || got.Status != tasks.Working {
			t.Errorf("Get on a read-only store: %+v, %v; want the working task", got, err)
		}
	})
}
