package gosdk

import (
	"bytes"
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"sync"
)

// StreamableHTTPOptions.JSONResponse on session-based requests. go-sdk
// sets it on the transports of its own handler only (the transport's
// field is unexported), so the adapter's transports always answer a POST
// with an event stream, and the adapter makes of it what go-sdk's handler
// answers: one application/json body, once every request of the POST is
// answered, holding the one response, or an array of them for several or
// for a batch (even of one). What go-sdk sends besides responses while it
// handles such a POST (notifications, its own requests) goes to the
// session's standalone (GET) stream, as with go-sdk: jsonConn reroutes it.

// jsonWriter collects the messages of a POST's event stream and writes
// them as one JSON body when finish is called. An answer that is not an
// event stream (202, an error) passes through untouched.
type jsonWriter struct {
	w     http.ResponseWriter
	batch bool

	mu        sync.Mutex
	decided   bool
	streaming bool // the transport answered with an event stream: collect it
	status    int
	partial   []byte
	msgs      []json.RawMessage
}

func newJSONWriter(w http.ResponseWriter, batch bool) *jsonWriter {
	return &jsonWriter{w: w, batch: batch}
}

func (j *jsonWriter) Header() http.Header { return j.w.Header() }

func (j *jsonWriter) WriteHeader(code int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.decideLocked(code)
}

func (j *jsonWriter) decideLocked(code int) {
	if j.decided {
		return
	}
	j.decided = true
	mt, _, _ := mime.ParseMediaType(j.w.Header().Get("Content-Type"))
	if mt != "text/event-stream" {
		j.w.WriteHeader(code)
		return
	}
	j.streaming, j.status = true, code
}

func (j *jsonWriter) Write(p []byte) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.decideLocked(http.StatusOK)
	if !j.streaming {
		return j.w.Write(p)
	}
	j.partial = append(j.partial, p...)
	for {
		i := bytes.Index(j.partial, []byte("\n\n"))
		if i < 0 {
			return len(p), nil
		}
		if data, ok := messageData(j.partial[:i+1]); ok {
			j.msgs = append(j.msgs, data)
		}
		j.partial = append(j.partial[:0], j.partial[i+2:]...)
	}
}

// Flush sends nothing while collecting: the body is written whole.
func (j *jsonWriter) Flush() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.decided && !j.streaming {
		_ = http.NewResponseController(j.w).Flush()
	}
}

func (j *jsonWriter) Unwrap() http.ResponseWriter { return j.w }

// finish writes what was collected, as go-sdk's JSON response: nothing
// but the status if no response came (the client left, or the handler
// closed the stream).
func (j *jsonWriter) finish() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.streaming {
		return
	}
	h := j.w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Connection")
	var body []byte
	switch {
	case len(j.msgs) == 1 && !j.batch:
		body = j.msgs[0]
	case len(j.msgs) > 0:
		body, _ = json.Marshal(j.msgs) // raw messages always encode
	}
	j.w.WriteHeader(j.status)
	if len(body) > 0 {
		_, _ = j.w.Write(body)
	}
	j.streaming = false
}

// messageData returns the data of an SSE event that carries a message
// (named "message", or unnamed), and whether it is one.
func messageData(event []byte) (json.RawMessage, bool) {
	var name string
	var data [][]byte
	for line := range bytes.SplitSeq(event, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		switch {
		case bytes.HasPrefix(line, []byte("event:")):
			name = string(bytes.TrimSpace(line[len("event:"):]))
		case bytes.HasPrefix(line, []byte("data:")):
			data = append(data, bytes.TrimPrefix(line[len("data:"):], []byte(" ")))
		}
	}
	if (name != "" && name != "message") || len(data) == 0 {
		return nil, false
	}
	return bytes.Join(data, []byte("\n")), true
}

// valueless is a context without values: what go-sdk's transport is given
// for a message that, in JSON mode, must not go to the stream of the
// request whose handler sent it (go-sdk finds that stream by a value of
// the handler's context).
type valueless struct{ context.Context }

func (valueless) Value(any) any { return nil }
