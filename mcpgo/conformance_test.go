package mcpgo

// The conformance suite: mcp-go's own streamable-HTTP tests, ported, run
// against mcp-go's own handler and against the adapter.
//
// The cases (conformance_*_test.go) carry over what the HTTP-level cases of
// mcp-go v1.6.0 send and what they expect, statuses, bodies and stream
// events as those tests have them, from:
//
//   - server/streamable_http_test.go;
//   - server/streamable_http_modern_test.go (the sessionless revision);
//   - e2e/resumability_http_test.go and e2e/scoped_request_resumability_test.go;
//   - server/streamable_http_{elicitation,roots_post,overlapping_post,
//     notification_drop,request_scoped_notification,envelope,body_limit,
//     sampling_error_label}_test.go.
//
// Each case runs through adaptertest.Ways: on mcp-go's own
// StreamableHTTPServer (way "sdk", configured as the original case
// configures it: that it passes proves the port faithful), on one replica
// of the adapter, and on two replicas behind adaptertest.RoundRobin, on a
// SQLite file and on a Postgres schema. Each replica has its own
// MCPServer, StreamableHTTPServer (with the case's options, then
// Sessions.HTTPOptions), Sessions, store, bus and event store
// (adaptertest.NewStreams). What a case does on the server side is done to
// the service: to every replica where it configures the server (AddTool,
// AddPrompt, SendNotificationToAllClients, as every replica of a
// deployment is configured alike), to the first replica (the one the
// proxy sends the first request to) where it addresses one session
// (SendNotificationToSpecificClient). Where a case reads mcp-go's event
// store, the sdk way records what mcp-go stores and the adapter's ways read
// the event store's table.
//
// Where a case reaches into mcp-go's internals, the port keeps what is
// observable over HTTP (and says so at the case). Left out, and why:
//
//   - Cases of a session id manager the adapter replaces: mcp-go's default
//     StatelessGeneratingSessionIdManager accepting any well-formed id
//     ("Accept tool call with properly formatted session ID"), WithStateLess
//     (TestStreamableHTTP_POST_SendAndReceive_stateless,
//     TestModernProtocol_ModernOnlyMethodsRejectedForLegacyClients, the
//     requests of TestStreamableHTTP_PostEnvelopeAndEra that need no
//     session only because the server is stateless, TestStreamableHTTPNotificationRace)
//     and the "stateless" and "default manager" modes of the overlapping
//     POST cases. Sessions.HTTPOptions installs a manager that checks every
//     id against the store, as WithStateful checks it against memory: an
//     id the store does not know is 404, which is what the adapter is for.
//   - Cases of mcp-go's internals with nothing observable over HTTP: option
//     fields (WithOptions, TLS, Basic), the session objects' tool,
//     resource, logging and client-info stores, InsecureStatefulSessionIdManager
//     and the resolvers, the idle sweeper's maps, requestScopedSSE and
//     trySend, the sampling session methods and queue, a ResponseWriter
//     without Flush handed to ServeHTTP directly (NonFlusherReturns405),
//     Handle for other HTTP frameworks, touchSession's allocations,
//     ServerRequestIDsDoNotCollide (a session object driven by hand),
//     TestStreamableHTTPSessionListenStreamIsFilteredThroughout, readBounded.
//   - Lifecycle of one process: ShutdownWithActiveConnection,
//     CloseSessions, the listen streams' Shutdown cases: they test what
//     StreamableHTTPServer.Shutdown does to its own memory.
//   - TestResumability_NoEventStoreNoIDs and the "without event store"
//     half of NotificationNotDroppedWithoutEventStore: the adapter's
//     streams across replicas always have an event store.
//   - TestResumability_CustomStore: it plugs a fake EventStore into mcp-go;
//     the adapter installs its own.
//   - TestModernProtocol_EventStoreDoesNotStrandTheForwarder: it counts the
//     process's goroutines, which the adapter's bus and listeners share.
//   - e2e/sampling_http_test.go, e2e/protocol_2026_07_28_test.go and
//     e2e/subscription_shutdown_test.go: they drive mcp-go's client (with
//     sleeps) rather than HTTP; their HTTP exchanges are the cases above.

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
)

// waitTimeout bounds every wait of the suite, as mcp-go's e2e tests do.
const waitTimeout = 15 * time.Second

// fixture is how a case serves: what each replica's MCP server is, and the
// case's own options.
type fixture struct {
	// build makes one replica's MCP server. Give it rig.options, which
	// adds the adapter's hooks on the adapter's ways.
	build func(t *testing.T, r rig) *server.MCPServer
	// http are the case's options for NewStreamableHTTPServer.
	http []server.StreamableHTTPOption
	// contextFunc is the case's WithHTTPContextFunc (the adapter's option
	// of that name on the adapter's ways).
	contextFunc server.HTTPContextFunc
	// eventStore gives mcp-go's own handler an in-memory event store, as
	// the resumability cases do; the adapter's replicas always have theirs.
	eventStore bool
	// wrap, when set, is middleware put in front of each replica's handler.
	wrap func(http.Handler) http.Handler
}

// rig is what build gets for one replica.
type rig struct {
	sessions *Sessions // nil on mcp-go's own handler
	replica  int
}

// options returns opts for NewMCPServer with hooks added: h, the case's
// own (nil for none), with the adapter's registered on it on the adapter's
// ways.
func (r rig) options(h *server.Hooks, opts ...server.ServerOption) []server.ServerOption {
	if h == nil {
		if r.sessions == nil {
			return opts
		}
		return append(opts, r.sessions.ServerOptions()...)
	}
	if r.sessions != nil {
		r.sessions.RegisterHooks(h)
	}
	return append(opts, server.WithHooks(h))
}

// service is what a case talks to: mcp-go's own handler, or the adapter's
// replicas, one or two behind a round-robin proxy.
type service struct {
	way      adaptertest.Way
	url      string
	urls     []string            // each replica's own
	servers  []*server.MCPServer // each replica's
	handlers []http.Handler      // each replica's whole handler
	sessions []*Sessions         // nil on mcp-go's own handler
	stop     []func()            // each replica's shutdown
	stored   storedEvents
}

// serve starts the service of the way for f; it stops when t ends.
func serve(t *testing.T, w adaptertest.Way, f fixture) *service {
	t.Helper()
	s := &service{way: w}
	if w.SDK() {
		opts := append([]server.StreamableHTTPOption{server.WithStreamableHTTPLogger(quiet)}, f.http...)
		if f.contextFunc != nil {
			opts = append(opts, server.WithHTTPContextFunc(f.contextFunc))
		}
		rec := newRecordingStore()
		if f.eventStore {
			opts = append(opts, server.WithEventStore(rec))
		}
		s.stored = rec
		ms := f.build(t, rig{})
		s.add(t, ms, server.NewStreamableHTTPServer(ms, opts...), nil, f.wrap)
		s.url = s.replicaURL(0)
		return s
	}
	var db *sql.DB
	for i := range w.Replicas {
		st := adaptertest.NewStreams(t, w.DSN)
		if db == nil {
			db = st.Store.DB()
		}
		sopts := []Option{WithStreams(st.Bus, st.Events), WithLogger(quiet)}
		if f.contextFunc != nil {
			sopts = append(sopts, WithHTTPContextFunc(f.contextFunc))
		}
		sessions, err := New(st.Store, sopts...)
		if err != nil {
			t.Fatal(err)
		}
		ms := f.build(t, rig{sessions: sessions, replica: i})
		opts := append([]server.StreamableHTTPOption{server.WithStreamableHTTPLogger(quiet)}, f.http...)
		h := server.NewStreamableHTTPServer(ms, append(opts, sessions.HTTPOptions()...)...)
		s.add(t, ms, h, sessions, f.wrap)
	}
	s.stored = newTableEvents(t, db)
	if w.Replicas == 1 {
		s.url = s.replicaURL(0)
	} else {
		urls := make([]string, w.Replicas)
		for i := range urls {
			urls[i] = s.replicaURL(i)
		}
		s.url = adaptertest.RoundRobin(t, urls...)
	}
	return s
}

func (s *service) replicaURL(i int) string { return s.urls[i] }

// add serves one replica.
func (s *service) add(t *testing.T, ms *server.MCPServer, h *server.StreamableHTTPServer, sessions *Sessions, wrap func(http.Handler) http.Handler) {
	t.Helper()
	var handler http.Handler = h
	if sessions != nil {
		handler = sessions.Handler(h)
	}
	if wrap != nil {
		handler = wrap(handler)
	}
	srv := httptest.NewServer(handler)
	stop := sync.OnceFunc(func() {
		if sessions != nil {
			_ = sessions.Shutdown(context.Background())
		}
		srv.CloseClientConnections()
		_ = h.Shutdown(context.Background())
		srv.Close()
	})
	t.Cleanup(stop)
	s.urls = append(s.urls, srv.URL)
	s.servers = append(s.servers, ms)
	s.handlers = append(s.handlers, handler)
	s.sessions = append(s.sessions, sessions)
	s.stop = append(s.stop, stop)
}

// server is the replica a case addresses one session on: the first, which
// serves the first request through the proxy.
func (s *service) server() *server.MCPServer { return s.servers[0] }

// each configures every replica alike.
func (s *service) each(fn func(ms *server.MCPServer)) {
	for _, ms := range s.servers {
		fn(ms)
	}
}

// ---- HTTP ------------------------------------------------------------------

// request builds a request to the service: a POST with body (JSON-encoded
// unless it is a string or []byte) and Content-Type application/json, or a
// GET, DELETE or HEAD without one; sid, when not "", in Mcp-Session-Id;
// then the headers of header (name, value pairs).
func (s *service) request(t testing.TB, ctx context.Context, method, sid string, body any, header ...string) *http.Request {
	t.Helper()
	var r io.Reader
	if body != nil {
		var b []byte
		switch v := body.(type) {
		case string:
			b = []byte(v)
		case []byte:
			b = v
		default:
			var err error
			if b, err = json.Marshal(v); err != nil {
				t.Fatal(err)
			}
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.url, r)
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	if sid != "" {
		req.Header.Set(server.HeaderKeySessionID, sid)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	return req
}

// fetch sends req and waits for the answer's headers, at most
// waitTimeout; the answer's body is closed when t ends.
func fetch(t testing.TB, req *http.Request) *http.Response {
	t.Helper()
	type result struct {
		resp *http.Response
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		ch <- result{resp, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("%s: %v", req.Method, r.err)
		}
		t.Cleanup(func() { _ = r.resp.Body.Close() })
		return r.resp
	case <-time.After(waitTimeout):
		// The request goes on until its context ends, with the test.
		t.Fatalf("%s: no answer in time", req.Method)
	}
	return nil
}

// send sends a request (see request) and returns the answer.
func (s *service) send(t testing.TB, method, sid string, body any, header ...string) *http.Response {
	t.Helper()
	return fetch(t, s.request(t, t.Context(), method, sid, body, header...))
}

// post is send of a POST.
func (s *service) post(t testing.TB, sid string, body any, header ...string) *http.Response {
	t.Helper()
	return s.send(t, http.MethodPost, sid, body, header...)
}

// open opens a GET stream of sid, resuming after lastEventID unless it is
// "", that ends when the returned function is called or t ends.
func (s *service) open(t testing.TB, sid, lastEventID string, header ...string) (*http.Response, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	if lastEventID != "" {
		header = append(header, "Last-Event-ID", lastEventID)
	}
	return fetch(t, s.request(t, ctx, http.MethodGet, sid, nil, header...)), cancel
}

// body reads an answer whole.
func body(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	return string(b)
}

// rpc is a JSON-RPC message as the cases read it.
type rpc struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

// decode reads data as a JSON-RPC message.
func decode(t testing.TB, data []byte) rpc {
	t.Helper()
	var m rpc
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("not a JSON-RPC message: %q: %v", data, err)
	}
	return m
}

// result decodes the message's result into a map.
func (m rpc) result(t testing.TB) map[string]any {
	t.Helper()
	var r map[string]any
	if err := json.Unmarshal(m.Result, &r); err != nil {
		t.Fatalf("result %s: %v", m.Result, err)
	}
	return r
}

// text is the first text content of a tool result.
func (m rpc) text(t testing.TB) string {
	t.Helper()
	var r struct {
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
	}
	if err := json.Unmarshal(m.Result, &r); err != nil || len(r.Content) == 0 {
		t.Fatalf("no tool result text in %s (error %+v)", m.Result, m.Error)
	}
	return r.Content[0].Text
}

// idNumber is the message's id as an integer, or -1.
func (m rpc) idNumber() int64 {
	n, err := strconv.ParseInt(string(m.ID), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// answer reads a whole answer: the one JSON-RPC message of a JSON answer,
// or the last data event of an SSE one.
func answer(t testing.TB, resp *http.Response) rpc {
	t.Helper()
	b := body(t, resp)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return decode(t, []byte(b))
	}
	var last string
	for line := range strings.SplitSeq(b, "\n") {
		if d, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "data: "); ok {
			last = d
		}
	}
	return decode(t, []byte(last))
}

// initRequest is mcp-go's tests' initialize: the newest revision asked
// for, without _meta, which selects the legacy handshake.
var initRequest = map[string]any{
	"jsonrpc": "2.0", "id": 1, "method": "initialize",
	"params": map[string]any{
		"protocolVersion": mcp.LATEST_PROTOCOL_VERSION,
		"clientInfo":      map[string]any{"name": "test-client", "version": "1.0.0"},
	},
}

// initialize sends msg (initRequest when nil), with header, and returns the session id,
// failing unless the answer is 200 with one.
func (s *service) initialize(t testing.TB, msg any, header ...string) string {
	t.Helper()
	if msg == nil {
		msg = initRequest
	}
	resp := s.post(t, "", msg, header...)
	_ = body(t, resp)
	sid := resp.Header.Get(server.HeaderKeySessionID)
	if resp.StatusCode != http.StatusOK || sid == "" {
		t.Fatalf("initialize: %d, session %q", resp.StatusCode, sid)
	}
	return sid
}

// initSession is e2e's: initialize at the newest revision with no
// capabilities, then notifications/initialized (202).
func (s *service) initSession(t testing.TB, capabilities map[string]any) string {
	t.Helper()
	if capabilities == nil {
		capabilities = map[string]any{}
	}
	sid := s.initialize(t, map[string]any{
		"jsonrpc": "2.0", "id": 1, "method": "initialize",
		"params": map[string]any{
			"protocolVersion": mcp.LATEST_PROTOCOL_VERSION,
			"clientInfo":      map[string]any{"name": "resume-test", "version": "1.0.0"},
			"capabilities":    capabilities,
		},
	})
	if resp := s.post(t, sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("notifications/initialized: %d", resp.StatusCode)
	}
	return sid
}

// legacySession is modern_test's establishLegacySession: initialize at the
// newest session-based revision, returning the minted session id.
func (s *service) legacySession(t testing.TB) string {
	t.Helper()
	return s.initialize(t, map[string]any{
		"jsonrpc": "2.0", "id": 1, "method": mcp.MethodInitialize,
		"params": map[string]any{
			"protocolVersion": mcp.LATEST_LEGACY_PROTOCOL_VERSION,
			"clientInfo":      map[string]any{"name": "legacy", "version": "1.0.0"},
			"capabilities":    map[string]any{},
		},
	})
}

// ---- SSE -------------------------------------------------------------------

// sseEvent is one SSE event: its id and data.
type sseEvent struct {
	id   string
	data []byte
}

// stream reads the events of an SSE answer.
type stream struct {
	br *bufio.Reader
}

func newStream(resp *http.Response) *stream { return &stream{br: bufio.NewReader(resp.Body)} }

// read reads the next event, accepting "field:value" and "field: value" as
// e2e's readSSEEvent does; io.EOF once the stream ends.
func (s *stream) read() (sseEvent, error) {
	var ev sseEvent
	seen := false
	for {
		line, err := s.br.ReadString('\n')
		if err != nil {
			return sseEvent{}, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if seen {
				return ev, nil
			}
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			ev.id, seen = value, true
		case "data":
			ev.data, seen = []byte(value), true
		case "event":
			seen = true
		}
	}
}

// next reads the next event, failing t on an error or after waitTimeout.
func (s *stream) next(t testing.TB) sseEvent {
	t.Helper()
	type result struct {
		ev  sseEvent
		err error
	}
	ch := make(chan result, 1)
	go func() {
		ev, err := s.read()
		ch <- result{ev, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("reading an SSE event: %v", r.err)
		}
		return r.ev
	case <-time.After(waitTimeout):
		t.Fatal("no SSE event in time")
	}
	return sseEvent{}
}

// message reads the next event and decodes its data.
func (s *stream) message(t testing.TB) rpc {
	t.Helper()
	return decode(t, s.next(t).data)
}

// eof fails t unless the stream ends with no further event.
func (s *stream) eof(t testing.TB) {
	t.Helper()
	ch := make(chan error, 1)
	var ev sseEvent
	go func() {
		var err error
		ev, err = s.read()
		ch <- err
	}()
	select {
	case err := <-ch:
		if err != io.EOF {
			t.Fatalf("want the end of the stream, got event %q / error %v", ev.data, err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the stream did not end in time")
	}
}

// notificationData is params.data of a notifications/message.
func notificationData(t testing.TB, data []byte) string {
	t.Helper()
	var n struct {
		Method string `json:"method"`
		Params struct {
			Data string `json:"data"`
		} `json:"params"`
	}
	if err := json.Unmarshal(data, &n); err != nil || n.Method != "notifications/message" {
		t.Fatalf("want notifications/message, got %q (%v)", data, err)
	}
	return n.Params.Data
}

// countNotifications is how many data frames of an SSE body are
// notifications of method; frames that are not JSON are skipped, as the
// original's are.
func countNotifications(body, method string) int {
	n := 0
	for line := range strings.SplitSeq(body, "\n") {
		data, ok := strings.CutPrefix(strings.TrimSpace(line), "data:")
		if !ok {
			continue
		}
		var m struct {
			Method string `json:"method"`
		}
		if json.Unmarshal([]byte(strings.TrimSpace(data)), &m) == nil && m.Method == method {
			n++
		}
	}
	return n
}

// ---- the event store -----------------------------------------------------

// storeCall is one event stored.
type storeCall struct {
	sessionID, streamID, eventID string
	message                      []byte
}

// storedEvents is what a case reads of the event store.
type storedEvents interface {
	// calls returns the events stored since the service started.
	calls(t testing.TB) []storeCall
	// waitTotal waits until at least n events were stored.
	waitTotal(t testing.TB, n int)
}

// recordingStore is e2e's: mcp-go's in-memory store, recording every event.
type recordingStore struct {
	inner  server.EventStore
	mu     sync.Mutex
	stored []storeCall
	signal chan struct{}
}

func newRecordingStore() *recordingStore {
	return &recordingStore{inner: server.NewInMemoryEventStore(), signal: make(chan struct{}, 4096)}
}

func (r *recordingStore) StoreEvent(ctx context.Context, sessionID, streamID string, message json.RawMessage) (string, error) {
	id, err := r.inner.StoreEvent(ctx, sessionID, streamID, message)
	r.mu.Lock()
	r.stored = append(r.stored, storeCall{sessionID: sessionID, streamID: streamID, eventID: id, message: bytes.Clone(message)})
	r.mu.Unlock()
	select {
	case r.signal <- struct{}{}:
	default:
	}
	return id, err
}

func (r *recordingStore) ReplayEventsAfter(ctx context.Context, sessionID, lastEventID string, send func(string, json.RawMessage) error) (string, error) {
	return r.inner.ReplayEventsAfter(ctx, sessionID, lastEventID, send)
}

func (r *recordingStore) PurgeSession(ctx context.Context, sessionID string) error {
	return r.inner.PurgeSession(ctx, sessionID)
}

func (r *recordingStore) calls(testing.TB) []storeCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]storeCall(nil), r.stored...)
}

func (r *recordingStore) waitTotal(t testing.TB, n int) {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		if got := len(r.calls(t)); got >= n {
			return
		}
		select {
		case <-r.signal:
		case <-deadline:
			t.Fatalf("fewer than %d events stored in time", n)
		}
	}
}

// tableEvents reads the adapter's event store table: the events with data
// (not the priming entries of GET streams) stored since the service
// started, whose seq is the SSE id the adapter gives them.
type tableEvents struct {
	db    *sql.DB
	after int64
}

func newTableEvents(t testing.TB, db *sql.DB) *tableEvents {
	t.Helper()
	var after sql.NullInt64
	if err := db.QueryRowContext(t.Context(), `SELECT max(seq) FROM mcp_events`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	return &tableEvents{db: db, after: after.Int64}
}

func (e *tableEvents) calls(t testing.TB) []storeCall {
	t.Helper()
	rows, err := e.db.QueryContext(t.Context(),
		`SELECT seq, session_id, stream_id, data FROM mcp_events WHERE seq > `+strconv.FormatInt(e.after, 10)+` AND data IS NOT NULL ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []storeCall
	for rows.Next() {
		var c storeCall
		var seq int64
		if err := rows.Scan(&seq, &c.sessionID, &c.streamID, &c.message); err != nil {
			t.Fatal(err)
		}
		c.eventID = strconv.FormatInt(seq, 10)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *tableEvents) waitTotal(t testing.TB, n int) {
	t.Helper()
	adaptertest.Eventually(t, waitTimeout, fmt.Sprintf("%d events stored", n), func() bool { return len(e.calls(t)) >= n })
}

// ---- tools ---------------------------------------------------------------------

// textTool is a tool answering text.
func textTool(text string) server.ToolHandlerFunc {
	return func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText(text), nil
	}
}

// toolCall is a tools/call request.
func toolCall(id int, name string, args map[string]any) map[string]any {
	params := map[string]any{"name": name}
	if args != nil {
		params["arguments"] = args
	}
	return map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}
}
