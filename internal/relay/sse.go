package relay

import (
	"bytes"
	"errors"
	"mime"
	"net/http"
	"sync"
)

// errNotStreaming means an event could not be written: the response is not
// an event stream (yet), or its request is done.
var errNotStreaming = errors.New("relay: the response is not a live event stream")

// EventWriter stands in front of an SDK's http.ResponseWriter and sees the
// SDK's SSE output as whole events: it hands each to its transform (nil:
// none) before writing it, and lets the relay write events of its own in
// between (inject) without cutting one of the SDK's in two. A response that
// is not text/event-stream passes through untouched. It keeps Flush, which
// the SDKs need to stream, and Unwrap, for http.ResponseController.
type EventWriter struct {
	w         http.ResponseWriter
	transform func(event []byte) []byte

	mu      sync.Mutex
	mode    int // 0: no header yet; 1: SSE; 2: anything else
	partial []byte
	closed  bool
}

// NewEventWriter returns an EventWriter over w.
func NewEventWriter(w http.ResponseWriter, transform func(event []byte) []byte) *EventWriter {
	return &EventWriter{w: w, transform: transform}
}

// Header implements http.ResponseWriter.
func (e *EventWriter) Header() http.Header { return e.w.Header() }

// WriteHeader implements http.ResponseWriter.
func (e *EventWriter) WriteHeader(code int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.decideLocked()
	e.w.WriteHeader(code)
}

func (e *EventWriter) decideLocked() {
	if e.mode != 0 {
		return
	}
	e.mode = 2
	if mt, _, _ := mime.ParseMediaType(e.w.Header().Get("Content-Type")); mt == "text/event-stream" {
		e.mode = 1
	}
}

// Write implements http.ResponseWriter: SSE bytes are held until their
// event is complete (a blank line), then written whole.
func (e *EventWriter) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.decideLocked()
	if e.mode != 1 {
		return e.w.Write(p)
	}
	e.partial = append(e.partial, p...)
	for {
		i := bytes.Index(e.partial, []byte("\n\n"))
		if i < 0 {
			return len(p), nil
		}
		event := e.partial[:i+2]
		if e.transform != nil {
			event = e.transform(bytes.Clone(event))
		}
		if _, err := e.w.Write(event); err != nil {
			return 0, err
		}
		e.partial = append(e.partial[:0], e.partial[i+2:]...)
	}
}

// Flush implements http.Flusher.
func (e *EventWriter) Flush() {
	e.mu.Lock()
	defer e.mu.Unlock()
	_ = http.NewResponseController(e.w).Flush()
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (e *EventWriter) Unwrap() http.ResponseWriter { return e.w }

// inject writes a whole event of the relay's own between the SDK's, and
// flushes it.
func (e *EventWriter) inject(event []byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || e.mode != 1 {
		return errNotStreaming
	}
	if _, err := e.w.Write(event); err != nil {
		return err
	}
	return http.NewResponseController(e.w).Flush()
}

// close refuses further injections: the request is done.
func (e *EventWriter) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
}

// eventData returns the data of an SSE event (its data lines joined), and
// whether it has any.
func eventData(event []byte) ([]byte, bool) {
	var data [][]byte
	for line := range bytes.SplitSeq(event, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			data = append(data, bytes.TrimPrefix(v, []byte(" ")))
		}
	}
	if data == nil {
		return nil, false
	}
	return bytes.Join(data, []byte("\n")), true
}

// withData returns event with its data lines replaced by one holding data.
func withData(event, data []byte) []byte {
	var b bytes.Buffer
	wrote := false
	for line := range bytes.SplitSeq(bytes.TrimSuffix(event, []byte("\n\n")), []byte("\n")) {
		if bytes.HasPrefix(bytes.TrimSuffix(line, []byte("\r")), []byte("data:")) {
			if !wrote {
				b.WriteString("data: ")
				b.Write(data)
				b.WriteByte('\n')
				wrote = true
			}
			continue
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// RewritingWriter returns an EventWriter over w that makes the ids of the
// server-to-client requests the SDK writes wire ids (OutgoingID): for an
// SDK whose requests the adapter sees only as bytes (mcp-go).
func (r *Relay) RewritingWriter(w http.ResponseWriter) *EventWriter {
	return NewEventWriter(w, func(event []byte) []byte {
		data, ok := eventData(event)
		if !ok {
			return event
		}
		out := r.RewriteOutgoing(data)
		if bytes.Equal(out, data) {
			return event
		}
		return withData(event, out)
	})
}
