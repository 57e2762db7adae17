package mcpgo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/events"
	"github.com/mcpsession/mcpsession/internal/principal"
	"github.com/mcpsession/mcpsession/internal/record"
	"github.com/mcpsession/mcpsession/internal/relay"
)

// streams is the adapter's half of the streams across replicas
// (WithStreams): where mcp-go's messages enter and leave; the rest
// is package relay's. Nil without those options.
type streams struct {
	relay  *relay.Relay
	events *eventStore
	// next is mcp-go's handler, which Handler wraps: answers forwarded from
	// other replicas, cancellations, the ends of sessions deleted
	// elsewhere and the opening of sessions here are handed to it as
	// requests of their own.
	next atomic.Pointer[http.Handler]
	// held is what this replica's mcp-go holds of each session (a
	// holding; see Sessions.hold).
	held     sync.Map
	sessions *Sessions
	// posts are the writers of the POSTs this replica serves whose
	// responses are event streams, by postKey, while they run.
	posts sync.Map
}

// postKey names one stream of one session.
type postKey struct{ session, stream string }

// injectTimeout bounds a request the adapter hands mcp-go itself.
const injectTimeout = 30 * time.Second

func newStreams(s *Sessions, cfg config, store mcpsession.Store) (*streams, error) {
	if cfg.Bus == nil {
		return nil, nil
	}
	es := newEventStore(cfg.Events)
	st := &streams{events: es, sessions: s}
	rc := relay.Config{
		Name:   "mcpgo",
		Bus:    cfg.Bus,
		Events: cfg.Events,
		Logger: s.logger,
		EventID: func(_ string, ev events.Event) string {
			return strconv.FormatInt(ev.Seq, 10)
		},
		ResolveEventID: func(ctx context.Context, session, id string) (string, int64, error) {
			stream, pos, err := es.resolve(ctx, session, id)
			if errors.Is(err, server.ErrUnknownEventID) {
				return "", 0, relay.ErrUnknownEventID
			}
			return stream, pos, err
		},
		Inject:       func(session string, msg []byte) { st.deliver(session, msg) },
		Deliver:      st.deliver,
		Ended:        st.ended,
		Cancel:       st.cancel,
		Supersede:    true,
		StreamOpened: st.streamOpened,
	}
	if m, ok := store.(mcpsession.Modifier); ok {
		rc.Deliveries = deliveries(m)
	}
	var err error
	st.relay, err = relay.New(rc)
	if err != nil {
		return nil, fmt.Errorf("mcpgo: %w", err)
	}
	es.rewrite = st.relay.RewriteOutgoing
	es.append = st.relay.Append
	es.standalone = func(ctx context.Context) bool { return requestStateFrom(ctx) == nil }
	es.stored = st.storedOnPOSTStream
	es.spool = newSpool(st.relay.Append, s.logger)
	s.core.Attach(st.relay)
	return st, nil
}

// deliveries keeps each session's relay.DeliveryMark in its record, under
// keyDelivery: a GET stream on any replica then sends what no stream sent,
// and never what one did.
func deliveries(m mcpsession.Modifier) func(context.Context, string, func(relay.DeliveryMark) relay.DeliveryMark) (relay.DeliveryMark, error) {
	return func(ctx context.Context, session string, fn func(relay.DeliveryMark) relay.DeliveryMark) (relay.DeliveryMark, error) {
		before := relay.NoDelivery
		err := m.Modify(ctx, session, func(md map[string]any) (map[string]any, error) {
			before = relay.NoDelivery
			if raw, ok := md[keyDelivery]; ok {
				_ = record.Decode(raw, &before)
			}
			if after := fn(before); after != before {
				md[keyDelivery] = after
			}
			return md, nil
		})
		return before, err
	}
}

// streamOpened is told of a GET that opened one of the session's streams,
// on any replica. A POST's stream resumed by a GET is the GET's from then
// on, as mcp-go hands it over: the POST's own response gets nothing more
// (its events are in the event store, which the GET follows). The
// standalone stream opened: mcp-go's listening pump starts on a session
// this replica holds, so that what mcp-go sends the session outside a
// POST's stream reaches the GET, wherever it is.
func (st *streams) streamOpened(session, stream string) {
	if stream != relay.Standalone {
		if w, ok := st.posts.Load(postKey{session, stream}); ok {
			w.(*postWriter).detach()
		}
		return
	}
	if h, held := st.held.Load(session); !held || h == heldPumped {
		return // the session's next request here reads that it was opened
	}
	ctx, cancel := context.WithTimeout(context.Background(), injectTimeout)
	defer cancel()
	meta, err := st.sessions.core.Lookup(ctx, session)
	if err != nil {
		return // gone, or the store fails: the next request here holds it
	}
	st.pump(session, meta)
}

// storedOnPOSTStream learns the stream of the POST ctx serves, when
// mcp-go stores its first event, so that a GET resuming it can take it
// over.
func (st *streams) storedOnPOSTStream(ctx context.Context, session, stream string) {
	rs := requestStateFrom(ctx)
	if rs == nil || rs.writer == nil || !rs.setStream(stream) {
		return
	}
	key := postKey{session, stream}
	st.posts.Store(key, rs.writer)
	rs.writer.onDone(func() { st.posts.Delete(key) })
}

// postWriter stands in front of a POST's response: once a GET resumes the
// POST's stream, it writes nothing more.
type postWriter struct {
	http.ResponseWriter
	mu       sync.Mutex
	detached bool
	done     []func()
}

func (w *postWriter) detach() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.detached = true
}

func (w *postWriter) isDetached() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.detached
}

// onDone runs fn when the POST ends.
func (w *postWriter) onDone(fn func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = append(w.done, fn)
}

// finish is the POST's end.
func (w *postWriter) finish() {
	w.mu.Lock()
	done := w.done
	w.done = nil
	w.mu.Unlock()
	for _, fn := range done {
		fn()
	}
}

// Write implements http.ResponseWriter.
func (w *postWriter) Write(p []byte) (int, error) {
	if w.isDetached() {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// Flush implements http.Flusher, which mcp-go asks of a writer it streams
// to.
func (w *postWriter) Flush() {
	if !w.isDetached() {
		_ = http.NewResponseController(w.ResponseWriter).Flush()
	}
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *postWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ended drops mcp-go's memory of a session deleted on another replica:
// a DELETE handed to mcp-go that leaves the store alone (localEnd).
func (st *streams) ended(session string) {
	st.serveLocal(http.MethodDelete, session, nil, nil)
}

// serveLocal hands mcp-go a request of the adapter's own, about session
// ("" for none), and returns what mcp-go answered. The request is local
// (localEndKey): the session manager takes its session as checked, by the
// replica the client reached, and a DELETE leaves the store alone.
func (st *streams) serveLocal(method, session string, header http.Header, body []byte) relay.Verdict {
	next := st.next.Load()
	if next == nil {
		return relay.Verdict{Status: http.StatusServiceUnavailable} // Handler is not in front of mcp-go
	}
	ctx, cancel := context.WithTimeout(localContext(context.Background()), injectTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "/", bytes.NewReader(body))
	if err != nil {
		return relay.Verdict{Status: http.StatusInternalServerError}
	}
	req.Host = "localhost" // past mcp-go's DNS rebinding protection, which loopback passes
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if session != "" {
		req.Header.Set(server.HeaderKeySessionID, session)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	w := &capture{header: make(http.Header)}
	(*next).ServeHTTP(w, req)
	return w.verdict()
}

// localContext marks ctx as the context of a request the adapter hands
// mcp-go itself, with a principal so that WithPrincipal's function is not
// asked about a request no client sent.
func localContext(ctx context.Context) context.Context {
	return principal.With(context.WithValue(ctx, localEndKey{}, true), "")
}

// localEndKey marks the requests the adapter hands mcp-go itself, whose
// session was checked by the replica the client reached, and whose DELETE
// (of a session another replica deleted already) must not reach the store
// or the bus again.
type localEndKey struct{}

func isLocalEnd(ctx context.Context) bool { v, _ := ctx.Value(localEndKey{}).(bool); return v }

// capture is the response writer of those requests: it keeps the status,
// the content type and, up to a bound, the body.
type capture struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *capture) Header() http.Header { return c.header }

func (c *capture) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.body.Len() < 64<<10 {
		c.body.Write(p)
	}
	return len(p), nil
}

func (c *capture) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
}

func (c *capture) Flush() {}

func (c *capture) verdict() relay.Verdict {
	status := c.status
	if status == 0 {
		status = http.StatusOK
	}
	return relay.Verdict{Status: status, ContentType: c.header.Get("Content-Type"), Body: c.body.String()}
}

// deliver hands mcp-go a client's answer to one of its requests, POSTed to
// another replica, as the POST it would have been here, and returns what
// mcp-go answered, for that replica's client.
func (st *streams) deliver(session string, msg []byte) relay.Verdict {
	return noPending(st.serveLocal(http.MethodPost, session, nil, msg))
}

// noPending is mcp-go's verdict on an answer to a live session: mcp-go
// refuses one nobody waits for with 404 "No active session" in a session
// it holds from no initialize or GET of its own, and with 400 "No pending
// sampling request" in one it does, as it does on one replica.
func noPending(v relay.Verdict) relay.Verdict {
	if v.Status == http.StatusNotFound && strings.HasPrefix(v.Body, "No active session found") {
		return relay.Verdict{Status: http.StatusBadRequest, ContentType: v.ContentType, Body: "No pending sampling request found for the given request ID\n"}
	}
	return v
}

// cancel hands mcp-go a client's notifications/cancelled that another
// replica received: mcp-go cancels the request it names if it runs here.
// A sessionless one (2026-07-28) goes with the headers that era asks for,
// its version read from its _meta, where the client's carried it.
func (st *streams) cancel(session string, msg []byte) {
	header := http.Header{}
	if session == "" {
		var m struct {
			Params struct {
				Meta *mcp.Meta `json:"_meta"`
			} `json:"params"`
		}
		if json.Unmarshal(msg, &m) != nil || m.Params.Meta.ProtocolVersion() == "" {
			return
		}
		header.Set(mcp.HeaderProtocolVersion, m.Params.Meta.ProtocolVersion())
		header.Set(mcp.HeaderMethod, string(mcp.MethodNotificationCancelled))
	}
	st.serveLocal(http.MethodPost, session, header, msg)
}

// ErrNoStreams means Notify or Broadcast was called on a Sessions without
// streams across replicas (WithStreams).
var ErrNoStreams = mcpsession.ErrNoStreams

// Notify sends the client of the session sessionID the notification
// (method, params) on its standalone GET stream, wherever that is open,
// with an event id; if none is open, the notification is stored for the
// next GET stream (or Last-Event-ID). params must encode as a JSON object,
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

// Shutdown ends the streams the adapter serves on this replica (GET
// streams, listen streams, answers waiting for another replica's verdict),
// which an http.Server's Shutdown would otherwise wait for, and waits for
// the requests it is handing mcp-go, or ctx's end. With WithTasks it stops
// renewing the leases of the tasks this replica runs: those that have not
// finished when their leases lapse have failed, on every replica. Call it
// before the StreamableHTTPServer's Shutdown. The sessions, their events
// and the tasks stay in the database.
func (s *Sessions) Shutdown(ctx context.Context) error {
	if s.tasks != nil {
		if err := s.tasks.shutdown(ctx); err != nil {
			return fmt.Errorf("mcpgo: shutdown: %w", err)
		}
	}
	if s.streams == nil {
		return nil
	}
	if err := s.streams.events.spool.wait(ctx); err != nil {
		return fmt.Errorf("mcpgo: shutdown: %w", err)
	}
	return s.streams.relay.Shutdown(ctx)
}
