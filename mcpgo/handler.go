package mcpgo

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession"
)

// Handler returns middleware to put in front of mcp-go's
// StreamableHTTPServer, for what mcp-go leaves undone:
//
//   - GET and DELETE are checked against the store (mcp-go checks neither):
//     no Mcp-Session-Id is 400, an unknown, expired or deleted one is 404.
//   - An open GET stream keeps its session alive, and ends within one touch
//     interval once the session is deleted or expires.
//   - A store failure is 503 Service Unavailable, not the 404 mcp-go would
//     send, so clients keep their session through a database blip; a
//     response that would carry a new session id the store could not
//     create carries none.
//   - Requests of the sessionless revision (an Mcp-Protocol-Version of
//     2026-07-28 or later) pass through untouched; so do other methods
//     (OPTIONS, HEAD).
func (s *Sessions) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion)) {
			next.ServeHTTP(w, r)
			return
		}
		switch r.Method {
		case http.MethodPost:
			st := &requestState{}
			sw := &statusWriter{ResponseWriter: w, st: st}
			next.ServeHTTP(sw, r.WithContext(withRequestState(r.Context(), st)))
		case http.MethodGet, http.MethodDelete:
			s.serveSession(w, r, next)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

func (s *Sessions) serveSession(w http.ResponseWriter, r *http.Request, next http.Handler) {
	id := r.Header.Get(server.HeaderKeySessionID)
	if id == "" {
		http.Error(w, "Bad Request: Mcp-Session-Id header required", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	var meta map[string]any
	var err error
	if r.Method == http.MethodGet {
		meta, err = s.core.Open(ctx, id)
	} else {
		meta, err = s.core.Lookup(ctx, id) // no touch for a session about to end
	}
	switch {
	case errors.Is(err, mcpsession.ErrNotFound):
		http.Error(w, "Session not found", http.StatusNotFound)
		return
	case err != nil:
		s.logger.LogAttrs(ctx, slog.LevelWarn, "mcpgo: reading a session failed", slog.String("error", err.Error()))
		unavailable(w)
		return
	}
	st := &requestState{meta: meta}
	ctx = withRequestState(ctx, st)
	if r.Method == http.MethodGet {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		done := make(chan struct{})
		go s.keepAlive(ctx, cancel, id, done)
		defer func() {
			cancel()
			<-done
		}()
	}
	next.ServeHTTP(&statusWriter{ResponseWriter: w, st: st}, r.WithContext(ctx))
}

// keepAlive runs beside an open GET stream: once per touch interval it reads
// the session and slides its expiry, and it ends the stream (by cancelling
// the context mcp-go's stream loop watches) when the session is gone.
func (s *Sessions) keepAlive(ctx context.Context, endStream context.CancelFunc, id string, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(s.core.TouchInterval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := s.core.Open(ctx, id)
		switch {
		case errors.Is(err, mcpsession.ErrNotFound):
			endStream()
			return
		case err != nil && ctx.Err() == nil:
			s.logger.LogAttrs(ctx, slog.LevelWarn, "mcpgo: reading a session failed", slog.String("error", err.Error()))
		}
	}
}

func unavailable(w http.ResponseWriter) {
	http.Error(w, "Service Unavailable: session store unavailable", http.StatusServiceUnavailable)
}

// requestState is what one request's adapter calls share: the record
// Validate read, for the context function to restore without reading again,
// and the store failure, if any, for statusWriter to report. mcp-go may
// write the response from a goroutine of its own, hence the mutex.
type requestState struct {
	mu      sync.Mutex
	meta    map[string]any
	failed  error
	created bool
}

func (st *requestState) setRecord(meta map[string]any) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.meta = meta
}

func (st *requestState) record() map[string]any {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.meta
}

func (st *requestState) fail(err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.failed == nil {
		st.failed = err
	}
}

func (st *requestState) failure() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.failed
}

// markCreated reports whether this is the request's first Create.
func (st *requestState) markCreated() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	first := !st.created
	st.created = true
	return first
}

type requestStateKey struct{}

func withRequestState(ctx context.Context, st *requestState) context.Context {
	return context.WithValue(ctx, requestStateKey{}, st)
}

func requestStateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(requestStateKey{}).(*requestState)
	return st
}

// statusWriter replaces the response with a 503 when the request hit a
// store failure before its status was written: mcp-go would have said 404
// (Validate), 500 (Terminate) or 200 (initialize and logging/setLevel,
// whose store writes failed), and of these only a 503 tells the client to
// retry with the same session. It keeps Flush, which mcp-go needs to
// stream, and Unwrap, for http.ResponseController.
type statusWriter struct {
	http.ResponseWriter
	st      *requestState
	written bool
	swallow bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.written {
		return
	}
	w.written = true
	if w.st.failure() != nil {
		w.Header().Del(server.HeaderKeySessionID)
		w.Header().Del("Content-Length")
		unavailable(w.ResponseWriter)
		w.swallow = true
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	if w.swallow {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Flush() {
	if !w.written {
		w.WriteHeader(http.StatusOK) // as net/http's Flush would, but through the check
	}
	if w.swallow {
		return
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
