package main

import (
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	itasks "github.com/mcpsession/mcpsession/internal/tasks"
	"github.com/mcpsession/mcpsession/internal/testdb"
)

// The research task on two example processes over one database, on each
// dialect: a created on a, a SIGKILLed mid-task, and b reads the task
// failed within its lease (plus a margin); then every process restarts
// and the tasks are still there.
func TestBinaryTasksKilledReplica(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the example binary")
	}
	const lease = time.Second
	bin := buildBinary(t)
	testdb.Each(t, func(t *testing.T, dsn string) {
		a := launchTasks(t, bin, dsn, lease)
		b := launchTasks(t, bin, dsn, lease)
		onA := taskCaller{t: t, url: a.url, header: bearerOf("alice")}
		onB := taskCaller{t: t, url: b.url, header: bearerOf("alice")}

		finished := onA.research(0)
		waitStatus(t, onB, finished.TaskId, mcp.TaskStatusCompleted)
		running := onA.research(600)
		if got := onB.get(running.TaskId); got.Status != mcp.TaskStatusWorking {
			t.Fatalf("the running task on b: %+v", got)
		}

		// SIGKILL: no shutdown, no last write, the lease simply stops
		// being renewed.
		if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		<-a.exited
		failed := waitStatus(t, onB, running.TaskId, mcp.TaskStatusFailed)
		took := time.Since(killed)
		if failed.StatusMessage != itasks.LeaseLapsedMessage {
			t.Errorf("the failed task's message: %q; want %q", failed.StatusMessage, itasks.LeaseLapsedMessage)
		}
		// The lease was renewed at most a third of it before the kill;
		// the margin is for the polling and a loaded machine.
		if took > lease+2*time.Second {
			t.Errorf("the task read failed %v after its replica was SIGKILLed; lease %v", took, lease)
		}
		t.Logf("SIGKILLed replica's task read failed on the other %v after the kill (lease %v)", took.Round(time.Millisecond), lease)

		// Every replica restarts: the tasks, finished and failed, are in
		// the database, and the new processes answer for them.
		b.terminate(t)
		a2 := launchTasks(t, bin, dsn, lease)
		b2 := launchTasks(t, bin, dsn, lease)
		for _, p := range []*process{a2, b2} {
			tc := taskCaller{t: t, url: p.url, header: bearerOf("alice")}
			if got := tc.get(finished.TaskId); got.Status != mcp.TaskStatusCompleted {
				t.Errorf("the finished task after a restart of every replica: %+v", got)
			}
			if got := tc.get(running.TaskId); got.Status != mcp.TaskStatusFailed {
				t.Errorf("the failed task after a restart of every replica: %+v", got)
			}
			status, res := tc.call("tasks/get", map[string]any{"taskId": finished.TaskId})
			if status != http.StatusOK {
				t.Errorf("tasks/get after the restart: %d %s", status, res)
			}
		}
		a2.terminate(t)
		b2.terminate(t)
		for _, p := range []*process{a, b, a2, b2} {
			wantNoSessionID(t, p, finished.TaskId, running.TaskId)
		}
	})
}

// launchTasks starts the example (mcp-go) with a task lease, and waits
// until it listens.
func launchTasks(t *testing.T, bin, dsn string, lease time.Duration) *process {
	t.Helper()
	p := &process{exited: make(chan struct{}), ready: make(chan []string, 1)}
	p.start(t, bin, "-addr", "127.0.0.1:0", "-db", dsn, "-idle-timeout", "1m", "-drain", "100ms", "-task-lease", lease.String())
	p.awaitListening(t, "mcp-go")
	return p
}
