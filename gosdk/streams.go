package gosdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/events"
	"github.com/mcpsession/mcpsession/internal/httpstatus"
	"github.com/mcpsession/mcpsession/internal/msgbus"
	"github.com/mcpsession/mcpsession/internal/relay"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// streams is the adapter's half of the streams across replicas
// (WithStreams): where go-sdk's messages enter and leave; the rest
// is package relay's. Nil without those options.
type streams struct {
	relay  *relay.Relay
	events *eventStore
	store  *events.Store // what events stores in, and where requests are numbered (ids.go)
	bus    *msgbus.Bus
	unsub  func()

	mu   sync.Mutex
	down bool
	work sync.WaitGroup // answers being handed to go-sdk sessions
}

func newStreams(s *Sessions, cfg config) (*streams, error) {
	if cfg.Bus == nil {
		return nil, nil
	}
	es := newEventStore(cfg.Events)
	r, err := relay.New(relay.Config{
		Name:   "gosdk",
		Bus:    cfg.Bus,
		Events: cfg.Events,
		Logger: s.logger,
		EventID: func(stream string, ev events.Event) string {
			return stream + "_" + strconv.FormatInt(ev.Pos, 10) // go-sdk's own format
		},
		ResolveEventID: resolveEventID,
		Inject:         s.inject,
		Ended:          s.drop,
		Cancel:         s.inject,
		CommentFirst:   true,                      // go-sdk's GET stream starts with ": ok"
		ReplayRefused:  "failed to replay events", // go-sdk's words
	})
	if err != nil {
		return nil, fmt.Errorf("gosdk: %w", err)
	}
	es.append = r.Append
	st := &streams{relay: r, events: es, store: cfg.Events, bus: cfg.Bus}
	s.core.Attach(r)
	st.unsub = cfg.Bus.Subscribe(topicAnswer, func(m msgbus.Message) { st.onAnswer(s, m) })
	return st, nil
}

// parseEventID reads go-sdk's event ids, "<stream>_<index>", as go-sdk
// parses them.
func parseEventID(id string) (string, int64, bool) {
	stream, idx, ok := strings.Cut(id, "_")
	n, err := strconv.Atoi(idx)
	if !ok || err != nil || n < 0 || strings.Contains(idx, "_") {
		return "", 0, false
	}
	return stream, int64(n), true
}

// resolveEventID reads the event ids of go-sdk's streams: not those of
// the stream that numbers requests, which carries no messages.
func resolveEventID(_ context.Context, _, id string) (string, int64, error) {
	stream, n, ok := parseEventID(id)
	if !ok || stream == requestStream {
		return "", 0, relay.ErrUnknownEventID
	}
	return stream, n, nil
}

// transport is what a go-sdk session of this replica is connected to: the
// session's StreamableServerTransport, with its connection wrapped
// (sessionConn), as the adapter must see what go-sdk sends.
func (s *Sessions) transport(l *local) mcp.Transport {
	t := sessionTransport{inner: l.transport, l: l, json: s.httpOpts.JSONResponse}
	if s.streams != nil {
		l.transport.EventStore = s.streams.events
		t.streams = s.streams
	}
	return t
}

type sessionTransport struct {
	inner   *mcp.StreamableServerTransport
	l       *local
	streams *streams // nil without streams across replicas
	json    bool     // StreamableHTTPOptions.JSONResponse
}

func (t sessionTransport) Connect(ctx context.Context) (mcp.Connection, error) {
	c, err := t.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return sessionConn{Connection: c, l: t.l, streams: t.streams, json: t.json}, nil
}

func (t sessionTransport) SupportsProtocolVersion(version string) bool {
	return t.inner.SupportsProtocolVersion(version)
}

// sessionConn sees what go-sdk sends a client. With streams across
// replicas, a request gets the session's next number as its id, and a
// cancellation of one names that number, so that the client's answer,
// POSTed to any replica, finds its way back (ids.go); without, the ids of
// the requests are kept, so that an answer POSTed to another replica is
// refused there (answers.go). In JSON mode, what is not a response goes to
// the standalone stream, as go-sdk's JSON mode sends it (json.go).
type sessionConn struct {
	mcp.Connection
	l       *local
	streams *streams
	json    bool
}

func (c sessionConn) Write(ctx context.Context, msg jsonrpc.Message) error {
	if _, ok := msg.(*jsonrpc.Response); !ok && c.json {
		ctx = valueless{ctx}
	}
	if req, ok := msg.(*jsonrpc.Request); ok && c.streams == nil && req.IsCall() {
		c.l.out.asked(req.ID.Raw()) // before the client can answer
	}
	if req, ok := msg.(*jsonrpc.Request); ok && c.streams != nil {
		switch {
		case req.IsCall():
			n, err := c.streams.number(ctx, c.l.id)
			if err != nil {
				// The request fails, not the session: go-sdk ends a
				// connection whose writes fail, unless rejected.
				return fmt.Errorf("%w: %w", errRejected, err)
			}
			c.l.out.add(n, req.ID)
			cp := *req
			cp.ID = numberID(n)
			msg = &cp
		case req.Method == "notifications/cancelled":
			var params map[string]json.RawMessage
			if json.Unmarshal(req.Params, &params) == nil && params["requestId"] != nil {
				n, ok := c.l.out.wire(params["requestId"])
				if !ok {
					// A request that never went out (its write failed):
					// go-sdk's id could be another request's number.
					return nil
				}
				params["requestId"], _ = json.Marshal(n)
				if p, err := json.Marshal(params); err == nil {
					cp := *req
					cp.Params = p
					msg = &cp
				}
			}
		}
	}
	return c.Connection.Write(ctx, msg)
}

// errRejected is go-sdk's jsonrpc2.ErrRejected (unexported there), which
// errors.Is matches by its code: a write that fails with it fails the
// message, not the connection.
var errRejected = &jsonrpc.Error{Code: -32005, Message: "rejected by transport"}

// numberID is the JSON-RPC id n.
func numberID(n int64) jsonrpc.ID {
	id, _ := jsonrpc.MakeID(float64(n)) // a float64 always makes an id
	return id
}

// route sends the answers of a POST to the replicas whose requests they
// answer, and leaves in r's body what this replica's go-sdk session must
// see, with go-sdk's ids restored. ok is false when the response has been
// written (202 when nothing is left for go-sdk).
func (st *streams) route(s *Sessions, w http.ResponseWriter, r *http.Request, id string, body []byte) (ok bool) {
	if !relay.Responses(body) {
		return true
	}
	ctx := r.Context()
	rest, err := st.routeAnswers(ctx, s, id, body)
	if err == nil && rest != nil {
		// Wire ids of the relay's own kind ("mcpsession/…"), of requests
		// asked before the numbering.
		rest, err = st.relay.RouteResponses(ctx, id, rest)
	}
	if err != nil {
		s.core.StoreFailed(ctx, "forwarding an answer to another replica", err)
		httpstatus.Unavailable(w)
		return false
	}
	if rest == nil {
		w.WriteHeader(http.StatusAccepted)
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(rest))
	r.ContentLength = int64(len(rest))
	return true
}

// cancelled hands the notifications/cancelled of the POST to every other
// replica: the request it names may run on any. This replica's go-sdk
// session gets them with the POST. A failure is logged: the POST itself
// is served.
func (st *streams) cancelled(ctx context.Context, s *Sessions, id string, p post) {
	for _, raw := range p.raws {
		if !relay.IsCancelled(raw) {
			continue
		}
		if err := st.relay.Cancelled(ctx, id, raw); err != nil {
			s.core.StoreFailed(ctx, "handing a cancellation to the other replicas", err)
		}
	}
}

// inject hands this replica's go-sdk session of the session a message the
// client POSTed to another replica: an answer to one of its requests, or a
// notifications/cancelled of a request it may be running, which go-sdk
// then cancels as if the client had POSTed it here. Without a go-sdk
// session here, whoever waited for the answer is gone, and no request of
// the session runs here.
func (s *Sessions) inject(session string, msg []byte) {
	s.mu.Lock()
	l := s.locals[session]
	s.mu.Unlock()
	if l == nil {
		return
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "/", bytes.NewReader(msg))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	l.transport.ServeHTTP(&syncRecorder{header: make(http.Header)}, req)
}

// serveListen serves a sessionless subscriptions/listen through go-sdk,
// tapped so that Broadcast on any replica reaches it. ok is false for any
// other request, which the caller serves.
func (st *streams) serveListen(w http.ResponseWriter, r *http.Request, serve func(http.ResponseWriter, *http.Request)) (ok bool) {
	if r.Method != http.MethodPost || r.Body == nil {
		return false
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		// go-sdk reads the body again and answers the error (413 for a
		// body over the limit).
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), failingReader{err}))
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if !relay.IsListen(body) {
		return false
	}
	lw, stop := st.relay.Listen(w)
	defer stop()
	serve(lw, r)
	return true
}

// failingReader fails every read with err.
type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// ErrNoStreams means Notify or Broadcast was called on a Sessions without
// streams across replicas (WithStreams).
var ErrNoStreams = mcpsession.ErrNoStreams

// Notify sends the client of the session sessionID the notification
// (method, params) on its standalone GET stream, wherever that is open,
// with an event id; if none is open, the notification is stored for the
// client to resume (Last-Event-ID). params must encode as a JSON object,
// or be nil. It needs WithStreams (ErrNoStreams); a session that is not
// live is an error matching mcpsession.ErrNotFound; a bad method or
// params, mcpsession.ErrInvalidArgument.
func (s *Sessions) Notify(ctx context.Context, sessionID, method string, params any) error {
	return s.core.Notify(ctx, sessionID, method, params)
}

// Broadcast sends the notification (method, params) to the
// subscriptions/listen streams (2026-07-28) of every replica that opted in
// to it: "notifications/tools/list_changed", "prompts/list_changed" and
// "resources/list_changed" to those that asked for them,
// "notifications/resources/updated" to those subscribed to its params'
// "uri". Other methods are mcpsession.ErrInvalidArgument (a listen stream
// opts in to nothing else). It needs WithStreams (ErrNoStreams). It does
// not reach legacy sessions' GET streams: use Notify for those.
func (s *Sessions) Broadcast(ctx context.Context, method string, params any) error {
	return s.core.Broadcast(ctx, method, params)
}

// heldWriter holds back initialize's answer until the session is stored or
// its creation failed. With an event store, go-sdk writes a priming event
// (2025-11-25) before it handles initialize, which would send the status
// and the session id before the adapter knows whether the store has the
// session: held, they go out with the answer, or as the 503 that replaces
// them (httpstatus.StatusWriter).
type heldWriter struct {
	w  http.ResponseWriter
	st *initState

	mu     sync.Mutex
	held   bool
	status int
	buf    bytes.Buffer
}

func holdUntilDecided(w http.ResponseWriter, st *initState) *heldWriter {
	return &heldWriter{w: w, st: st, held: true}
}

// decidedLocked lets go of what is held once the session's fate is known.
func (h *heldWriter) decidedLocked() bool {
	if h.held {
		if registered, failed := h.st.outcome(); registered || failed {
			h.flushLocked()
		}
	}
	return !h.held
}

func (h *heldWriter) flushLocked() {
	h.held = false
	if h.status != 0 {
		h.w.WriteHeader(h.status)
	}
	if h.buf.Len() > 0 {
		_, _ = h.w.Write(h.buf.Bytes())
		h.buf.Reset()
	}
	_ = http.NewResponseController(h.w).Flush()
}

func (h *heldWriter) Header() http.Header { return h.w.Header() }

func (h *heldWriter) WriteHeader(code int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.decidedLocked() {
		h.w.WriteHeader(code)
		return
	}
	if h.status == 0 {
		h.status = code
	}
}

func (h *heldWriter) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.decidedLocked() {
		return h.w.Write(p)
	}
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return h.buf.Write(p)
}

func (h *heldWriter) Flush() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.decidedLocked() {
		_ = http.NewResponseController(h.w).Flush()
	}
}

// release writes what is still held: go-sdk answered before the adapter
// decided (an initialize go-sdk refused itself).
func (h *heldWriter) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held {
		h.flushLocked()
	}
}

func (h *heldWriter) Unwrap() http.ResponseWriter { return h.w }
