package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
	itasks "github.com/mcpsession/mcpsession/internal/tasks"
	"github.com/mcpsession/mcpsession/internal/testdb"
)

// The research task on two replicas (mcp-go, each dialect): tools/call
// always goes to a, every tasks/* request to b.

// taskOf decodes the task of a tasks/get, tasks/cancel or CreateTaskResult.
func taskOf(t *testing.T, what string, status int, res json.RawMessage) mcp.Task {
	t.Helper()
	var out struct {
		Created *mcp.Task `json:"task"` // CreateTaskResult's; the others' are inline
		mcp.Task
	}
	if status != http.StatusOK || json.Unmarshal(res, &out) != nil {
		t.Fatalf("%s: %d %s", what, status, res)
	}
	if out.Created != nil {
		return *out.Created
	}
	if out.TaskId == "" {
		t.Fatalf("%s: %d %s", what, status, res)
	}
	return out.Task
}

// rpcError decodes a JSON-RPC error.
func rpcError(res json.RawMessage) (code int, message string) {
	type details struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	var e struct {
		details
		Error *details `json:"error"` // a whole response: a status other than 200
	}
	_ = json.Unmarshal(res, &e)
	if e.Error != nil {
		return e.Error.Code, e.Error.Message
	}
	return e.Code, e.Message
}

// taskCaller sends the requests of one era: legacy with a session, or
// sessionless; header carries the credentials.
type taskCaller struct {
	t      *testing.T
	url    string
	sid    string // "" for the sessionless revision
	header http.Header
}

func (c taskCaller) call(method string, params map[string]any) (int, json.RawMessage) {
	c.t.Helper()
	if c.sid == "" {
		return adaptertest.CallModern(c.t, c.url, c.header, method, params)
	}
	return adaptertest.CallWith(c.t, c.url, c.sid, c.header, method, params)
}

func (c taskCaller) research(seconds float64) mcp.Task {
	c.t.Helper()
	status, res := c.call("tools/call", map[string]any{"name": researchTool, "arguments": map[string]any{"seconds": seconds}, "task": map[string]any{"ttl": 600000}})
	task := c.created(status, res)
	return task
}

func (c taskCaller) created(status int, res json.RawMessage) mcp.Task {
	c.t.Helper()
	task := taskOf(c.t, "tools/call research", status, res)
	if len(task.TaskId) != 26 || task.Status != mcp.TaskStatusWorking {
		c.t.Fatalf("CreateTaskResult %+v: want a working task with a store id (26 characters)", task)
	}
	return task
}

func (c taskCaller) get(id string) mcp.Task {
	c.t.Helper()
	status, res := c.call("tasks/get", map[string]any{"taskId": id})
	return taskOf(c.t, "tasks/get", status, res)
}

func legacySession(t *testing.T, url string, header http.Header) string {
	t.Helper()
	r := adaptertest.PostWith(t, url, "", header, json.RawMessage(
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`))
	sid := r.Header.Get(adaptertest.HeaderSessionID)
	if r.Status != http.StatusOK || sid == "" {
		t.Fatalf("initialize: %d %s", r.Status, r.Body)
	}
	adaptertest.PostWith(t, url, sid, header, json.RawMessage(`{"jsonrpc":"2.0","method":"notifications/initialized"}`))
	return sid
}

// eachTaskCluster runs fn on a cluster of mcp-go replicas, on each dialect,
// with tools/call routed to a (0) and everything else to b (1).
func eachTaskCluster(t *testing.T, lease time.Duration, fn func(t *testing.T, c *cluster, dsn string)) {
	t.Helper()
	testdb.Each(t, func(t *testing.T, dsn string) {
		c := newClusterLease(t, "mcp-go", dsn, testIdle, lease)
		c.routeBy(func(method string) int {
			if method == string(mcp.MethodToolsCall) || method == string(mcp.MethodInitialize) || method == "notifications/initialized" {
				return 0
			}
			return 1
		})
		fn(t, c, dsn)
	})
}

var bearerOf = func(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }

// Raw HTTP, both eras: a task created on a is polled, awaited, listed and
// cancelled on b; another principal sees nothing and changes nothing.
func TestE2ETasksAnyReplica(t *testing.T) {
	t.Parallel()
	eachTaskCluster(t, 0, func(t *testing.T, c *cluster, _ string) {
		for _, era := range []string{"legacy", "modern"} {
			t.Run(era, func(t *testing.T) {
				tc := taskCaller{t: t, url: c.url, header: bearerOf("alice")}
				if era == "legacy" {
					tc.sid = legacySession(t, c.url, tc.header)
				}
				task := tc.research(0.2)
				if got := tc.get(task.TaskId); got.TaskId != task.TaskId {
					t.Fatalf("tasks/get on b: %+v", got)
				}

				// tasks/result on b waits for a's work: the legacy era only
				// (mcp-go answers -32601 in 2026-07-28, and so do we).
				status, res := tc.call("tasks/result", map[string]any{"taskId": task.TaskId})
				if era == "legacy" {
					var out struct {
						Content []struct {
							Text string `json:"text"`
						} `json:"content"`
					}
					if status != http.StatusOK || json.Unmarshal(res, &out) != nil || len(out.Content) == 0 {
						t.Fatalf("tasks/result on b: %d %s", status, res)
					}
					if !strings.Contains(out.Content[0].Text, "done") {
						t.Errorf("tasks/result: %s; want a text with done", res)
					}
					if !strings.Contains(string(res), task.TaskId) {
						t.Errorf("tasks/result's _meta does not name the task: %s", res)
					}
				} else if code, _ := rpcError(res); code != mcp.METHOD_NOT_FOUND {
					t.Errorf("tasks/result in 2026-07-28: %d %s; want mcp-go's -32601", status, res)
				}
				if got := waitStatus(t, tc, task.TaskId, mcp.TaskStatusCompleted); got.Status != mcp.TaskStatusCompleted {
					t.Fatalf("after its result the task is %+v", got)
				}

				status, res = tc.call("tasks/list", map[string]any{})
				if era == "legacy" {
					var list mcp.ListTasksResult
					if status != http.StatusOK || json.Unmarshal(res, &list) != nil || len(list.Tasks) != 1 || list.Tasks[0].TaskId != task.TaskId {
						t.Errorf("tasks/list on b: %d %s; want the one task", status, res)
					}
				} else if code, _ := rpcError(res); code != mcp.METHOD_NOT_FOUND {
					t.Errorf("tasks/list in 2026-07-28: %d %s; want mcp-go's -32601", status, res)
				}

				// A long task, cancelled on b.
				long := tc.research(60)
				status, res = tc.call("tasks/cancel", map[string]any{"taskId": long.TaskId})
				if got := taskOf(t, "tasks/cancel", status, res); got.Status != mcp.TaskStatusCancelled {
					t.Errorf("tasks/cancel on b: %+v", got)
				}
				status, res = tc.call("tasks/cancel", map[string]any{"taskId": long.TaskId})
				if code, msg := rpcError(res); code != mcp.INVALID_PARAMS || !strings.Contains(msg, "terminal") {
					t.Errorf("a second tasks/cancel: %d %s", status, res)
				}

				// Mallory, sessionless, sees none of alice's tasks.
				other := taskCaller{t: t, url: c.url, header: bearerOf("mallory")}
				for _, method := range []string{"tasks/get", "tasks/cancel"} {
					status, res := other.call(method, map[string]any{"taskId": task.TaskId})
					if code, msg := rpcError(res); code != mcp.INVALID_PARAMS || msg != "task not found" {
						t.Errorf("%s of another principal's task: %d %s; want task not found", method, status, res)
					}
				}
				unknown := "0123456789ABCDEFGHJKMNPQRS"
				ws, want := other.call("tasks/get", map[string]any{"taskId": unknown})
				gs, got := other.call("tasks/get", map[string]any{"taskId": task.TaskId})
				wc, wm := rpcError(want)
				gc, gm := rpcError(got)
				if ws != gs || wc != gc || wm != gm {
					t.Errorf("another principal's task: %d %s; an unknown one: %d %s", gs, got, ws, want)
				}
				if got := tc.get(task.TaskId); got.Status != mcp.TaskStatusCompleted {
					t.Errorf("after another principal's cancel the task is %+v", got)
				}
				ms := taskCaller{t: t, url: c.url, header: bearerOf("mallory"), sid: legacySession(t, c.url, bearerOf("mallory"))}
				status, res = ms.call("tasks/list", map[string]any{})
				var list mcp.ListTasksResult
				if status != http.StatusOK || json.Unmarshal(res, &list) != nil || len(list.Tasks) != 0 {
					t.Errorf("another principal's tasks/list: %d %s; want none", status, res)
				}
				status, res = ms.call("tasks/result", map[string]any{"taskId": task.TaskId})
				if code, msg := rpcError(res); code != mcp.INVALID_PARAMS || msg != "task not found" {
					t.Errorf("tasks/result of another principal's task: %d %s", status, res)
				}
			})
		}
	})
}

// waitStatus polls tasks/get until the task has status, for what the
// client itself can only poll.
func waitStatus(t *testing.T, tc taskCaller, id string, status mcp.TaskStatus) mcp.Task {
	t.Helper()
	var task mcp.Task
	adaptertest.Eventually(t, 30*time.Second, "task "+string(status), func() bool {
		task = tc.get(id)
		return task.Status == status
	})
	return task
}

// mcp-go's own client at its defaults (2026-07-28): the task it created
// on a is polled and cancelled on b.
func TestE2ETasksMCPGoClient(t *testing.T) {
	t.Parallel()
	eachTaskCluster(t, 0, func(t *testing.T, c *cluster, _ string) {
		cl, err := client.NewStreamableHttpClient(c.url)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		if err := cl.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		initialize(t, cl, "tasks")
		tc := taskCaller{t: t, url: c.url}
		quick, long := tc.research(0.1), tc.research(60)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		done, err := cl.WaitForTask(ctx, mcp.GetTaskRequest{Params: mcp.GetTaskParams{TaskId: quick.TaskId}}, 20*time.Millisecond)
		if err != nil || done.Status != mcp.TaskStatusCompleted {
			t.Fatalf("WaitForTask: %+v, %v", done, err)
		}
		got, err := cl.CancelTask(ctx, mcp.CancelTaskRequest{Params: mcp.CancelTaskParams{TaskId: long.TaskId}})
		if err != nil || got.Status != mcp.TaskStatusCancelled {
			t.Fatalf("CancelTask: %+v, %v", got, err)
		}
		if g, err := cl.GetTask(ctx, mcp.GetTaskRequest{Params: mcp.GetTaskParams{TaskId: long.TaskId}}); err != nil || g.Status != mcp.TaskStatusCancelled {
			t.Fatalf("GetTask after cancel: %+v, %v", g, err)
		}
	})
}

// A replica killed mid-task leaves its task failed on the other within
// its lease; tasks survive a restart of every replica.
func TestE2ETasksFailover(t *testing.T) {
	t.Parallel()
	const lease = 500 * time.Millisecond
	eachTaskCluster(t, lease, func(t *testing.T, c *cluster, _ string) {
		tc := taskCaller{t: t, url: c.url}
		finished := tc.research(0)
		waitStatus(t, tc, finished.TaskId, mcp.TaskStatusCompleted)
		running := tc.research(60)

		killed := time.Now()
		c.kill(0)
		failed := waitStatus(t, tc, running.TaskId, mcp.TaskStatusFailed)
		if failed.StatusMessage != itasks.LeaseLapsedMessage {
			t.Errorf("failed task's message %q", failed.StatusMessage)
		}
		if d := time.Since(killed); d > lease+5*time.Second {
			t.Errorf("the task failed %v after its replica died; lease %v", d, lease)
		}
		t.Logf("the killed replica's task read failed %v after the kill (lease %v)", time.Since(killed).Round(time.Millisecond), lease)

		c.restart(1)
		c.mu.Lock()
		c.replicas[0] = c.start()
		c.mu.Unlock()
		if got := tc.get(finished.TaskId); got.Status != mcp.TaskStatusCompleted {
			t.Errorf("after a restart of every replica: %+v", got)
		}
		if got := tc.get(running.TaskId); got.Status != mcp.TaskStatusFailed {
			t.Errorf("after a restart of every replica: %+v", got)
		}
	})
}

// BenchmarkTasksGet measures tasks/get of a task created on replica a,
// answered by b (the other replica, from the store) beside a (the replica
// running it, from the store too) and, as a baseline, a whoami tools/call
// on b, in one run. Run it with
//
//	go test -run '^$' -bench BenchmarkTasksGet -benchtime 300x ./mcpserver
//
// (MCPSESSION_TEST_POSTGRES_DSN set for Postgres too).
func BenchmarkTasksGet(b *testing.B) {
	for _, db := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", func(t testing.TB) string { return testdb.SQLiteFile(t) }}, {"postgres", testdb.Postgres}} {
		b.Run(db.name, func(b *testing.B) { benchTasksGet(b, db.dsn(b)) })
	}
}

func benchTasksGet(b *testing.B, dsn string) {
	c := newClusterLease(b, "mcp-go", dsn, testIdle, 0)
	c.routeBy(func(string) int { return 0 })
	status, res := adaptertest.CallModern(b, c.url, nil, "tools/call", map[string]any{"name": researchTool, "arguments": map[string]any{"seconds": 0}, "task": map[string]any{}})
	var created struct {
		Task mcp.Task `json:"task"`
	}
	if status != http.StatusOK || json.Unmarshal(res, &created) != nil || created.Task.TaskId == "" {
		b.Fatalf("create: %d %s", status, res)
	}
	for _, bc := range []struct {
		name    string
		replica int
		method  string
		params  map[string]any
	}{
		{"tasks-get-other-replica", 1, "tasks/get", map[string]any{"taskId": created.Task.TaskId}},
		{"tasks-get-same-replica", 0, "tasks/get", map[string]any{"taskId": created.Task.TaskId}},
		{"baseline-whoami-call", 1, "tools/call", map[string]any{"name": whoamiTool, "arguments": map[string]any{}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c.routeBy(func(string) int { return bc.replica })
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				if status, res := adaptertest.CallModern(b, c.url, nil, bc.method, bc.params); status != http.StatusOK {
					b.Fatalf("%s: %d %s", bc.method, status, res)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			}
		})
	}
}
