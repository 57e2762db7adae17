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
	"slices"
	"strings"
	"sync"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/adapterstate"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// servePOST serves a POST: sessionless-revision messages through go-sdk's
// stateless handler, an initialize by creating a session, a message with a
// Mcp-Session-Id through that session, read from the store.
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
	if p.sessionless() {
		s.serveSessionless(w, r)
		return
	}
	if !s.versionOK(w, r, p) {
		return
	}
	id := r.Header.Get(adapterstate.HeaderSessionID)
	switch {
	case id == "" && p.has("initialize"):
		s.serveInitialize(w, r)
		return
	case id == "":
		// go-sdk would serve it on a session of its own for the one
		// request; the spec says a server that requires sessions should
		// refuse it, and the adapter does, as mcpgo does.
		adapterstate.MissingSessionID(w)
		return
	}

	ctx := r.Context()
	meta, ok := s.open(w, r, id, true)
	if !ok {
		return
	}
	if s.streams != nil && !s.streams.route(s, w, r, id, body) {
		return // answers to other replicas' requests, forwarded
	}
	l, err := s.acquire(ctx, id, meta)
	if err != nil {
		s.unavailable(ctx, w, err)
		return
	}
	defer s.release(l)
	if levels := p.levels(); len(levels) > 0 {
		// Stored before go-sdk applies it: if the write fails, the level
		// changes nowhere and the client is told to retry.
		level := levels[len(levels)-1]
		if err := s.core.Write(ctx, id, map[string]any{adapterstate.KeyLogLevel: level}); err != nil {
			if errors.Is(err, mcpsession.ErrNotFound) {
				s.drop(id)
				notFound(w)
				return
			}
			s.core.StoreFailed(ctx, "storing the log level", err)
			adapterstate.Unavailable(w)
			return
		}
		s.mu.Lock()
		l.level = level // what go-sdk is about to set
		s.mu.Unlock()
	}
	l.transport.ServeHTTP(w, r)
}

// serveInitialize creates a session: a go-sdk session on a new transport,
// which initialize fills; the receiving middleware stores the record before
// go-sdk answers (see onInitialize), and on a store failure the answer is a
// 503 with no session id.
func (s *Sessions) serveInitialize(w http.ResponseWriter, r *http.Request) {
	st := &initState{}
	ctx := context.WithValue(r.Context(), initKey{}, st)
	l, err := s.connect(ctx, mcpsession.NewID(), nil)
	if err != nil {
		s.logger.LogAttrs(ctx, slog.LevelError, "gosdk: starting a session failed", slog.String("error", err.Error()))
		http.Error(w, "failed connection", http.StatusInternalServerError)
		return
	}
	st.local = l
	var out http.ResponseWriter = &adapterstate.StatusWriter{ResponseWriter: w, Failed: st.failed}
	if s.streams != nil {
		held := holdUntilDecided(out, st)
		defer held.release()
		out = held
	}
	l.transport.ServeHTTP(out, r.WithContext(ctx))
	if st.isRegistered() {
		s.release(l)
	} else {
		s.closeUnlisted(l) // initialize failed: nothing was stored
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
	id := r.Header.Get(adapterstate.HeaderSessionID)
	if id == "" {
		adapterstate.MissingSessionID(w)
		return
	}
	meta, ok := s.open(w, r, id, true)
	if !ok {
		return
	}
	if s.streams != nil {
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
	id := r.Header.Get(adapterstate.HeaderSessionID)
	if id == "" {
		adapterstate.MissingSessionID(w)
		return
	}
	if _, ok := s.open(w, r, id, false); !ok {
		return
	}
	if err := s.core.Delete(r.Context(), id); err != nil {
		s.core.StoreFailed(r.Context(), "deleting a session", err)
		adapterstate.Unavailable(w)
		return
	}
	s.drop(id)
	s.sessionEnded(r.Context(), id)
	w.WriteHeader(http.StatusNoContent)
}

// open reads the session for a request, sliding its expiry when touch is
// set. Unknown, expired or deleted is 404 (and this replica forgets any
// go-sdk session of it); a session another principal initialized is 403,
// untouched, as go-sdk's own handler answers it; a store failure is 503.
// ok is false when the response has been written.
func (s *Sessions) open(w http.ResponseWriter, r *http.Request, id string, touch bool) (meta map[string]any, ok bool) {
	ctx := r.Context()
	principal, _ := s.core.RequestPrincipal(ctx) // ServeHTTP put it there
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
	case adapterstate.IsForeign(err):
		adapterstate.Forbidden(w)
		return nil, false
	case err != nil:
		s.core.StoreFailed(ctx, "reading a session", err)
		adapterstate.Unavailable(w)
		return nil, false
	}
	return meta, true
}

func notFound(w http.ResponseWriter) { adapterstate.NotFound(w) }

func (s *Sessions) unavailable(ctx context.Context, w http.ResponseWriter, err error) {
	if !errors.Is(err, errShutdown) {
		s.logger.LogAttrs(ctx, slog.LevelError, "gosdk: starting a session failed", slog.String("error", err.Error()))
	}
	http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
}

// versionOK makes the checks of the protocol version that go-sdk's handler
// makes and its transport, served from outside that handler, cannot (the
// handler passes the version to the transport in a context key of its
// own): an MCP-Protocol-Version header go-sdk does not speak is 400, and
// so is a batch from 2025-06-18 on.
func (s *Sessions) versionOK(w http.ResponseWriter, r *http.Request, p post) bool {
	v := r.Header.Get(headerProtocolVersion)
	supported := mcp.SupportedProtocolVersions()
	if v != "" && !slices.Contains(supported, v) {
		http.Error(w, fmt.Sprintf("Bad Request: Unsupported protocol version (supported versions: %s)", strings.Join(supported, ",")), http.StatusBadRequest)
		return false
	}
	if v == "" {
		v = assumedVersion
	}
	if p.batch && v >= noBatches {
		http.Error(w, fmt.Sprintf("JSON-RPC batching is not supported in %s and later (request version: %s)", noBatches, v), http.StatusBadRequest)
		return false
	}
	return true
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

func (st *initState) failed() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.failure
}

func (st *initState) isRegistered() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.registered
}
