package mcpgo

import (
	"net/http"

	"github.com/mcpsession/mcpsession/internal/relay"
)

// serveModern serves a request of the sessionless revision: mcp-go's, with
// a subscriptions/listen stream tapped for Broadcast, and a
// notifications/cancelled that mcp-go took here handed to the other
// replicas too, where the request it names may run (mcp-go knows a
// sessionless request by its id alone).
func (st *streams) serveModern(w http.ResponseWriter, r *http.Request, next http.Handler) {
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
	_, canStream := w.(http.Flusher) // what mcp-go asks of a writer before it streams
	switch {
	case relay.IsListen(body) && canStream:
		lw, stop := st.relay.Listen(w)
		defer stop()
		next.ServeHTTP(lw, r)
	case relay.IsCancelled(body):
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == http.StatusAccepted {
			_ = st.relay.Cancelled(r.Context(), "", body) // a cancellation is best effort, as on one replica
		}
	default:
		next.ServeHTTP(w, r)
	}
}

// statusWriter remembers the status written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Flush implements http.Flusher.
func (w *statusWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
