package mcpgo

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/adapter"
	"github.com/mcpsession/mcpsession/internal/httpstatus"
	"github.com/mcpsession/mcpsession/internal/principal"
	"github.com/mcpsession/mcpsession/internal/relay"
)

// Handler returns middleware to put in front of mcp-go's
// StreamableHTTPServer, for what mcp-go leaves undone:
//
//   - GET and DELETE of a session are checked against the store (mcp-go
//     checks neither): an unknown, expired or deleted session is 404, but
//     for a GET with Last-Event-ID, whose event went with the session,
//     which is 400 as mcp-go answers it. A GET without Mcp-Session-Id goes
//     to mcp-go, which serves it a stream of its own.
//   - An open GET stream keeps its session alive, and ends within one touch
//     interval once the session is deleted or expires.
//   - A store failure is 503 Service Unavailable, not the 404 mcp-go would
//     send, so clients keep their session through a database blip; a
//     response that would carry a new session id the store could not
//     create carries none.
//   - Each request's principal is resolved (WithPrincipal) before mcp-go
//     sees it, for the handle helpers; a session's request from another
//     principal than the one that initialized it is 403, POST, GET and
//     DELETE alike.
//   - With WithStreams, GET streams of sessions are served
//     from the event store rather than by mcp-go, Last-Event-ID included,
//     after mcp-go's own checks of the GET; every replica's mcp-go holds
//     the sessions it serves; the answers to server-to-client requests go
//     to the replica that asked, and notifications/cancelled to every
//     replica (see the package documentation, "Streams across replicas").
//   - Requests of the sessionless revision (an Mcp-Protocol-Version of
//     2026-07-28 or later) pass through to mcp-go with their principal and
//     never reach the store but for the handles their tools use; so do
//     other methods (OPTIONS, HEAD), without one.
func (s *Sessions) Handler(next http.Handler) http.Handler {
	if s.streams != nil {
		s.streams.next.Store(&next)
	}
	if s.tasks != nil {
		next = s.tasks.wrap(next)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.tasks != nil {
			w = &statusFilter{ResponseWriter: w} // mcp-go's own, naming its ids
		}
		switch r.Method {
		case http.MethodPost, http.MethodGet, http.MethodDelete:
		default:
			next.ServeHTTP(w, r)
			return
		}
		ctx, ok := s.core.ServePrincipal(w, r)
		if !ok {
			return
		}
		r = r.WithContext(ctx)
		switch {
		case mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion)):
			if s.streams != nil {
				s.streams.serveModern(w, r, next)
				return
			}
			next.ServeHTTP(w, r)
		case r.Method == http.MethodPost:
			s.servePost(w, r, next)
		case r.Method == http.MethodGet && r.Header.Get(server.HeaderKeySessionID) == "":
			next.ServeHTTP(w, r) // mcp-go's own stream, of a session it mints in its memory
		default:
			s.serveSession(w, r, next)
		}
	})
}

// servePost serves a POST of the session-based revisions.
func (s *Sessions) servePost(w http.ResponseWriter, r *http.Request, next http.Handler) {
	st := &requestState{}
	r = r.WithContext(withRequestState(r.Context(), st))
	var sw http.ResponseWriter = &httpstatus.StatusWriter{ResponseWriter: w, Failed: st.hasFailed, Forbidden: st.isForbidden, MissingID: st.isMissingID, KeepNotFound: true}
	var after func()
	if s.streams != nil {
		var ok bool
		if sw, r, after, ok = s.streams.post(s, sw, r); !ok {
			return
		}
		st.writer = &postWriter{ResponseWriter: sw}
		sw = st.writer
		defer st.writer.finish()
	}
	next.ServeHTTP(sw, r)
	if err := st.failure(); err != nil {
		s.core.StoreFailed(r.Context(), "serving a request", err)
	} else if s.streams != nil && st.wasCreated() {
		if id := w.Header().Get(server.HeaderKeySessionID); id != "" {
			s.streams.initialized(id)
		}
	}
	if after != nil {
		after()
	}
}

func (s *Sessions) serveSession(w http.ResponseWriter, r *http.Request, next http.Handler) {
	get := r.Method == http.MethodGet
	if get && s.streams != nil {
		if v, ok := s.streams.probeGET(r); !ok {
			v.Write(w) // as mcp-go answers it, before it looks at the session
			return
		}
	}
	id := r.Header.Get(server.HeaderKeySessionID)
	if id == "" {
		httpstatus.MissingSessionID(w)
		return
	}
	ctx := r.Context()
	principal, _ := principal.Of(ctx) // Handler put it there
	var meta map[string]any
	var err error
	if get {
		meta, err = s.core.OpenAs(ctx, id, principal)
	} else {
		meta, err = s.core.LookupAs(ctx, id, principal) // no touch for a session about to end
	}
	switch {
	case errors.Is(err, mcpsession.ErrNotFound) && get && s.streams != nil && r.Header.Get(relay.HeaderLastEventID) != "":
		http.Error(w, "Unknown Last-Event-ID", http.StatusBadRequest) // the event went with the session
		return
	case errors.Is(err, mcpsession.ErrNotFound):
		notFound(w)
		return
	case adapter.IsForeign(err):
		httpstatus.Forbidden(w)
		return
	case err != nil:
		s.core.StoreFailed(ctx, "reading a session", err)
		httpstatus.Unavailable(w)
		return
	}
	st := &requestState{meta: meta}
	ctx = withRequestState(ctx, st)
	if get {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.core.KeepAlive(ctx, id, nil, cancel)
		}()
		defer func() {
			cancel()
			<-done
		}()
	}
	if get && s.streams != nil {
		s.streams.pump(id, meta)
		s.streams.relay.ServeGET(w, r.WithContext(ctx), id) // from the event store, whoever writes it
		return
	}
	next.ServeHTTP(&httpstatus.StatusWriter{ResponseWriter: w, Failed: st.hasFailed, KeepNotFound: true}, r.WithContext(ctx))
}

// requestState is what one request's adapter calls share: the record
// Validate read, for the context function to restore without reading again,
// and the store failure, if any, for the StatusWriter to report. mcp-go may
// write the response from a goroutine of its own, hence the mutex.
type requestState struct {
	mu        sync.Mutex
	meta      map[string]any
	failed    error
	forbidden bool
	missingID bool
	created   bool
	writer    *postWriter // with streams, the POST's
	stream    string      // the POST's stream, once mcp-go stored an event of it
}

// setStream records the POST's stream, and reports whether it is the
// first time.
func (st *requestState) setStream(stream string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.stream != "" {
		return false
	}
	st.stream = stream
	return true
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

// forbid records that the session belongs to another principal.
func (st *requestState) forbid() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.forbidden = true
}

func (st *requestState) isForbidden() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.forbidden
}

// noID records that the request named no session.
func (st *requestState) noID() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.missingID = true
}

func (st *requestState) isMissingID() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.missingID
}

func (st *requestState) failure() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.failed
}

func (st *requestState) hasFailed() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.failed != nil
}

// markCreated reports whether this is the request's first Create.
func (st *requestState) markCreated() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	first := !st.created
	st.created = true
	return first
}

// wasCreated reports whether the request created its session.
func (st *requestState) wasCreated() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.created
}

type requestStateKey struct{}

func withRequestState(ctx context.Context, st *requestState) context.Context {
	return context.WithValue(ctx, requestStateKey{}, st)
}

func requestStateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(requestStateKey{}).(*requestState)
	return st
}
