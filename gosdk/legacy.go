package gosdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/adapter"
	"github.com/mcpsession/mcpsession/internal/httpstatus"
	"github.com/mcpsession/mcpsession/internal/principal"
	"github.com/mcpsession/mcpsession/internal/record"
	"github.com/mcpsession/mcpsession/internal/relay"
)

// servePOST serves a POST: sessionless-revision messages through go-sdk's
// stateless handler, one that names no session on a go-sdk session of its
// own (initialize creates the stored session; anything else is answered
// by go-sdk as before initialize, and the session is dropped), and one with
// a Mcp-Session-Id through that session, read from the store.
func (s *Sessions) servePOST(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		http.Error(w, "Content-Type must be 'application/json'", http.StatusUnsupportedMediaType)
		return
	}
	if jsonOK, streamOK := accepts(r.Header.Values("Accept")); !jsonOK || !streamOK {
		http.Error(w, "Accept must contain both 'application/json' and 'text/event-stream'", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
			http.Error(w, fmt.Sprintf("request body exceeds %d bytes", mbe.Limit), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "failed to read body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	p := parsePost(body)
	id := r.Header.Get(httpstatus.HeaderSessionID)
	if id == "" && p.sessionless() {
		s.serveSessionless(w, r)
		return
	}
	// go-sdk refuses Last-Event-ID on a POST; but its streams carry event
	// ids only with an event store, which its handler has none of by
	// default and the adapter has with streams across replicas, and
	// clients that echo the last id they saw on every request
	// (trpc-mcp-go at 2025-03-26) then fail every call. Resuming is for
	// GET alone: the header means nothing here.
	r.Header.Del(relay.HeaderLastEventID)
	if id == "" {
		s.serveNew(w, r, p)
		return
	}

	ctx := r.Context()
	meta, ok := s.open(w, r, id, true)
	if !ok {
		return
	}
	if s.streams != nil {
		s.streams.cancelled(ctx, s, id, p)
		if !s.streams.route(s, w, r, id, body) {
			return // answers to other replicas' requests, forwarded
		}
	} else if relay.Responses(body) && !s.askedHere(id, body) {
		s.refuseAnswer(w, r) // asked on another replica, or never
		return
	}
	l, err := s.acquire(ctx, id, meta)
	if err != nil {
		s.unavailable(ctx, w, err)
		return
	}
	defer s.release(l)
	if levels := p.levels(); len(levels) > 0 && !isSessionless(r.Header.Get(headerProtocolVersion)) {
		// Stored before go-sdk applies it: if the write fails, the level
		// changes nowhere and the client is told to retry. (go-sdk refuses
		// the sessionless revision on a session: nothing to store.)
		level := levels[len(levels)-1]
		if err := s.core.Write(ctx, id, map[string]any{record.KeyLogLevel: level}); err != nil {
			if errors.Is(err, mcpsession.ErrNotFound) {
				s.drop(id)
				notFound(w)
				return
			}
			s.core.StoreFailed(ctx, "storing the log level", err)
			httpstatus.Unavailable(w)
			return
		}
		s.mu.Lock()
		l.level = level // what go-sdk is about to set
		s.mu.Unlock()
	}
	if s.httpOpts.JSONResponse {
		jw := newJSONWriter(w, p.batch)
		defer jw.finish()
		w = jw
	}
	l.transport.ServeHTTP(w, r)
}

// serveNew serves a POST that names no session, as go-sdk's handler does:
// on a new go-sdk session, which initialize fills; the receiving
// middleware stores the record before go-sdk answers (see onInitialize),
// and on a store failure the answer is a 503 with no session id. Without
// initialize, go-sdk answers as a session not yet initialized does (an
// error for most methods), and the session is dropped unstored.
func (s *Sessions) serveNew(w http.ResponseWriter, r *http.Request, p post) {
	st := &initState{}
	ctx := context.WithValue(r.Context(), initKey{}, st)
	l, err := s.connect(ctx, mcpsession.NewID(), nil)
	if err != nil {
		s.logger.LogAttrs(ctx, slog.LevelError, "gosdk: starting a session failed", slog.String("error", err.Error()))
		http.Error(w, "failed connection", http.StatusInternalServerError)
		return
	}
	st.local = l
	if s.httpOpts.JSONResponse {
		jw := newJSONWriter(w, p.batch)
		defer jw.finish() // after the held answer is let go
		w = jw
	}
	var out http.ResponseWriter = &httpstatus.StatusWriter{ResponseWriter: w, Failed: st.failed}
	if s.streams != nil && p.has("initialize") {
		held := holdUntilDecided(out, st)
		defer held.release()
		out = held
	}
	l.transport.ServeHTTP(out, r.WithContext(ctx))
	if registered, _ := st.outcome(); registered {
		s.release(l)
	} else {
		s.closeUnlisted(l) // initialize failed, or there was none: nothing was stored
	}
}

// serveGET opens the session's standalone SSE stream (or resumes one, as
// far as go-sdk's transport can without an event store). While it is open,
// the session's expiry slides and, within one touch interval, its log
// level follows one set on another replica; it ends within one touch
// interval of the session's end on any replica.
func (s *Sessions) serveGET(w http.ResponseWriter, r *http.Request) {
	if _, streamOK := accepts(r.Header.Values("Accept")); !streamOK {
		http.Error(w, "Accept must contain 'text/event-stream' for GET requests", http.StatusBadRequest)
		return
	}
	id := r.Header.Get(httpstatus.HeaderSessionID)
	if id == "" {
		http.Error(w, "Bad Request: GET requires an Mcp-Session-Id header", http.StatusBadRequest)
		return
	}
	meta, ok := s.open(w, r, id, true)
	if !ok {
		return
	}
	if s.streams != nil {
		if last := r.Header.Values(relay.HeaderLastEventID); len(last) > 0 {
			if _, _, ok := parseEventID(last[0]); !ok {
				http.Error(w, fmt.Sprintf("malformed Last-Event-ID %q", last[0]), http.StatusBadRequest)
				return
			}
		}
		// From the event store, whoever writes it; the session's end on
		// any replica ends it.
		ctx, cancel := context.WithCancel(r.Context())
		var wg sync.WaitGroup
		wg.Go(func() { s.core.KeepAlive(ctx, id, nil, func() { cancel(); s.drop(id) }) })
		defer func() {
			cancel()
			wg.Wait()
		}()
		s.streams.relay.ServeGET(w, r.WithContext(ctx), id)
		return
	}
	l, err := s.acquire(r.Context(), id, meta)
	if err != nil {
		s.unavailable(r.Context(), w, err)
		return
	}
	defer s.release(l)
	ctx, cancel := context.WithCancel(r.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		s.core.KeepAlive(ctx, id,
			func(meta map[string]any) { s.sync(ctx, l, meta) }, // a level set elsewhere reaches this stream's session
			func() {
				cancel()
				s.drop(id) // ended on another replica, or expired
			})
	})
	defer func() {
		cancel()
		wg.Wait()
	}()
	l.transport.ServeHTTP(w, r.WithContext(ctx))
}

// serveDELETE ends the session for every replica: it is deleted from the
// store, and this replica's go-sdk session is closed. The others notice at
// their next request for it (404) or within one touch interval on a GET
// stream.
func (s *Sessions) serveDELETE(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(httpstatus.HeaderSessionID)
	if id == "" {
		http.Error(w, "Bad Request: DELETE requires an Mcp-Session-Id header", http.StatusBadRequest)
		return
	}
	if _, ok := s.open(w, r, id, false); !ok {
		return
	}
	if err := s.core.Delete(r.Context(), id); err != nil {
		s.core.StoreFailed(r.Context(), "deleting a session", err)
		httpstatus.Unavailable(w)
		return
	}
	s.drop(id)
	s.core.SessionEnded(r.Context(), id)
	w.WriteHeader(http.StatusNoContent)
}

// open reads the session for a request, sliding its expiry when touch is
// set. Unknown, expired or deleted is 404 (and this replica forgets any
// go-sdk session of it); a session another principal initialized is 403,
// untouched, as go-sdk's own handler answers it; a store failure is 503.
// ok is false when the response has been written.
func (s *Sessions) open(w http.ResponseWriter, r *http.Request, id string, touch bool) (meta map[string]any, ok bool) {
	ctx := r.Context()
	principal, _ := principal.Of(ctx) // ServeHTTP put it there
	var err error
	if touch {
		meta, err = s.core.OpenAs(ctx, id, principal)
	} else {
		meta, err = s.core.LookupAs(ctx, id, principal)
	}
	switch {
	case errors.Is(err, mcpsession.ErrNotFound):
		s.drop(id)
		notFound(w)
		return nil, false
	case adapter.IsForeign(err):
		http.Error(w, "session user mismatch", http.StatusForbidden) // go-sdk's answer
		return nil, false
	case err != nil:
		s.core.StoreFailed(ctx, "reading a session", err)
		httpstatus.Unavailable(w)
		return nil, false
	}
	return meta, true
}

// notFound answers 404 as go-sdk's handler does.
func notFound(w http.ResponseWriter) { http.Error(w, "session not found", http.StatusNotFound) }

func (s *Sessions) unavailable(ctx context.Context, w http.ResponseWriter, err error) {
	if !errors.Is(err, errShutdown) {
		s.logger.LogAttrs(ctx, slog.LevelError, "gosdk: starting a session failed", slog.String("error", err.Error()))
	}
	http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
}

// accepts reports whether Accept values admit JSON and an event stream, as
// go-sdk reads them.
func accepts(values []string) (jsonOK, streamOK bool) {
	for _, value := range values {
		for raw := range strings.SplitSeq(value, ",") {
			base, _, _ := strings.Cut(strings.TrimSpace(raw), ";")
			switch strings.ToLower(strings.TrimSpace(base)) {
			case "application/json", "application/*":
				jsonOK = true
			case "text/event-stream", "text/*":
				streamOK = true
			case "*/*":
				jsonOK, streamOK = true, true
			}
		}
	}
	return jsonOK, streamOK
}

// initState is what serveInitialize shares with the initialize middleware,
// through the context go-sdk hands the middleware.
type initState struct {
	mu         sync.Mutex
	local      *local
	registered bool
	failure    bool
}

// outcome is what became of the session: stored and registered, its
// creation failed, or neither yet.
func (st *initState) outcome() (registered, failed bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.registered, st.failure
}

func (st *initState) failed() bool {
	_, failed := st.outcome()
	return failed
}
