package mcpgo

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/mark3labs/mcp-go/mcp"
)

// mcp-go sends notifications/tasks/status of the tasks it runs to every
// session its replica holds (SendNotificationToAllClients), naming its own
// task ids, which no client can use: with WithTasks a client knows its
// tasks by the rows' ids, and the adapter sends their status notifications
// itself, to the task's session only (taskRunner.notify). So mcp-go's are
// dropped, at the two places they leave it: the event store (a GET
// stream's, or a POST's, which then goes out without an event id) and the
// writes of an SSE event with no id.

// taskStatusMethod is what an mcp-go status notification holds.
var taskStatusMethod = []byte(`"` + mcp.MethodNotificationTasksStatus + `"`)

// isTaskStatus reports whether data, one JSON-RPC message, is a
// notifications/tasks/status.
func isTaskStatus(data []byte) bool {
	if !bytes.Contains(data, taskStatusMethod) {
		return false
	}
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	return json.Unmarshal(data, &m) == nil && m.ID == nil && m.Method == string(mcp.MethodNotificationTasksStatus)
}

// sseMessage is how mcp-go writes an SSE event without an id, in one
// write (writeSSEEventRaw, and its streams without an event store).
var sseMessage = []byte("event: message\ndata: ")

// isTaskStatusEvent reports whether p, one write of mcp-go's, is an SSE
// event without an id carrying a notifications/tasks/status.
func isTaskStatusEvent(p []byte) bool {
	data, ok := bytes.CutPrefix(p, sseMessage)
	if !ok || !bytes.HasSuffix(data, []byte("\n\n")) {
		return false
	}
	data = bytes.TrimSuffix(data, []byte("\n\n"))
	return !bytes.Contains(data, []byte("\n")) && isTaskStatus(data)
}

// statusFilter drops mcp-go's status notifications from what it writes to
// a client.
type statusFilter struct {
	http.ResponseWriter
}

// Write implements http.ResponseWriter.
func (w *statusFilter) Write(p []byte) (int, error) {
	if isTaskStatusEvent(p) {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// Flush implements http.Flusher.
func (w *statusFilter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *statusFilter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
