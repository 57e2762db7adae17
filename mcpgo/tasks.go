package mcpgo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"reflect"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession/internal/adapter"
	itasks "github.com/mcpsession/mcpsession/internal/tasks"
)

// taskRunner makes the tasks of mcp-go's task tools rows of a task store
// (WithTasks). mcp-go still runs each task, on the replica the tools/call
// reached, in its memory and under its own id; the adapter keeps the row
// in step through mcp-go's task hooks and answers every tasks/* request,
// on any replica, from the store:
//
//   - The created hook stores the task before mcp-go answers the
//     tools/call, and the CreateTaskResult the client gets names the row
//     (an id of 130 random bits), not mcp-go's.
//   - The completed, failed and cancelled hooks end the row; the result is
//     what mcp-go's own tasks/result gives on this replica.
//   - The before hooks of tasks/get, tasks/list, tasks/result and
//     tasks/cancel run once mcp-go has accepted the request (its checks of
//     the HTTP request, the session and the era are mcp-go's); they compute
//     the store's answer, and the response mcp-go writes for the request,
//     which knows nothing of the row, is replaced by it, in mcp-go's form.
//   - While this replica runs tasks it renews their leases; a cancel on any
//     replica reaches it on the bus (Watch) and cancels mcp-go's task here.
type taskRunner struct {
	s      *Sessions
	ts     *itasks.Store
	logger *slog.Logger

	mu       sync.Mutex
	running  map[string]*runningTask // by mcp-go's id
	renewing bool                    // renew runs
	stopped  bool                    // shutdown was called: renew starts no more
	// stopCtx ends with shutdown, which then waits for renew (renewals).
	stopCtx  context.Context
	stop     context.CancelFunc
	renewals sync.WaitGroup
	// fieldGone warns once that mcp-go's pagination limit cannot be read.
	fieldGone sync.Once
}

// runningTask is a task this replica's mcp-go runs.
type runningTask struct {
	local     string // mcp-go's id
	id        string // the row's
	principal string
	stopWatch func()
}

func newTaskRunner(s *Sessions, ts *itasks.Store) *taskRunner {
	ctx, stop := context.WithCancel(context.Background())
	return &taskRunner{s: s, ts: ts, logger: s.logger, running: map[string]*runningTask{}, stopCtx: ctx, stop: stop}
}

// shutdown stops the lease renewal and waits for it to return, or for
// ctx's end. The tasks still running here keep running, unrenewed: once
// their leases lapse they have failed, as if the replica had died.
func (t *taskRunner) shutdown(ctx context.Context) error {
	t.mu.Lock()
	t.stopped = true
	t.mu.Unlock()
	t.stop()
	done := make(chan struct{})
	go func() {
		t.renewals.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// isRenewing reports whether the lease renewal runs.
func (t *taskRunner) isRenewing() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.renewing
}

// taskCall is what the adapter learned of one POST that mcp-go's task
// hooks answer: the request's id and method, and, once a hook armed it,
// the response that replaces mcp-go's.
type taskCall struct {
	id     json.RawMessage
	method string
	ttl    *int64 // a task-augmented tools/call's params.task.ttl
	modern bool

	mu     sync.Mutex
	answer []byte // a JSON-RPC response, one line
	code   int    // its error code, 0 for a result
}

func (c *taskCall) arm(answer []byte, code int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answer, c.code = answer, code
}

func (c *taskCall) armed() ([]byte, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.answer, c.code
}

type taskCallKey struct{}

func taskCallFrom(ctx context.Context) *taskCall {
	c, _ := ctx.Value(taskCallKey{}).(*taskCall)
	return c
}

// wrap returns next behind the adapter's handling of task requests: a POST
// of tasks/* or of a task-augmented tools/call is served by mcp-go into a
// buffer, whose response line is then replaced by the one a hook armed.
func (t *taskRunner) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		body, whole, ok := peekBody(w, r)
		if !ok {
			return
		}
		if !whole {
			next.ServeHTTP(w, r)
			return
		}
		call := inspectTaskCall(body)
		if call == nil {
			next.ServeHTTP(w, r)
			return
		}
		call.modern = mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion))
		bw := &bufferWriter{w: w}
		next.ServeHTTP(bw, r.WithContext(context.WithValue(r.Context(), taskCallKey{}, call)))
		bw.replay(call)
	})
}

// inspectTaskCall returns the taskCall of a request body the adapter
// answers, or nil.
func inspectTaskCall(body []byte) *taskCall {
	if !bytes.Contains(body, []byte("task")) {
		return nil
	}
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			Task *struct {
				TTL *int64 `json:"ttl"`
			} `json:"task"`
		} `json:"params"`
	}
	if json.Unmarshal(body, &m) != nil || len(m.ID) == 0 {
		return nil
	}
	switch m.Method {
	case string(mcp.MethodTasksGet), string(mcp.MethodTasksList), string(mcp.MethodTasksResult), string(mcp.MethodTasksCancel):
		return &taskCall{id: m.ID, method: m.Method}
	case string(mcp.MethodToolsCall):
		if m.Params.Task == nil {
			return nil
		}
		return &taskCall{id: m.ID, method: m.Method, ttl: m.Params.Task.TTL}
	}
	return nil
}

// bufferWriter holds what mcp-go writes for a task request until it has
// finished, so that its response can be replaced. Headers go to the real
// writer's map; it flushes (for mcp-go, it can stream) into the buffer.
type bufferWriter struct {
	w      http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (b *bufferWriter) Header() http.Header { return b.w.Header() }

func (b *bufferWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	if isTaskStatusEvent(p) {
		return len(p), nil // mcp-go's own (see statusFilter)
	}
	return b.body.Write(p)
}

// Flush implements http.Flusher: everything goes out in replay.
func (b *bufferWriter) Flush() {}

// replay writes what mcp-go wrote, with the line of its response to the
// request replaced by the armed answer, if any. In the sessionless era a
// JSON response's status follows the JSON-RPC error code, as mcp-go maps
// it.
func (b *bufferWriter) replay(call *taskCall) {
	status, body := b.status, b.body.Bytes()
	if answer, code := call.armed(); answer != nil {
		if out, ok := replaceResponse(body, call.id, answer); ok {
			body = out
			b.w.Header().Del("Content-Length")
			if call.modern && status != 0 && isJSON(b.w.Header()) {
				status = httpStatusFor(code)
			}
		}
	}
	if status == 0 {
		return
	}
	b.w.WriteHeader(status)
	_, _ = b.w.Write(body)
}

func isJSON(h http.Header) bool {
	return bytes.HasPrefix([]byte(h.Get("Content-Type")), []byte("application/json"))
}

// httpStatusFor is mcp-go's httpStatusForJSONRPCError (2026-07-28).
func httpStatusFor(code int) int {
	switch code {
	case 0:
		return http.StatusOK
	case mcp.METHOD_NOT_FOUND:
		return http.StatusNotFound
	case mcp.HEADER_MISMATCH, mcp.MISSING_REQUIRED_CLIENT_CAPABILITY, mcp.UNSUPPORTED_PROTOCOL_VERSION,
		mcp.INVALID_REQUEST, mcp.INVALID_PARAMS, mcp.PARSE_ERROR:
		return http.StatusBadRequest
	}
	return http.StatusOK
}

// replaceResponse replaces, in a JSON body or an event stream, the line
// holding the JSON-RPC response to the request id with answer.
func replaceResponse(body []byte, id json.RawMessage, answer []byte) ([]byte, bool) {
	var want bytes.Buffer
	if json.Compact(&want, id) != nil {
		return nil, false
	}
	lines := bytes.SplitAfter(body, []byte("\n"))
	for i, line := range lines {
		content := bytes.TrimRight(line, "\r\n")
		prefix := []byte(nil)
		if rest, ok := bytes.CutPrefix(content, []byte("data:")); ok {
			prefix = content[:len(content)-len(bytes.TrimLeft(rest, " "))]
			content = bytes.TrimLeft(rest, " ")
		}
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if len(content) == 0 || content[0] != '{' || json.Unmarshal(content, &m) != nil || m.Method != "" {
			continue
		}
		var got bytes.Buffer
		if json.Compact(&got, m.ID) != nil || !bytes.Equal(got.Bytes(), want.Bytes()) {
			continue
		}
		repl := append(append(append([]byte(nil), prefix...), answer...), line[len(bytes.TrimRight(line, "\r\n")):]...)
		lines[i] = repl
		return bytes.Join(lines, nil), true
	}
	return nil, false
}

// response is a JSON-RPC response with result.
func response(id json.RawMessage, result any) ([]byte, error) {
	raw, err := json.Marshal(result)
	if err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Result  json.RawMessage `json:"result"`
	}{mcp.JSONRPC_VERSION, id, raw})
}

// errorResponse is a JSON-RPC error response, as mcp-go's requestError
// makes it.
func errorResponse(id json.RawMessage, code int, message string) []byte {
	out, _ := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}{JSONRPC: mcp.JSONRPC_VERSION, ID: id, Error: struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{code, message}})
	return out
}

// wireTask is the row as mcp-go's mcp.Task.
func wireTask(t itasks.Task) mcp.Task {
	opts := []mcp.TaskOption{mcp.WithTaskStatus(mcp.TaskStatus(t.Status)), mcp.WithTaskCreatedAt(t.CreatedAt.Format(time.RFC3339))}
	if t.StatusMessage != "" {
		opts = append(opts, mcp.WithTaskStatusMessage(t.StatusMessage))
	}
	if t.TTL > 0 {
		opts = append(opts, mcp.WithTaskTTL(t.TTL.Milliseconds()))
	}
	if t.PollInterval > 0 {
		opts = append(opts, mcp.WithTaskPollInterval(t.PollInterval.Milliseconds()))
	}
	w := mcp.NewTask(t.ID, opts...)
	w.LastUpdatedAt = t.UpdatedAt.Format(time.RFC3339)
	return w
}

// caller is the principal and legacy session of a task request.
func caller(ctx context.Context) (principal, session string, err error) {
	principal, err = adapter.Principal(ctx)
	if cs := server.ClientSessionFromContext(ctx); cs != nil {
		session = cs.SessionID()
	}
	return principal, session, err
}

// lookup is the caller's task id, as mcp-go's getTask finds it: a task of
// another legacy session is unknown, as is another principal's.
func (t *taskRunner) lookup(ctx context.Context, id string) (itasks.Task, error) {
	principal, session, err := caller(ctx)
	if err != nil {
		return itasks.Task{}, err
	}
	task, err := t.ts.Get(ctx, id, principal)
	if err == nil && task.Session != "" && session != "" && task.Session != session {
		return itasks.Task{}, itasks.ErrTaskNotFound
	}
	return task, err
}

// refusal arms the answer for err, a failure to find or read a task.
func (t *taskRunner) refusal(ctx context.Context, call *taskCall, err error) {
	switch {
	case errors.Is(err, itasks.ErrTaskExpired):
		call.arm(errorResponse(call.id, mcp.INVALID_PARAMS, "task has expired"), mcp.INVALID_PARAMS)
	case errors.Is(err, itasks.ErrTaskNotFound):
		call.arm(errorResponse(call.id, mcp.INVALID_PARAMS, "task not found"), mcp.INVALID_PARAMS)
	case errors.Is(err, itasks.ErrInvalidArgument):
		call.arm(errorResponse(call.id, mcp.INVALID_PARAMS, err.Error()), mcp.INVALID_PARAMS)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		call.arm(errorResponse(call.id, mcp.REQUEST_INTERRUPTED, err.Error()), mcp.REQUEST_INTERRUPTED)
	default:
		t.s.core.StoreFailed(ctx, "answering a task request", err)
		call.arm(errorResponse(call.id, mcp.INTERNAL_ERROR, "task store unavailable"), mcp.INTERNAL_ERROR)
	}
}

func (t *taskRunner) answer(ctx context.Context, call *taskCall, result any) {
	out, err := response(call.id, result)
	if err != nil {
		t.refusal(ctx, call, err)
		return
	}
	call.arm(out, 0)
}

// registerHooks adds the before hooks of the task requests to h.
func (t *taskRunner) registerHooks(h *server.Hooks) {
	h.AddBeforeGetTask(func(ctx context.Context, _ any, req *mcp.GetTaskRequest) {
		call := taskCallFrom(ctx)
		if call == nil || call.method != string(mcp.MethodTasksGet) {
			return
		}
		task, err := t.lookup(ctx, req.Params.TaskId)
		if err != nil {
			t.refusal(ctx, call, err)
			return
		}
		t.answer(ctx, call, mcp.NewGetTaskResult(wireTask(task)))
	})
	h.AddBeforeListTasks(func(ctx context.Context, _ any, req *mcp.ListTasksRequest) {
		call := taskCallFrom(ctx)
		if call == nil || call.method != string(mcp.MethodTasksList) {
			return
		}
		principal, session, err := caller(ctx)
		if err != nil {
			t.refusal(ctx, call, err)
			return
		}
		page, err := t.ts.List(ctx, principal, itasks.ListParams{Session: session, Cursor: string(req.Params.Cursor), Limit: t.pageSize(ctx, server.ServerFromContext(ctx))})
		if errors.Is(err, itasks.ErrInvalidCursor) {
			call.arm(errorResponse(call.id, mcp.INVALID_PARAMS, "invalid cursor"), mcp.INVALID_PARAMS)
			return
		}
		if err != nil {
			t.refusal(ctx, call, err)
			return
		}
		res := mcp.ListTasksResult{Tasks: make([]mcp.Task, 0, len(page.Tasks))}
		for _, task := range page.Tasks {
			res.Tasks = append(res.Tasks, wireTask(task))
		}
		res.NextCursor = mcp.Cursor(page.NextCursor)
		t.answer(ctx, call, res)
	})
	h.AddBeforeTaskResult(func(ctx context.Context, _ any, req *mcp.TaskResultRequest) {
		call := taskCallFrom(ctx)
		if call == nil || call.method != string(mcp.MethodTasksResult) {
			return
		}
		if _, err := t.lookup(ctx, req.Params.TaskId); err != nil {
			t.refusal(ctx, call, err)
			return
		}
		principal, _, _ := caller(ctx)
		task, err := t.ts.Wait(ctx, req.Params.TaskId, principal)
		if err != nil {
			t.refusal(ctx, call, err)
			return
		}
		t.result(ctx, call, task)
	})
	h.AddBeforeCancelTask(func(ctx context.Context, _ any, req *mcp.CancelTaskRequest) {
		call := taskCallFrom(ctx)
		if call == nil || call.method != string(mcp.MethodTasksCancel) {
			return
		}
		if _, err := t.lookup(ctx, req.Params.TaskId); err != nil {
			t.refusal(ctx, call, err)
			return
		}
		principal, _, _ := caller(ctx)
		task, err := t.ts.Cancel(ctx, req.Params.TaskId, principal)
		switch {
		case errors.Is(err, itasks.ErrTerminal):
			msg := "cannot cancel task in terminal status: " + string(task.Status)
			call.arm(errorResponse(call.id, mcp.INVALID_PARAMS, msg), mcp.INVALID_PARAMS)
			return
		case err != nil:
			t.refusal(ctx, call, err)
			return
		}
		t.notify(ctx, task)
		t.answer(ctx, call, mcp.NewCancelTaskResult(wireTask(task)))
	})
}

// result arms tasks/result's answer for a finished task, as mcp-go's
// handleTaskResult answers: the tool's result with the related task in
// _meta, or the error the task failed with (cancelled: interrupted).
func (t *taskRunner) result(ctx context.Context, call *taskCall, task itasks.Task) {
	switch task.Status {
	case itasks.Cancelled:
		call.arm(errorResponse(call.id, mcp.REQUEST_INTERRUPTED, context.Canceled.Error()), mcp.REQUEST_INTERRUPTED)
		return
	case itasks.Failed:
		call.arm(errorResponse(call.id, mcp.INTERNAL_ERROR, task.Error), mcp.INTERNAL_ERROR)
		return
	}
	var res map[string]json.RawMessage
	if err := json.Unmarshal(task.Result, &res); err != nil || res == nil {
		res = map[string]json.RawMessage{"content": json.RawMessage("[]")}
	}
	var meta map[string]any
	if raw, ok := res["_meta"]; ok {
		_ = json.Unmarshal(raw, &meta)
	}
	if meta == nil {
		meta = map[string]any{}
	}
	meta[mcp.RelatedTaskMetaKey] = mcp.RelatedTaskMeta(task.ID)
	res["_meta"], _ = json.Marshal(meta)
	t.answer(ctx, call, res)
}

// pageSize is the most tasks a tasks/list page holds: mcp-go's
// WithPaginationLimit, so that tasks/list pages as mcp-go's own does; 0,
// no limit, without one. mcp-go keeps it unexported (MCPServer's
// paginationLimit, an *int, in v1.6) and has no getter, so it is read by
// reflection. Should a later mcp-go rename or retype the field, the
// adapter logs a warning, once, and lists without a limit, and
// TestPaginationLimitField fails: that test is what keeps this honest.
func (t *taskRunner) pageSize(ctx context.Context, ms *server.MCPServer) int {
	n, ok := paginationLimit(ms)
	if !ok {
		t.fieldGone.Do(func() {
			t.logger.LogAttrs(ctx, slog.LevelWarn, "mcpgo: cannot read mcp-go's pagination limit (MCPServer.paginationLimit is gone); tasks/list pages are unlimited")
		})
	}
	return n
}

// paginationLimit reads mcp-go's MCPServer.paginationLimit: its value (0
// for none), and false when the field is not what mcp-go v1.6 has.
func paginationLimit(ms *server.MCPServer) (int, bool) {
	if ms == nil {
		return 0, true
	}
	f := reflect.ValueOf(ms).Elem().FieldByName("paginationLimit")
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.Type().Elem().Kind() != reflect.Int {
		return 0, false
	}
	if f.IsNil() || f.Elem().Int() <= 0 {
		return 0, true
	}
	return int(f.Elem().Int()), true
}

// taskHooks are the hooks that keep the rows of the tasks mcp-go runs
// here in step.
func (t *taskRunner) taskHooks() *server.TaskHooks {
	h := &server.TaskHooks{}
	h.AddOnTaskCreated(t.created)
	h.AddOnTaskCompleted(func(_ context.Context, m server.TaskMetrics) { t.ended(m, itasks.Completed) })
	h.AddOnTaskFailed(func(_ context.Context, m server.TaskMetrics) { t.ended(m, itasks.Failed) })
	h.AddOnTaskCancelled(func(_ context.Context, m server.TaskMetrics) { t.ended(m, itasks.Cancelled) })
	return h
}

// created stores the task mcp-go created for a tools/call, before mcp-go
// answers it, and arms the CreateTaskResult that names the row. If the
// store fails, the client gets an error and mcp-go's task is cancelled.
func (t *taskRunner) created(ctx context.Context, m server.TaskMetrics) {
	call := taskCallFrom(ctx)
	ms := server.ServerFromContext(ctx)
	if call == nil || call.method != string(mcp.MethodToolsCall) || ms == nil {
		return // not a client's request through Handler: mcp-go's alone
	}
	if t.s.server.Load() == nil {
		t.s.server.CompareAndSwap(nil, ms)
	}
	principal, _, err := caller(ctx)
	var task itasks.Task
	if err == nil {
		var ttl time.Duration
		if call.ttl != nil && *call.ttl > 0 {
			ttl = time.Duration(*call.ttl) * time.Millisecond
		}
		task, err = t.ts.Create(ctx, itasks.CreateParams{Principal: principal, Session: m.SessionID, Tool: m.ToolName, TTL: ttl})
	}
	if err != nil {
		t.s.core.StoreFailed(ctx, "creating a task", err)
		call.arm(errorResponse(call.id, mcp.INTERNAL_ERROR, "task store unavailable: the task was not created"), mcp.INTERNAL_ERROR)
		go t.cancelLocal(ms, m.TaskID)
		return
	}
	rt := &runningTask{local: m.TaskID, id: task.ID, principal: principal}
	rt.stopWatch = t.ts.Watch(task.ID, func(st itasks.Status) {
		if st == itasks.Cancelled || st == itasks.Failed || st == "" {
			go t.cancelLocal(ms, m.TaskID) // ended elsewhere: stop the work here
		}
	})
	t.mu.Lock()
	t.running[m.TaskID] = rt
	if !t.renewing && !t.stopped {
		t.renewing = true
		t.renewals.Add(1)
		go t.renew(ms)
	}
	t.mu.Unlock()
	t.answer(ctx, call, mcp.NewCreateTaskResult(wireTask(task)))
}

// ended writes down how mcp-go ended a task it ran here.
func (t *taskRunner) ended(m server.TaskMetrics, status itasks.Status) {
	t.mu.Lock()
	rt := t.running[m.TaskID]
	delete(t.running, m.TaskID)
	t.mu.Unlock()
	if rt == nil {
		return
	}
	rt.stopWatch()
	ctx, cancel := context.WithTimeout(context.Background(), injectTimeout)
	defer cancel()
	var task itasks.Task
	var err error
	switch status {
	case itasks.Completed:
		var raw json.RawMessage
		if raw, err = t.localResult(ctx, m.TaskID); err == nil {
			task, err = t.ts.Complete(ctx, rt.id, rt.principal, raw)
		}
	case itasks.Failed:
		msg := m.StatusMessage
		if m.Error != nil {
			msg = m.Error.Error()
		}
		task, err = t.ts.Fail(ctx, rt.id, rt.principal, msg)
	default:
		task, err = t.ts.Cancel(ctx, rt.id, rt.principal)
	}
	switch {
	case errors.Is(err, itasks.ErrTerminal), errors.Is(err, itasks.ErrTaskNotFound):
		return // ended elsewhere first (cancelled, lease lapsed, expired)
	case err != nil:
		t.s.core.StoreFailed(ctx, "ending a task", err)
		return
	}
	t.notify(ctx, task)
}

// localResult is what mcp-go's tasks/result answers for its finished task
// here: the tool's result, without the related task (the answer names the
// row's id).
func (t *taskRunner) localResult(ctx context.Context, local string) (json.RawMessage, error) {
	ms := t.s.server.Load()
	if ms == nil {
		return nil, errors.New("mcpgo: no MCPServer to read a task's result from")
	}
	msg, _ := json.Marshal(map[string]any{"jsonrpc": mcp.JSONRPC_VERSION, "id": 1, "method": mcp.MethodTasksResult, "params": map[string]any{"taskId": local}})
	out, err := json.Marshal(ms.HandleMessage(ctx, msg))
	if err != nil {
		return nil, err
	}
	var resp struct {
		Result map[string]json.RawMessage `json:"result"`
		Error  *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return nil, err
	}
	if resp.Error != nil || resp.Result == nil {
		return nil, errors.New("mcpgo: mcp-go has no result for a finished task")
	}
	if raw, ok := resp.Result["_meta"]; ok {
		var meta map[string]json.RawMessage
		if json.Unmarshal(raw, &meta) == nil {
			delete(meta, mcp.RelatedTaskMetaKey)
			if len(meta) == 0 {
				delete(resp.Result, "_meta")
			} else {
				resp.Result["_meta"], _ = json.Marshal(meta)
			}
		}
	}
	return json.Marshal(resp.Result)
}

// cancelLocal cancels mcp-go's task here, which ends its handler's context.
func (t *taskRunner) cancelLocal(ms *server.MCPServer, local string) {
	ctx, cancel := context.WithTimeout(context.Background(), injectTimeout)
	defer cancel()
	msg, _ := json.Marshal(map[string]any{"jsonrpc": mcp.JSONRPC_VERSION, "id": 1, "method": mcp.MethodTasksCancel, "params": map[string]any{"taskId": local}})
	ms.HandleMessage(ctx, msg) // an error: it had ended
}

// renew renews the leases of the tasks this replica runs, every third of
// the lease, while it runs any and until shutdown; a task whose lease is
// lost (ended elsewhere, or lapsed) is cancelled here.
func (t *taskRunner) renew(ms *server.MCPServer) {
	defer t.renewals.Done()
	tick := time.NewTicker(t.ts.Lease() / 3)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-t.stopCtx.Done():
		}
		t.mu.Lock()
		if len(t.running) == 0 || t.stopCtx.Err() != nil {
			t.renewing = false
			t.mu.Unlock()
			return
		}
		t.mu.Unlock()
		ctx, cancel := context.WithTimeout(t.stopCtx, t.ts.Lease()/3)
		ids, err := t.ts.RenewLeases(ctx)
		cancel()
		if err != nil {
			if t.stopCtx.Err() == nil {
				t.s.core.StoreFailed(context.Background(), "renewing task leases", err)
			}
			continue
		}
		kept := make(map[string]bool, len(ids))
		for _, id := range ids {
			kept[id] = true
		}
		t.mu.Lock()
		var lost []string
		for local, rt := range t.running {
			if !kept[rt.id] {
				lost = append(lost, local)
			}
		}
		t.mu.Unlock()
		for _, local := range lost {
			t.cancelLocal(ms, local)
		}
	}
}

// notify sends the task's legacy session notifications/tasks/status on its
// stream, wherever that is (it needs WithStreams).
func (t *taskRunner) notify(ctx context.Context, task itasks.Task) {
	if task.Session == "" || t.s.streams == nil {
		return
	}
	w := wireTask(task)
	params := map[string]any{"taskId": w.TaskId, "status": w.Status, "createdAt": w.CreatedAt, "lastUpdatedAt": w.LastUpdatedAt}
	if w.StatusMessage != "" {
		params["statusMessage"] = w.StatusMessage
	}
	if w.TTL != nil {
		params["ttl"] = *w.TTL
	}
	if w.PollInterval != nil {
		params["pollInterval"] = *w.PollInterval
	}
	if err := t.s.Notify(context.WithoutCancel(ctx), task.Session, string(mcp.MethodNotificationTasksStatus), params); err != nil {
		t.logger.LogAttrs(ctx, slog.LevelDebug, "mcpgo: a task's status notification was not sent", slog.String("error", err.Error()))
	}
}
