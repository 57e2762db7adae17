package mcpgo

import (
	"context"
	"errors"
	"net/http"

	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession/internal/record"
	"github.com/mcpsession/mcpsession/internal/relay"
)

// What this replica's mcp-go holds of a session (streams.held).
type holding int

const (
	// heldActive: mcp-go registered the session as its own handler does,
	// at initialize here, or for a GET: a listening pump can start on it.
	heldActive holding = iota + 1
	// heldRegistered: the adapter registered the session object of one of
	// its POSTs here, as mcp-go registers initialize's: POSTs here reuse
	// it, SendNotificationToSpecificClient finds it, and no pump reads it.
	heldRegistered
	// heldPumped: mcp-go runs its listening pump on the session here.
	heldPumped
)

// hold makes this replica's mcp-go hold the live session of cs in its
// memory, as the replica that served initialize does: registered, so that
// SendNotificationToSpecificClient and the register hook work on every
// replica, and, once the client has opened a GET stream (on any replica:
// the session's delivery mark has an owner), with mcp-go's listening pump
// (pump). Before that mcp-go keeps what it sends the session outside a
// POST's stream for the session's next POST on the replica, as its own
// handler does without a GET stream.
func (s *Sessions) hold(ctx context.Context, cs server.ClientSession, meta map[string]any) {
	st := s.streams
	id := cs.SessionID()
	if st == nil || id == "" {
		return
	}
	if streamOpened(meta) {
		st.pump(id, meta)
		return
	}
	ms := s.server.Load()
	if ms == nil {
		return // no request has told the adapter its MCPServer yet
	}
	if _, held := st.held.LoadOrStore(id, heldRegistered); held {
		return
	}
	if err := ms.RegisterSession(ctx, cs); errors.Is(err, server.ErrSessionExists) {
		st.held.Store(id, heldActive) // mcp-go's own registration
	}
}

// streamOpened reports whether the record says a client opened a GET
// stream of the session.
func streamOpened(meta map[string]any) bool {
	var m relay.DeliveryMark
	return meta != nil && record.Decode(meta[keyDelivery], &m) && m.Owner != ""
}

// initialized records that mcp-go registered the session here itself, at
// initialize.
func (st *streams) initialized(id string) { st.held.Store(id, heldActive) }

// pump makes mcp-go run its listening pump on the session here: a GET of
// the session handed to mcp-go and ended at once; the pump stays. What
// mcp-go sends the session outside a POST's stream (notifications to the
// registered session, server-to-client requests whose POST stream has
// ended) then goes to the session's standalone stream in the event store
// (eventStore, standalone), which the replica holding the client's GET
// serves. mcp-go registers the session for the GET unless it holds it
// from initialize or a GET; a session object the adapter registered is
// unregistered first (mcp-go refuses to register a second), once what
// waits on its notification channel is stored. meta, the
// session's record, restores its state on the session mcp-go registers.
//
// mcp-go forgets the session on DELETE, on its idle sweep and at
// Shutdown; onUnregisterSession then forgets what it held, and the
// session's next request here holds it again.
func (st *streams) pump(id string, meta map[string]any) {
	prev, _ := st.held.Swap(id, heldPumped)
	switch prev {
	case heldPumped:
		return
	case heldRegistered:
		if ms := st.sessions.server.Load(); ms != nil {
			// A POST reusing the session object takes what waits on its
			// notification channel, as mcp-go's POSTs do, onto its stream:
			// a request of the adapter's own stores it on the session's
			// standalone stream instead (eventStore).
			st.serveLocal(http.MethodPost, id, nil, []byte(`{"jsonrpc":"2.0","id":"mcpsession/drain/`+relay.NewToken()+`","method":"ping"}`))
			ms.UnregisterSession(localContext(context.Background()), id)
			st.held.Store(id, heldPumped) // the unregister hook forgot it
		}
	}
	next := st.next.Load()
	if next == nil {
		st.held.Delete(id)
		return
	}
	ctx, cancel := context.WithCancel(localContext(withRequestState(context.Background(), &requestState{meta: meta})))
	cancel() // the stream ends as soon as it is served: the pump stays
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	if err != nil {
		st.held.Delete(id)
		return
	}
	req.Host = "localhost"
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set(server.HeaderKeySessionID, id)
	(*next).ServeHTTP(&capture{header: make(http.Header)}, req)
}

// forget is told that mcp-go dropped the session from its memory here.
func (st *streams) forget(id string) { st.held.Delete(id) }

// probeEventID is a Last-Event-ID no event store issues.
const probeEventID = "mcpsession-probe"

// probeGET asks mcp-go what it answers a client's GET before it looks at
// the session: a modern version (405), an unsupported one (400), streaming
// disabled (405), a writer that cannot stream (405). It hands mcp-go the
// GET with the client's headers and a Last-Event-ID that names no event,
// which mcp-go refuses with 400 once every check before has passed,
// leaving nothing behind. It keeps the client's Host and the connection's
// local address, for mcp-go's DNS rebinding protection (403). ok is true
// when they passed; otherwise the verdict is mcp-go's answer for the
// client.
func (st *streams) probeGET(r *http.Request) (relay.Verdict, bool) {
	next := st.next.Load()
	if next == nil {
		return relay.Verdict{}, true
	}
	ctx := localContext(context.Background())
	if addr := r.Context().Value(http.LocalAddrContextKey); addr != nil {
		ctx = context.WithValue(ctx, http.LocalAddrContextKey, addr)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req := r.Clone(ctx)
	req.Header.Set(relay.HeaderLastEventID, probeEventID)
	w := &capture{header: make(http.Header)}
	(*next).ServeHTTP(w, req)
	v := w.verdict()
	if v.Status == http.StatusBadRequest && v.Body == "Unknown Last-Event-ID\n" {
		return relay.Verdict{}, true
	}
	return v, false
}
