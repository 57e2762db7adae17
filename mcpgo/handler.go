package mcpgo

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/adapterstate"
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
//   - Each request's principal is resolved (WithPrincipal) before mcp-go
//     sees it, for the handle helpers; a session's request from another
//     principal than the one that initialized it is 403, POST, GET and
//     DELETE alike.
//   - With WithBus and WithEventStore, GET streams are served from the
//     event store rather than by mcp-go, Last-Event-ID included, and the
//     answers to server-to-client requests go to the replica that asked
//     (see the package documentation, "Streams across replicas").
//   - Requests of the sessionless revision (an Mcp-Protocol-Version of
//     2026-07-28 or later) pass through to mcp-go with their principal and
//     never reach the store but for the handles their tools use; so do
//     other methods (OPTIONS, HEAD), without one.
func (s *Sessions) Handler(next http.Handler) http.Handler {
	if s.streams != nil {
		s.streams.next.Store(&next)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
		if mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion)) {
			r = r.WithContext(ctx)
			if s.streams != nil {
				s.streams.serveModern(w, r, next)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodPost {
			st := &requestState{}
			r = r.WithContext(withRequestState(ctx, st))
			var sw http.ResponseWriter = &adapterstate.StatusWriter{ResponseWriter: w, Failed: st.hasFailed, Forbidden: st.isForbidden, MissingID: st.isMissingID}
			if s.streams != nil {
				var ok bool
				if sw, r, ok = s.streams.post(s, sw, r); !ok {
					return
				}
			}
			next.ServeHTTP(sw, r)
			if err := st.failure(); err != nil {
				s.core.StoreFailed(r.Context(), "serving a request", err)
			}
			return
		}
		s.serveSession(w, r.WithContext(ctx), next)
	})
}

func (s *Sessions) serveSession(w http.ResponseWriter, r *http.Request, next http.Handler) {
	id := r.Header.Get(server.HeaderKeySessionID)
	if id == "" {
		adapterstate.MissingSessionID(w)
		return
	}
	ctx := r.Context()
	principal, _ := s.core.RequestPrincipal(ctx) // Handler put it there
	var meta map[string]any
	var err error
	if r.Method == http.MethodGet {
		meta, err = s.core.OpenAs(ctx, id, principal)
	} else {
		meta, err = s.core.LookupAs(ctx, id, principal) // no touch for a session about to end
	}
	switch {
	case errors.Is(err, mcpsession.ErrNotFound):
		adapterstate.NotFound(w)
		return
	case adapterstate.IsForeign(err):
		adapterstate.Forbidden(w)
		return
	case err != nil:
		s.core.StoreFailed(ctx, "reading a session", err)
		adapterstate.Unavailable(w)
		return
	}
	st := &requestState{meta: meta}
	ctx = withRequestState(ctx, st)
	if r.Method == http.MethodGet {
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
	if r.Method == http.MethodGet && s.streams != nil {
		s.streams.relay.ServeGET(w, r.WithContext(ctx), id) // from the event store, whoever writes it
		return
	}
	next.ServeHTTP(&adapterstate.StatusWriter{ResponseWriter: w, Failed: st.hasFailed}, r.WithContext(ctx))
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

type requestStateKey struct{}

func withRequestState(ctx context.Context, st *requestState) context.Context {
	return context.WithValue(ctx, requestStateKey{}, st)
}

func requestStateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(requestStateKey{}).(*requestState)
	return st
}
