package tasks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/internal/tasks"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// exampleReplica opens one replica of a service on the database file: its
// store, its running bus and its task store. stop ends the bus and closes
// the store.
func exampleReplica(ctx context.Context, file, name string) (ts *tasks.Store, stop func()) {
	store, err := sqlstore.Open(ctx, sqlite.Dialect(), "sqlite:"+file, sqlstore.WithAutoMigrate())
	if err != nil {
		log.Fatal(err)
	}
	b, err := bus.New(store)
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.Run(ctx)
	}()
	<-b.Ready()
	ts, err = tasks.New(store, b, tasks.WithReplica(name))
	if err != nil {
		log.Fatal(err)
	}
	return ts, func() {
		cancel()
		<-done
		store.Close()
	}
}

// A task created on one replica is awaited on another (tasks/result) and
// finished on the first; the waiter is woken through the bus.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "tasks-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "service.db")
	a, stopA := exampleReplica(ctx, file, "replica-a")
	defer stopA()
	b, stopB := exampleReplica(ctx, file, "replica-b")
	defer stopB()

	// tools/call on replica A: the task is committed before its id is sent.
	task, err := a.Create(ctx, tasks.CreateParams{Principal: "alice", Tool: "research", TTL: time.Hour, PollInterval: time.Second})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(task.Status, task.Replica, task.TTL)

	// The work ends on replica A while replica B waits.
	go func() {
		result := json.RawMessage(`{"content":[{"type":"text","text":"done"}]}`)
		if _, err := a.Complete(ctx, task.ID, "alice", result); err != nil {
			log.Fatal(err)
		}
	}()
	done, err := b.Wait(ctx, task.ID, "alice")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(done.Status, string(done.Result))

	// Another principal finds nothing; a finished task stays finished.
	_, err = b.Get(ctx, task.ID, "mallory")
	fmt.Println(errors.Is(err, mcpsession.ErrNotFound))
	_, err = b.Cancel(ctx, task.ID, "alice")
	fmt.Println(errors.Is(err, tasks.ErrTerminal))
	// Output:
	// working replica-a 1h0m0s
	// completed {"content":[{"type":"text","text":"done"}]}
	// true
	// true
}

// The replica running a task learns that a client cancelled it on another
// replica, and can stop the work.
func ExampleStore_Watch() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "tasks-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "service.db")
	a, stopA := exampleReplica(ctx, file, "replica-a")
	defer stopA()
	b, stopB := exampleReplica(ctx, file, "replica-b")
	defer stopB()

	task, err := a.Create(ctx, tasks.CreateParams{Principal: "alice", Tool: "research"})
	if err != nil {
		log.Fatal(err)
	}
	work, stopWork := context.WithCancel(ctx)
	stopWatch := a.Watch(task.ID, func(s tasks.Status) {
		if s.Terminal() || s == "" {
			stopWork() // finished elsewhere, or deleted: stop the handler
		}
	})
	defer stopWatch()

	// tasks/cancel on replica B.
	if _, err := b.Cancel(ctx, task.ID, "alice"); err != nil {
		log.Fatal(err)
	}
	<-work.Done()
	t, err := a.Get(ctx, task.ID, "alice")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.Status, t.StatusMessage)
	// Output:
	// cancelled Task cancelled by request
}

// tasks/list: a principal's tasks a page at a time, as mcp-go pages them.
func ExampleStore_List() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "tasks-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ts, stop := exampleReplica(ctx, filepath.Join(dir, "service.db"), "replica-a")
	defer stop()

	for range 3 {
		if _, err := ts.Create(ctx, tasks.CreateParams{Principal: "alice"}); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := ts.Create(ctx, tasks.CreateParams{Principal: "bob"}); err != nil {
		log.Fatal(err)
	}
	p := tasks.ListParams{Limit: 2}
	for {
		page, err := ts.List(ctx, "alice", p)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(len(page.Tasks), "tasks, more:", page.NextCursor != "")
		if page.NextCursor == "" {
			break
		}
		p.Cursor = page.NextCursor
	}
	// Output:
	// 2 tasks, more: true
	// 1 tasks, more: false
}
