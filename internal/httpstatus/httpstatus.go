// Package httpstatus is how the SDK adapters answer what the SDK cannot:
// the same status and body for one meaning, whatever the method and the
// SDK, so that a client (or an operator reading a proxy's log) sees one
// meaning per status.
package httpstatus

import "net/http"

// HeaderSessionID is the streamable-HTTP session header (the same name in
// every SDK).
const HeaderSessionID = "Mcp-Session-Id"

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

// Forbidden answers 403: a request of a session from another principal
// than the one that started it, which go-sdk's own handler refuses so too.
// Nothing of the request is served.
func Forbidden(w http.ResponseWriter) {
	http.Error(w, "Forbidden: the session belongs to another principal", http.StatusForbidden)
}

// Unauthorized answers 401: the principal function refused the request.
func Unauthorized(w http.ResponseWriter) {
	http.Error(w, "Unauthorized", http.StatusUnauthorized)
}

// InternalError answers 500: the server cannot serve the request as it is
// configured (a principal function that returns an invalid principal).
func InternalError(w http.ResponseWriter) {
	http.Error(w, "Internal Server Error", http.StatusInternalServerError)
}

// Unavailable answers 503: the store failed, so the client should retry
// with the same session rather than initialize again (which a 404 would
// tell it to do).
func Unavailable(w http.ResponseWriter) {
	http.Error(w, "Service Unavailable: session store unavailable", http.StatusServiceUnavailable)
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
