package mcpgo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/eventstore"
	"github.com/mcpsession/mcpsession/internal/adapterstate"
	"github.com/mcpsession/mcpsession/internal/relay"
)

// streams is the adapter's half of the streams across replicas (WithBus
// and WithEventStore): where mcp-go's messages enter and leave; the rest
// is package relay's. Nil without those options.
type streams struct {
	relay  *relay.Relay
	events *EventStore
	// next is mcp-go's handler, which Handler wraps: answers forwarded from
	// other replicas, and the ends of sessions deleted elsewhere, are handed
	// to it as requests of their own.
	next atomic.Pointer[http.Handler]
}

// injectTimeout bounds a request the adapter hands mcp-go itself.
const injectTimeout = 30 * time.Second

func newStreams(cfg config) (*streams, error) {
	switch {
	case cfg.bus == nil && cfg.events == nil:
		return nil, nil
	case cfg.events == nil:
		return nil, fmt.Errorf("%w: WithBus needs WithEventStore: streams are followed from the event store", ErrInvalidOption)
	case cfg.bus == nil:
		return nil, fmt.Errorf("%w: WithEventStore needs WithBus: stream followers on other replicas are woken by it", ErrInvalidOption)
	}
	es, err := NewEventStore(cfg.events)
	if err != nil {
		return nil, err
	}
	st := &streams{events: es}
	st.relay, err = relay.New(relay.Config{
		Name:   "mcpgo",
		Bus:    cfg.bus,
		Events: cfg.events,
		Logger: cfg.logger,
		EventID: func(_ string, ev eventstore.Event) string {
			return strconv.FormatInt(ev.Seq, 10)
		},
		ResolveEventID: func(ctx context.Context, session, id string) (string, int64, error) {
			stream, pos, err := es.resolve(ctx, session, id)
			if errors.Is(err, server.ErrUnknownEventID) {
				return "", 0, relay.ErrUnknownEventID
			}
			return stream, pos, err
		},
		InvalidArgument: ErrInvalidArgument,
		Inject:          st.inject,
		Ended:           st.ended,
	})
	if err != nil {
		return nil, fmt.Errorf("mcpgo: %w", err)
	}
	es.rewrite = st.relay.RewriteOutgoing
	es.append = st.relay.Append
	return st, nil
}

// post prepares a legacy POST of a session for mcp-go: a body of answers
// to server-to-client requests goes where each request came from (another
// replica's over the bus; this replica's Calls to them), and what mcp-go
// writes on the response has its server-to-client requests' ids made wire
// ids. ok is false when the response has been written.
func (st *streams) post(s *Sessions, w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, bool) {
	sid := r.Header.Get(server.HeaderKeySessionID)
	if sid == "" {
		return w, r, true
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "Bad Request: cannot read the body", http.StatusBadRequest)
		return nil, nil, false
	}
	if relay.Responses(body) {
		// Checked as mcp-go's own path would (Validate), principal included:
		// an answer is routed only into the live session of its principal.
		ctx := r.Context()
		principal, _ := s.core.RequestPrincipal(ctx) // Handler put it there
		_, err := s.core.OpenAs(ctx, sid, principal)
		switch {
		case errors.Is(err, mcpsession.ErrNotFound):
			adapterstate.NotFound(w)
			return nil, nil, false
		case adapterstate.IsForeign(err):
			adapterstate.Forbidden(w)
			return nil, nil, false
		case err != nil:
			s.core.StoreFailed(ctx, "reading a session", err)
			adapterstate.Unavailable(w)
			return nil, nil, false
		}
		rest, err := st.relay.RouteResponses(ctx, sid, body)
		if err != nil {
			s.core.StoreFailed(ctx, "forwarding an answer to another replica", err)
			adapterstate.Unavailable(w)
			return nil, nil, false
		}
		if rest == nil {
			w.WriteHeader(http.StatusAccepted)
			return nil, nil, false
		}
		body = rest
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return st.relay.RewritingWriter(w), r, true
}

// serveModern serves a request of the sessionless revision: mcp-go's, with
// a subscriptions/listen stream tapped for Broadcast.
func (st *streams) serveModern(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if r.Method != http.MethodPost {
		next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "Bad Request: cannot read the body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if !relay.IsListen(body) {
		next.ServeHTTP(w, r)
		return
	}
	lw, stop := st.relay.Listen(w)
	defer stop()
	next.ServeHTTP(lw, r)
}

// inject hands mcp-go an answer to one of its own requests (elicitation)
// that the client POSTed to another replica, as the POST it would have
// been here.
func (st *streams) inject(session string, msg []byte) {
	st.serveLocal(http.MethodPost, session, msg)
}

// ended drops mcp-go's memory of a session deleted on another replica:
// a DELETE handed to mcp-go that leaves the store alone (localEnd).
func (st *streams) ended(session string) {
	st.serveLocal(http.MethodDelete, session, nil)
}

func (st *streams) serveLocal(method, session string, body []byte) {
	next := st.next.Load()
	if next == nil {
		return // Handler is not in front of mcp-go
	}
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), localEndKey{}, true), injectTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "/", bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(server.HeaderKeySessionID, session)
	(*next).ServeHTTP(discard{header: make(http.Header)}, req)
}

// localEndKey marks the requests the adapter hands mcp-go itself, whose
// DELETE (of a session another replica deleted already) must not reach the
// store or the bus again.
type localEndKey struct{}

func isLocalEnd(ctx context.Context) bool { v, _ := ctx.Value(localEndKey{}).(bool); return v }

// discard is the response writer of those requests.
type discard struct{ header http.Header }

func (d discard) Header() http.Header         { return d.header }
func (d discard) Write(p []byte) (int, error) { return len(p), nil }
func (d discard) WriteHeader(int)             {}
func (d discard) Flush()                      {}

// sessionEnded ends the session's streams on every replica once a DELETE
// has removed it from the store.
func (s *Sessions) sessionEnded(ctx context.Context, id string) {
	if s.streams != nil {
		s.streams.relay.SessionEnded(ctx, id)
	}
}

// Notify sends the client of the session sessionID the notification
// (method, params) on its standalone GET stream, wherever that is open,
// with an event id; if none is open, the notification is stored for the
// client to resume (Last-Event-ID). params must encode as a JSON object,
// or be nil. It needs WithBus and WithEventStore (ErrNoStreams); a session
// that is not live is an error matching mcpsession.ErrNotFound; a bad
// method or params, ErrInvalidArgument.
func (s *Sessions) Notify(ctx context.Context, sessionID, method string, params any) error {
	if s.streams == nil {
		return ErrNoStreams
	}
	return s.streams.relay.Notify(ctx, sessionID, method, params)
}

// Broadcast sends the notification (method, params) to the
// subscriptions/listen streams (2026-07-28) of every replica that opted in
// to it: "notifications/tools/list_changed", "prompts/list_changed" and
// "resources/list_changed" to those that asked for them,
// "notifications/resources/updated" to those subscribed to its params'
// "uri". Other methods are ErrInvalidArgument (a listen stream opts in to
// nothing else). It needs WithBus and WithEventStore (ErrNoStreams). It
// does not reach legacy sessions' GET streams: use Notify for those.
func (s *Sessions) Broadcast(ctx context.Context, method string, params any) error {
	if s.streams == nil {
		return ErrNoStreams
	}
	return s.streams.relay.Broadcast(ctx, method, params)
}

// Shutdown ends the streams the adapter serves on this replica (GET
// streams, listen streams, server-to-client requests waiting), which an
// http.Server's Shutdown would otherwise wait for, and waits for the
// answers it is handing mcp-go, or ctx's end. Call it before the
// StreamableHTTPServer's Shutdown. The sessions and their events stay in
// the database. Without WithBus it does nothing.
func (s *Sessions) Shutdown(ctx context.Context) error {
	if s.streams == nil {
		return nil
	}
	return s.streams.relay.Shutdown(ctx)
}

// withRelayedSession puts in ctx, for mcp-go and its handlers, a session
// whose sampling and roots requests go out on the session's standalone
// stream, wherever its GET is open, and whose answers may come to any
// replica (see relayedSession).
func (s *Sessions) withRelayedSession(ctx context.Context, cs server.ClientSession) context.Context {
	if s.streams == nil {
		return ctx
	}
	full, ok := cs.(fullSession)
	if !ok {
		return ctx
	}
	return contextServer.WithContext(ctx, &relayedSession{fullSession: full, relay: s.streams.relay})
}

// contextServer only puts sessions in contexts: MCPServer.WithContext uses
// nothing of its server, and the adapter has none of its own.
var contextServer = &server.MCPServer{}
