package mcpgo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/tasks"
)

// Tasks on two replicas of one database, a and b, each with its own
// mcp-go, bus, event store and task store, on each dialect.

// taskReplica is a replica serving tasks: its task tools are "block",
// whose handler reports its start and the moment its context ends and
// then returns, and "quick", which answers at once (or after
// arguments["ms"] milliseconds).
type taskReplica struct {
	url      string
	sessions *Sessions
	tasks    *tasks.Store
	started  chan struct{}  // a block handler began
	ended    chan time.Time // when a block handler's context ended
}

// taskReplicaConfig tunes serveTasks.
type taskReplicaConfig struct {
	lease      time.Duration
	serverOpts []server.ServerOption
}

func serveTasks(t *testing.T, name, dsn string, cfg taskReplicaConfig) *taskReplica {
	t.Helper()
	st := adaptertest.NewStreams(t, dsn)
	var topts []tasks.Option
	if cfg.lease > 0 {
		topts = append(topts, tasks.WithLease(cfg.lease))
	}
	ts, err := tasks.New(st.Store, st.Bus, append(topts, tasks.WithLogger(quiet))...)
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := New(st.Store, WithStreams(st.Bus, st.Events), WithTasks(ts), WithLogger(quiet), WithPrincipal(adaptertest.TestPrincipal))
	if err != nil {
		t.Fatal(err)
	}
	r := &taskReplica{sessions: sessions, tasks: ts, started: make(chan struct{}, 16), ended: make(chan time.Time, 16)}
	opts := append(sessions.ServerOptions(), server.WithTaskCapabilities(true, true, true))
	ms := server.NewMCPServer("test-"+name, "1.0.0", append(opts, cfg.serverOpts...)...)
	ms.AddTaskTool(mcp.NewTool("block", mcp.WithTaskSupport(mcp.TaskSupportRequired)),
		func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CreateTaskResult, error) {
			r.started <- struct{}{}
			<-ctx.Done()
			r.ended <- time.Now()
			return nil, ctx.Err()
		})
	ms.AddTaskTool(mcp.NewTool("quick", mcp.WithTaskSupport(mcp.TaskSupportRequired), mcp.WithNumber("ms")),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CreateTaskResult, error) {
			select {
			case <-time.After(time.Duration(req.GetFloat("ms", 0)) * time.Millisecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return &mcp.CreateTaskResult{Content: []mcp.Content{mcp.NewTextContent("quick from " + name)}}, nil
		})
	r.url = serveHTTP(t, sessions, ms)
	return r
}

// eachTaskPair runs fn with two task replicas over one database, on each
// dialect.
func eachTaskPair(t *testing.T, cfg taskReplicaConfig, fn func(t *testing.T, a, b *taskReplica)) {
	t.Helper()
	testdb.Each(t, func(t *testing.T, dsn string) {
		fn(t, serveTasks(t, "a", dsn, cfg), serveTasks(t, "b", dsn, cfg))
	})
}

// taskClient sends one era's requests as user: legacy in session sid, or
// sessionless when sid is "".
type taskClient struct {
	t    *testing.T
	user string
	sid  string
}

func (c taskClient) call(url, method string, params map[string]any) (int, json.RawMessage) {
	c.t.Helper()
	if c.sid == "" {
		return adaptertest.CallModern(c.t, url, adaptertest.As(c.user), method, params)
	}
	return adaptertest.CallWith(c.t, url, c.sid, adaptertest.As(c.user), method, params)
}

// create starts task tool name on url and returns the task's id.
func (c taskClient) create(url, name string, args map[string]any) string {
	c.t.Helper()
	status, res := c.call(url, "tools/call", map[string]any{"name": name, "arguments": args, "task": map[string]any{"ttl": 600000}})
	var out mcp.CreateTaskResult
	if status != http.StatusOK || json.Unmarshal(res, &out) != nil || out.Task.TaskId == "" {
		c.t.Fatalf("tools/call %s: %d %s", name, status, res)
	}
	return out.Task.TaskId
}

func (c taskClient) get(url, id string) mcp.Task {
	c.t.Helper()
	status, res := c.call(url, "tasks/get", map[string]any{"taskId": id})
	var out mcp.GetTaskResult
	if status != http.StatusOK || json.Unmarshal(res, &out) != nil || out.TaskId != id {
		c.t.Fatalf("tasks/get: %d %s", status, res)
	}
	return out.Task
}

// awaitStatus polls tasks/get on url until the task has status.
func (c taskClient) awaitStatus(url, id string, status mcp.TaskStatus) {
	c.t.Helper()
	adaptertest.Eventually(c.t, adaptertest.Timeout, "task "+string(status), func() bool {
		return c.get(url, id).Status == status
	})
}

func legacyClient(t *testing.T, url, user string) taskClient {
	t.Helper()
	return taskClient{t: t, user: user, sid: adaptertest.InitializeWith(t, url, "tasks", adaptertest.LegacyVersion, adaptertest.As(user))}
}

// tasks/cancel on b ends the context of the handler running on a within
// 1 s, in both eras.
func TestTasksCancelEndsHandlerOnOtherReplica(t *testing.T) {
	t.Parallel()
	eachTaskPair(t, taskReplicaConfig{}, func(t *testing.T, a, b *taskReplica) {
		for _, era := range []string{"legacy", "modern"} {
			c := taskClient{t: t, user: "alice"}
			if era == "legacy" {
				c = legacyClient(t, a.url, "alice")
			}
			id := c.create(a.url, "block", nil)
			select {
			case <-a.started:
			case <-time.After(adaptertest.Timeout):
				t.Fatalf("%s: the handler did not start on a", era)
			}
			sent := time.Now()
			status, res := c.call(b.url, "tasks/cancel", map[string]any{"taskId": id})
			answered := time.Since(sent)
			var out mcp.CancelTaskResult
			if status != http.StatusOK || json.Unmarshal(res, &out) != nil || out.Status != mcp.TaskStatusCancelled {
				t.Fatalf("%s: tasks/cancel on b: %d %s", era, status, res)
			}
			select {
			case at := <-a.ended:
				took := at.Sub(sent)
				if took > time.Second {
					t.Errorf("%s: the handler's context on a ended %v after tasks/cancel was sent to b; the contract is 1 s", era, took)
				}
				t.Logf("%s: tasks/cancel on b answered in %v; the handler's context on a ended %v after it was sent",
					era, answered.Round(time.Microsecond), took.Round(time.Microsecond))
			case <-time.After(adaptertest.Timeout):
				t.Fatalf("%s: the handler's context on a did not end", era)
			}
			c.awaitStatus(a.url, id, mcp.TaskStatusCancelled)
		}
	})
}

// statusNotification is a notifications/tasks/status a client read.
type statusNotification struct {
	TaskID string         `json:"taskId"`
	Status mcp.TaskStatus `json:"status"`
}

// A legacy session's GET stream on b gets the status notifications of its
// tasks run on a, naming the tasks' ids, and none of mcp-go's own (which
// name its ids, no client can use).
func TestTasksStatusNotificationsReachGETOnOtherReplica(t *testing.T) {
	t.Parallel()
	eachTaskPair(t, taskReplicaConfig{}, func(t *testing.T, a, b *taskReplica) {
		c := legacyClient(t, a.url, "alice")
		get := getAs(t, b.url, c.sid, "alice")
		if get.Status(t) != http.StatusOK {
			t.Fatalf("GET on b: %d", get.Status(t))
		}
		// Another session on a, which mcp-go would tell of every task a
		// runs.
		other := legacyClient(t, a.url, "mallory")
		otherGET := getAs(t, a.url, other.sid, "mallory")
		if otherGET.Status(t) != http.StatusOK {
			t.Fatalf("GET on a: %d", otherGET.Status(t))
		}

		done := c.create(a.url, "quick", map[string]any{"ms": 50})
		blocked := c.create(a.url, "block", nil)
		<-a.started
		if status, res := c.call(b.url, "tasks/cancel", map[string]any{"taskId": blocked}); status != http.StatusOK {
			t.Fatalf("tasks/cancel: %d %s", status, res)
		}
		want := map[string]mcp.TaskStatus{done: mcp.TaskStatusCompleted, blocked: mcp.TaskStatusCancelled}
		got := map[string]mcp.TaskStatus{}
		deadline := time.After(adaptertest.Timeout)
		for len(got) < len(want) {
			select {
			case ev := <-get.Events():
				if ev.Data == "" {
					continue
				}
				m := ev.Message(t)
				if m.Method != string(mcp.MethodNotificationTasksStatus) {
					continue
				}
				var n statusNotification
				if err := json.Unmarshal(m.Params, &n); err != nil {
					t.Fatal(err)
				}
				if _, ok := want[n.TaskID]; !ok {
					t.Fatalf("a status notification naming %q, no task of the client's: %s", n.TaskID, ev.Data)
				}
				if ev.ID == "" {
					t.Errorf("a status notification without an event id: %s", ev.Data)
				}
				got[n.TaskID] = n.Status
			case <-deadline:
				t.Fatalf("status notifications on b: %v; want %v", got, want)
			}
		}
		for id, status := range want {
			if got[id] != status {
				t.Errorf("task %s: notified %q; want %q", id, got[id], status)
			}
		}
		// The other session: nothing of alice's tasks, after a marker
		// that shows its stream is delivering.
		if err := b.sessions.Notify(t.Context(), other.sid, "notifications/message", map[string]any{"level": "info", "data": "marker"}); err != nil {
			t.Fatal(err)
		}
		for {
			ev := otherGET.NextMessage(t)
			m := ev.Message(t)
			if m.Method == "notifications/message" {
				break
			}
			if m.Method == string(mcp.MethodNotificationTasksStatus) {
				t.Errorf("another principal's session got a task's status: %s", ev.Data)
			}
		}
	})
}

// Shutdown stops the lease renewal of the tasks a replica runs: its
// goroutine is gone once Shutdown returns, and the tasks' leases lapse.
func TestTasksShutdownStopsLeaseRenewal(t *testing.T) {
	t.Parallel()
	const lease = 300 * time.Millisecond
	eachTaskPair(t, taskReplicaConfig{lease: lease}, func(t *testing.T, a, b *taskReplica) {
		c := taskClient{t: t, user: "alice"}
		id := c.create(a.url, "block", nil)
		<-a.started
		if !a.sessions.tasks.isRenewing() {
			t.Fatal("no lease renewal while a runs a task")
		}
		if err := a.sessions.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
		if a.sessions.tasks.isRenewing() {
			t.Error("the lease renewal still runs after Shutdown")
		}
		c.awaitStatus(b.url, id, mcp.TaskStatusFailed)
	})
}

// ---- the tasks path, unit by unit ------------------------------------------------

// Another principal's task is an unknown one, on either replica, for every
// task request, and nothing changes.
func TestTasksAnotherPrincipal(t *testing.T) {
	t.Parallel()
	eachTaskPair(t, taskReplicaConfig{}, func(t *testing.T, a, b *taskReplica) {
		alice := taskClient{t: t, user: "alice"}
		running := alice.create(a.url, "block", nil)
		<-a.started
		finished := alice.create(a.url, "quick", nil)
		alice.awaitStatus(b.url, finished, mcp.TaskStatusCompleted)
		before := map[string]mcp.Task{running: alice.get(a.url, running), finished: alice.get(a.url, finished)}

		const unknown = "0123456789ABCDEFGHJKMNPQRS"
		for _, mallory := range []taskClient{{t: t, user: "mallory"}, legacyClient(t, b.url, "mallory")} {
			era := map[bool]string{true: "modern", false: "legacy"}[mallory.sid == ""]
			for _, url := range []string{a.url, b.url} {
				methods := []string{"tasks/get", "tasks/cancel"}
				if mallory.sid != "" {
					methods = append(methods, "tasks/result")
				}
				for _, method := range methods {
					ws, want := mallory.call(url, method, map[string]any{"taskId": unknown})
					want = errorOf(want)
					for _, id := range []string{running, finished} {
						gs, got := mallory.call(url, method, map[string]any{"taskId": id})
						if got = errorOf(got); gs != ws || string(got) != string(want) {
							t.Errorf("%s %s of alice's task: %d %s; of an unknown one: %d %s", era, method, gs, got, ws, want)
						}
					}
				}
				if mallory.sid != "" {
					status, res := mallory.call(url, "tasks/list", map[string]any{})
					var list mcp.ListTasksResult
					if status != http.StatusOK || json.Unmarshal(res, &list) != nil || len(list.Tasks) != 0 {
						t.Errorf("legacy tasks/list of another principal: %d %s; want none", status, res)
					}
				}
			}
		}
		for id, was := range before {
			if now := alice.get(b.url, id); now.Status != was.Status || now.LastUpdatedAt != was.LastUpdatedAt {
				t.Errorf("after another principal's requests: %+v; before: %+v", now, was)
			}
		}
		select {
		case <-a.ended:
			t.Error("another principal's cancel ended the handler")
		default:
		}
	})
}

// tasks/list pages the caller's tasks as mcp-go's WithPaginationLimit
// pages, on either replica, with every task on exactly one page.
func TestTasksListPagination(t *testing.T) {
	t.Parallel()
	const limit = 2
	eachTaskPair(t, taskReplicaConfig{serverOpts: []server.ServerOption{server.WithPaginationLimit(limit)}}, func(t *testing.T, a, b *taskReplica) {
		c := legacyClient(t, a.url, "alice")
		want := map[string]bool{}
		for range 5 {
			want[c.create(a.url, "quick", nil)] = true
		}
		// A sessionless task of alice's: in no session, so listed in every
		// one of hers (as mcp-go lists tasks of no session).
		want[taskClient{t: t, user: "alice"}.create(b.url, "quick", nil)] = true
		seen := map[string]bool{}
		cursor := ""
		for page := 0; ; page++ {
			params := map[string]any{}
			if cursor != "" {
				params["cursor"] = cursor
			}
			url := []string{a.url, b.url}[page%2]
			status, res := c.call(url, "tasks/list", params)
			var list mcp.ListTasksResult
			if status != http.StatusOK || json.Unmarshal(res, &list) != nil {
				t.Fatalf("tasks/list page %d: %d %s", page, status, res)
			}
			if len(list.Tasks) > limit {
				t.Errorf("page %d holds %d tasks; the limit is %d", page, len(list.Tasks), limit)
			}
			for _, task := range list.Tasks {
				if seen[task.TaskId] {
					t.Errorf("task %s on two pages", task.TaskId)
				}
				seen[task.TaskId] = true
			}
			if list.NextCursor == "" {
				break
			}
			cursor = string(list.NextCursor)
			if page > 10 {
				t.Fatal("tasks/list does not end")
			}
		}
		if len(seen) != len(want) {
			t.Errorf("listed %d tasks; want %d", len(seen), len(want))
		}
		for id := range want {
			if !seen[id] {
				t.Errorf("task %s not listed", id)
			}
		}
		status, res := c.call(b.url, "tasks/list", map[string]any{"cursor": "not a cursor"})
		if code, _ := rpcCode(res); code != mcp.INVALID_PARAMS {
			t.Errorf("tasks/list with a cursor it did not make: %d %s; want %d", status, res, mcp.INVALID_PARAMS)
		}
	})
}

// tasks/result on b of a task that a finishes: waits for it, and answers
// the tool's result naming the task; a finished task's at once; a
// cancelled one's is mcp-go's -32800.
func TestTasksResultFinishedElsewhere(t *testing.T) {
	t.Parallel()
	eachTaskPair(t, taskReplicaConfig{}, func(t *testing.T, a, b *taskReplica) {
		c := legacyClient(t, a.url, "alice")
		slow := c.create(a.url, "quick", map[string]any{"ms": 300})
		if got := c.get(b.url, slow); got.Status != mcp.TaskStatusWorking {
			t.Fatalf("the slow task before its result: %+v", got)
		}
		status, res := c.call(b.url, "tasks/result", map[string]any{"taskId": slow}) // waits for a
		wantResult(t, status, res, slow, "quick from a")
		status, res = c.call(b.url, "tasks/result", map[string]any{"taskId": slow}) // at once
		wantResult(t, status, res, slow, "quick from a")

		blocked := c.create(a.url, "block", nil)
		<-a.started
		if status, res := c.call(b.url, "tasks/cancel", map[string]any{"taskId": blocked}); status != http.StatusOK {
			t.Fatalf("tasks/cancel: %d %s", status, res)
		}
		status, res = c.call(b.url, "tasks/result", map[string]any{"taskId": blocked})
		if code, _ := rpcCode(res); code != mcp.REQUEST_INTERRUPTED {
			t.Errorf("tasks/result of a cancelled task: %d %s; want %d", status, res, mcp.REQUEST_INTERRUPTED)
		}
	})
}

func wantResult(t *testing.T, status int, res json.RawMessage, id, text string) {
	t.Helper()
	var out struct {
		Content []mcp.TextContent `json:"content"`
		Meta    map[string]any    `json:"_meta"`
	}
	if status != http.StatusOK || json.Unmarshal(res, &out) != nil || len(out.Content) != 1 || out.Content[0].Text != text {
		t.Fatalf("tasks/result: %d %s; want %q", status, res, text)
	}
	if got := fmt.Sprint(out.Meta[mcp.RelatedTaskMetaKey]); !strings.Contains(got, id) {
		t.Errorf("tasks/result's related task: %s; want %s", got, id)
	}
}

// errorOf is the error object of a Call's answer, which for a status
// other than 200 is a whole response, whose id differs from request to
// request.
func errorOf(res json.RawMessage) json.RawMessage {
	var whole struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(res, &whole) == nil && whole.Error != nil {
		return whole.Error
	}
	return res
}

// rpcCode is the JSON-RPC error code of a Call's answer.
func rpcCode(res json.RawMessage) (int, string) {
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(errorOf(res), &e)
	return e.Code, e.Message
}

// getAs opens the GET stream of session sid on url as user.
func getAs(t *testing.T, url, sid, user string) *adaptertest.SSE {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set(adaptertest.HeaderSessionID, sid)
	req.Header.Set(adaptertest.HeaderProtocolVersion, adaptertest.LegacyVersion)
	req.Header.Set(adaptertest.UserHeader, user)
	return adaptertest.OpenSSE(t, req)
}

// The adapter reads mcp-go's pagination limit from an unexported field
// (see taskRunner.pageSize). This fails loudly when an mcp-go upgrade
// renames or retypes it: tasks/list would otherwise page unlike mcp-go's
// own lists.
func TestPaginationLimitField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		opts []server.ServerOption
		want int
	}{{nil, 0}, {[]server.ServerOption{server.WithPaginationLimit(3)}, 3}, {[]server.ServerOption{server.WithPaginationLimit(0)}, 0}} {
		n, ok := paginationLimit(server.NewMCPServer("t", "1", tc.opts...))
		if !ok {
			t.Fatal("mcp-go's MCPServer has no paginationLimit *int field any more: " +
				"find how this mcp-go exposes WithPaginationLimit and change paginationLimit (tasks.go)")
		}
		if n != tc.want {
			t.Errorf("paginationLimit with %d options: %d; want %d", len(tc.opts), n, tc.want)
		}
	}
}
