package adapterstate

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/mcpsession/mcpsession"
)

// HeaderSessionID is the streamable-HTTP session header (the same name in
// every SDK).
const HeaderSessionID = "Mcp-Session-Id"

// The answers both adapters give, with the same bodies whatever the method
// and the SDK: a client (or an operator reading a proxy's log) sees one
// meaning per status.

// NotFound answers 404: no such live session (never created, ended, or
// expired), so the client initializes again.
func NotFound(w http.ResponseWriter) {
	http.Error(w, "Not Found: session not found", http.StatusNotFound)
}

// MissingSessionID answers 400 to a request of the session-based revisions
// that must name its session and names none (all but initialize), as the
// spec says a server that requires sessions should.
func MissingSessionID(w http.ResponseWriter) {
	http.Error(w, "Bad Request: Mcp-Session-Id header required", http.StatusBadRequest)
}

// Unavailable answers 503: the store failed, so the client should retry
// with the same session rather than initialize again (which a 404 would
// tell it to do).
func Unavailable(w http.ResponseWriter) {
	http.Error(w, "Service Unavailable: session store unavailable", http.StatusServiceUnavailable)
}

// KeepAlive runs beside an open GET stream until ctx ends: once per touch
// interval it reads the session and slides its expiry, hands the record to
// seen (when not nil), and when the session is gone (deleted on any
// replica, or expired) it calls endStream and returns. An SDK whose stream
// loop watches the request's context ends the stream when endStream
// cancels it.
func (c *Core) KeepAlive(ctx context.Context, id string, seen func(meta map[string]any), endStream func()) {
	t := time.NewTicker(c.touchInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		meta, err := c.Open(ctx, id)
		switch {
		case errors.Is(err, mcpsession.ErrNotFound):
			endStream()
			return
		case err != nil && ctx.Err() == nil:
			c.StoreFailed(ctx, "reading the session of a GET stream", err)
		case err == nil && seen != nil:
			seen(meta)
		}
	}
}

// StatusWriter replaces a response with a 503 when Failed reports a store
// failure before the status was written: the SDK would have answered 200
// (initialize, logging/setLevel whose store write failed), 404 or 500, and
// of these only a 503 tells the client to retry with the same session. The
// replaced response carries no session id. It keeps Flush, which the SDKs
// need to stream, and Unwrap, for http.ResponseController.
//
// Forbidden, when set, does the same with a 403 (see Forbidden) for a
// session of another principal, which the SDK answered 404; MissingID with
// a 400 (MissingSessionID) for a request that named no session. Any other
// 404 gets NotFound's body, the same as every adapter's, unless
// KeepNotFound is set: then it goes out as the SDK wrote it.
type StatusWriter struct {
	http.ResponseWriter
	Failed       func() bool
	Forbidden    func() bool
	MissingID    func() bool
	KeepNotFound bool
	written      bool
	swallow      bool
}

// WriteHeader implements http.ResponseWriter.
func (w *StatusWriter) WriteHeader(code int) {
	if w.written {
		return
	}
	w.written = true
	var answer func(http.ResponseWriter)
	switch {
	case w.Failed():
		answer = Unavailable
	case w.Forbidden != nil && w.Forbidden():
		answer = Forbidden
	case code == http.StatusNotFound && w.MissingID != nil && w.MissingID():
		answer = MissingSessionID
	case code == http.StatusNotFound && !w.KeepNotFound:
		answer = NotFound
	default:
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.Header().Del(HeaderSessionID)
	w.Header().Del("Content-Length")
	answer(w.ResponseWriter)
	w.swallow = true
}

// Write implements http.ResponseWriter.
func (w *StatusWriter) Write(p []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	if w.swallow {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// Flush implements http.Flusher.
func (w *StatusWriter) Flush() {
	if !w.written {
		w.WriteHeader(http.StatusOK) // as net/http's Flush would, but through the check
	}
	if w.swallow {
		return
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
