//lint:file-ignore SA1019 the ported cases exercise the session-based revisions, whose roots, sampling and logging the sessionless one deprecates.

package gosdk

// The conformance suite: the HTTP-level cases of go-sdk v1.8.0's own
// mcp/streamable_test.go, ported (conformance_*_test.go), each run the
// ways adaptertest.Ways gives: on go-sdk's own StreamableHTTPHandler
// ("sdk", which proves the port faithful), on one replica of the adapter
// and on two behind a round-robin proxy, over SQLite and over Postgres.
// Each replica has a mcp.Server, a store, a bus and an event store of its
// own over the way's database; the cases build the servers, and carry over
// what go-sdk's cases send and expect (statuses, bodies, headers, stream
// events). The code is the suite's own.
//
// The suite's top-level tests are not parallel: they run one after
// another (each case's ways, and its table's rows, in parallel), before
// the package's parallel tests, some of which judge timings that the
// suite's load (a hundred clients at once, in one case) would upset.
//
// What a case cannot do on the adapter is skipped there with t.Skip naming
// the row of the limits table in docs/adapters.md ("## Limits", "### gosdk").
// Where go-sdk's case reads go-sdk's internals, the port checks what is
// observable over HTTP instead, and says so. Left out:
//
//   - TestEventID, TestBaseMediaType, TestEphemeralConnectOpts: unit tests
//     of go-sdk's unexported functions, with no HTTP.
//   - TestStreamableClientContextPropagation, TestPingEventFiltering,
//     TestProcessStreamPrimingEvent, TestProcessStreamMaxEventSize,
//     TestScanEventsPingFiltering: go-sdk's client against a fake server,
//     or its unexported stream readers: no server under test.
//   - TestServerTransportCleanup and TestStreamableSessionTimeout: they
//     assert on the handler's unexported session map and deletion hook
//     (and the first on ServerOptions.GetSessionID, which no handler
//     outside go-sdk can read: see the limits table). The adapter's
//     session expiry is the store's, tested in sessions_test.go.
//   - TestStreamableStateful_RejectsNewProtocol_LegacyPlainText and
//     TestStreamableClientUnsupportedVersionFallback: they change go-sdk's
//     unexported package variables (an MCPGODEBUG setting, the list of
//     supported versions).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The protocol versions the cases name.
const (
	v20250326 = "2025-03-26"
	v20250618 = "2025-06-18"
	v20251125 = "2025-11-25"
	v20260728 = "2026-07-28"
)

// go-sdk's header names and error codes, unexported there.
const (
	hdrProtocolVersion = "Mcp-Protocol-Version"
	hdrSessionID       = "Mcp-Session-Id"
	hdrMethod          = "Mcp-Method"
	hdrName            = "Mcp-Name"
	hdrParamPrefix     = "Mcp-Param-"

	codeHeaderMismatch             = -32020
	codeUnsupportedProtocolVersion = -32022
)

// testImpl is the implementation go-sdk's cases name themselves with.
var testImpl = &mcp.Implementation{Name: "test", Version: "v1.0.0"}

// conf is what a case serves: go-sdk's handler options as the case gives
// them, and how to build each server.
type conf struct {
	// opts are go-sdk's handler's options; the adapter gets them through
	// WithStreamableHTTPOptions.
	opts mcp.StreamableHTTPOptions
	// replay gives go-sdk's handler an event store in memory, as the
	// case's does; the adapter's replicas always have the shared one.
	replay bool
	// server builds a server: one for go-sdk's handler, one per replica.
	server func() *mcp.Server
	// wrap, when set, wraps each replica's handler (go-sdk's, or the
	// adapter's), as the case wraps go-sdk's.
	wrap func(http.Handler) http.Handler
	// listen, when set, is the address the front (the handler, or the
	// round-robin proxy) listens on.
	listen string
}

// target is a case's server, served one way.
type target struct {
	// URL is where clients send requests: the handler, or the proxy in
	// front of the replicas.
	URL string
	// Servers are the mcp.Servers serving: go-sdk handler's, or each
	// replica's.
	Servers []*mcp.Server
	// Sessions are the replicas' adapters (none for go-sdk's handler).
	Sessions []*Sessions

	backends []*httptest.Server // each replica's (go-sdk's handler's) HTTP server
	front    *http.Server       // on conf.listen, when the case gave one
}

// serve serves c the way w says, until t ends.
func serve(t *testing.T, w adaptertest.Way, c conf) *target {
	t.Helper()
	if c.server == nil {
		c.server = func() *mcp.Server { return mcp.NewServer(testImpl, nil) }
	}
	wrap := c.wrap
	if wrap == nil {
		wrap = func(h http.Handler) http.Handler { return h }
	}
	tg := &target{}
	var handlers []http.Handler
	if w.SDK() {
		server := c.server()
		opts := c.opts
		if c.replay {
			opts.EventStore = mcp.NewMemoryEventStore(nil)
		}
		tg.Servers = []*mcp.Server{server}
		handlers = append(handlers, wrap(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, &opts)))
	} else {
		for range w.Replicas {
			st := adaptertest.NewStreams(t, w.DSN)
			server := c.server()
			s, err := New(st.Store, server, WithStreams(st.Bus, st.Events), WithStreamableHTTPOptions(c.opts))
			if err != nil {
				t.Fatal(err)
			}
			tg.Servers = append(tg.Servers, server)
			tg.Sessions = append(tg.Sessions, s)
			handlers = append(handlers, wrap(s))
		}
	}
	if c.listen != "" && len(handlers) == 1 {
		tg.URL = tg.listen(t, c.listen, handlers[0])
		tg.cleanup(t)
		return tg
	}
	var urls []string
	for _, h := range handlers {
		srv := httptest.NewServer(h)
		tg.backends = append(tg.backends, srv)
		urls = append(urls, srv.URL)
	}
	tg.cleanup(t)
	switch {
	case c.listen != "":
		tg.URL = tg.listen(t, c.listen, adaptertest.RoundRobinHandler(t, urls...))
	case len(urls) == 1:
		tg.URL = urls[0]
	default:
		tg.URL = adaptertest.RoundRobin(t, urls...)
	}
	return tg
}

// listen serves h on addr as the front, and returns its URL.
func (tg *target) listen(t *testing.T, addr string, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	tg.front = &http.Server{Handler: h}
	go func() { _ = tg.front.Serve(ln) }()
	return "http://" + ln.Addr().String()
}

// cleanup stops everything when t ends: the adapters first (their GET
// streams would hold the HTTP servers' Close), then the servers.
func (tg *target) cleanup(t *testing.T) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, s := range tg.Sessions {
			_ = s.Shutdown(ctx)
		}
		if tg.front != nil {
			_ = tg.front.Close()
		}
		for _, b := range tg.backends {
			b.CloseClientConnections()
			b.Close()
		}
	})
}

// Shutdown shuts what serves down, as go-sdk's case shuts its server down
// (the http.Server's Shutdown, after closing its sessions' streams): each
// replica's adapter, then its HTTP server.
func (tg *target) Shutdown(ctx context.Context) error {
	for _, s := range tg.Sessions {
		if err := s.Shutdown(ctx); err != nil {
			return err
		}
	}
	if len(tg.Sessions) == 0 {
		for _, server := range tg.Servers {
			for ss := range server.Sessions() {
				_ = ss.Close()
			}
		}
	}
	for _, b := range tg.backends {
		if err := b.Config.Shutdown(ctx); err != nil {
			return err
		}
	}
	return nil
}

// sessionIDs is the number of distinct sessions the servers hold: on the
// adapter, each replica that served a session holds a go-sdk session of
// it, and they are one.
func (tg *target) sessionIDs() int {
	ids := map[string]bool{}
	for _, server := range tg.Servers {
		for ss := range server.Sessions() {
			if ss.ID() != "" { // a stateless request's, while it closes
				ids[ss.ID()] = true
			}
		}
	}
	return len(ids)
}

// awaitSessions waits (boundedly: the adapter closes go-sdk sessions in
// the background, and other replicas learn of a DELETE over the bus) for
// the servers to hold want sessions.
func (tg *target) awaitSessions(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := tg.sessionIDs()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("after the case, %d sessions; want %d", got, want)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// limit skips the rest of a case on the adapter's ways, naming the row of
// the limits table in docs/adapters.md that says why.
func limit(t *testing.T, w adaptertest.Way, row string) {
	t.Helper()
	if !w.SDK() {
		t.Skipf("limit (docs/adapters.md, Limits, gosdk): %s", row)
	}
}

// limitReplicas skips the rest of a case on the ways with more than one
// replica, naming the row of the limits table in docs/adapters.md that says why.
func limitReplicas(t *testing.T, w adaptertest.Way, row string) {
	t.Helper()
	if w.Replicas > 1 {
		t.Skipf("limit (docs/adapters.md, Limits, gosdk): %s", row)
	}
}

// The limits table's rows the cases name.
const (
	limitBothEras    = "both eras on one endpoint"
	limitInFlightIDs = "a request id in flight on another replica"
)

// pinnedLegacy is the client options for a session on every way: go-sdk's
// client prefers 2026-07-28, which go-sdk's stateful handler refuses (the
// client then falls back to 2025-11-25) and the adapter serves
// statelessly (row "both eras on one endpoint"); pinned, it gets a session
// from both. nil on go-sdk's handler, as the case has it.
func pinnedLegacy(w adaptertest.Way) *mcp.ClientSessionOptions {
	if w.SDK() {
		return nil
	}
	return &mcp.ClientSessionOptions{ProtocolVersion: v20251125}
}

// --- JSON-RPC messages, as go-sdk's cases build them ---

// rpcRequest is a request (id > 0) or a notification (id 0), as go-sdk's
// req helper builds it.
func rpcRequest(id int64, method string, params any) json.RawMessage {
	r := &jsonrpc.Request{Method: method, Params: mustJSON(params)}
	if id > 0 {
		r.ID = rpcID(id)
	}
	return mustEncode(r)
}

// rpcResponse is a response, as go-sdk's resp helper builds it.
func rpcResponse(id int64, result any, err *jsonrpc.Error) json.RawMessage {
	r := &jsonrpc.Response{ID: rpcID(id), Result: mustJSON(result)}
	if err != nil {
		r.Error = err
	}
	return mustEncode(r)
}

func rpcID(id int64) jsonrpc.ID {
	v, err := jsonrpc.MakeID(float64(id))
	if err != nil {
		panic(err)
	}
	return v
}

func mustJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func mustEncode(m jsonrpc.Message) json.RawMessage {
	b, err := jsonrpc.EncodeMessage(m)
	if err != nil {
		panic(err)
	}
	return b
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// --- the step engine, go-sdk's testStreamableHandler ---

// step is one HTTP request of a case and what it must get, as go-sdk's
// streamableRequest has them.
type step struct {
	// onRequest, when > 0, holds the step until the server sent a request
	// with this id (the step answers it).
	onRequest int64
	// async runs the step beside the others (steps with onRequest are).
	async bool

	method   string
	headers  http.Header // overlaid on the default headers
	messages []json.RawMessage

	closeAfter            int // if > 0, hang up after this many messages
	wantStatus            int
	wantBodyContaining    string // replaces wantMessages
	wantBodyNotContaining string // replaces wantMessages
	wantMessages          []json.RawMessage
	wantSessionID         bool
}

// runSteps runs steps against url as go-sdk's testStreamableHandler does:
// synchronous steps in order, async ones beside them; the first session id
// an answer carries goes on every later request.
func runSteps(t *testing.T, url string, steps []step) {
	t.Helper()
	var mu sync.Mutex
	blocks := map[int64]chan struct{}{}
	for _, s := range steps {
		if s.onRequest > 0 {
			blocks[s.onRequest] = make(chan struct{})
		}
	}
	syncDone := make(chan struct{})
	var sessionID atomic.Value
	sessionID.Store("")

	do := func(t *testing.T, i int, s step) {
		if s.onRequest > 0 {
			mu.Lock()
			block := blocks[s.onRequest]
			mu.Unlock()
			select {
			case <-block:
			case <-syncDone:
				t.Errorf("after all sync requests are complete, request still blocked on %d", s.onRequest)
				return
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out := make(chan json.RawMessage)
		var got []json.RawMessage
		var wg sync.WaitGroup
		wg.Go(func() {
			for m := range out {
				if id, ok := serverCall(m); ok {
					mu.Lock()
					if block, ok := blocks[id]; ok {
						close(block)
						delete(blocks, id)
					} else {
						t.Errorf("request #%d: no queued response for the server's request %s", i, m)
						cancel()
					}
					mu.Unlock()
				} else if isCall(m) {
					t.Errorf("request #%d: no queued response for the server's request %s", i, m)
					cancel()
				}
				got = append(got, m)
				if s.closeAfter > 0 && len(got) == s.closeAfter {
					cancel()
				}
			}
		})
		gotSession, status, body, err := s.do(ctx, url, sessionID.Load().(string), out)
		if err != nil && ctx.Err() == nil {
			t.Fatalf("request #%d: %v", i, err)
		}
		if status != s.wantStatus {
			t.Errorf("request #%d: got status %d, want %d (body %q)", i, status, s.wantStatus, body)
		}
		if got := gotSession != ""; got != s.wantSessionID {
			t.Errorf("request #%d: got session id: %t, want %t", i, got, s.wantSessionID)
		}
		wg.Wait()
		if s.wantBodyContaining != "" || s.wantBodyNotContaining != "" {
			if s.wantBodyContaining != "" && !strings.Contains(string(body), s.wantBodyContaining) {
				t.Errorf("request #%d: body does not contain %q:\n%s", i, s.wantBodyContaining, body)
			}
			if s.wantBodyNotContaining != "" && strings.Contains(string(body), s.wantBodyNotContaining) {
				t.Errorf("request #%d: body contains %q:\n%s", i, s.wantBodyNotContaining, body)
			}
		} else if !sameMessages(s.wantMessages, got) {
			t.Errorf("request #%d: messages\n got %s\nwant %s", i, joinMessages(got), joinMessages(s.wantMessages))
		}
		sessionID.CompareAndSwap("", gotSession)
	}

	var wg sync.WaitGroup
	for i, s := range steps {
		if s.async || s.onRequest > 0 {
			wg.Go(func() { do(t, i, s) })
		} else {
			do(t, i, s)
		}
	}
	close(syncDone)
	wg.Wait()
}

// serverCall returns the id of a server-to-client request whose id is a
// number, as go-sdk's cases read it.
func serverCall(m json.RawMessage) (int64, bool) {
	var head struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if json.Unmarshal(m, &head) != nil || head.Method == "" || len(head.ID) == 0 {
		return 0, false
	}
	var n int64
	if json.Unmarshal(head.ID, &n) != nil {
		return 0, false
	}
	return n, true
}

// isCall reports whether m is a request with an id, of any kind.
func isCall(m json.RawMessage) bool {
	var head struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	return json.Unmarshal(m, &head) == nil && head.Method != "" && len(head.ID) > 0 && string(head.ID) != "null"
}

func sameMessages(want, got []json.RawMessage) bool {
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if !sameJSON(want[i], got[i]) {
			return false
		}
	}
	return true
}

func joinMessages(ms []json.RawMessage) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, string(m))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// do sends the step: one message as a JSON object, several as a batch. The
// messages of the answer (SSE events named "message" or unnamed, or a JSON
// body) go to out, which do closes. It returns the answer's session id,
// status and body.
func (s step) do(ctx context.Context, url, sessionID string, out chan<- json.RawMessage) (string, int, []byte, error) {
	defer close(out)
	var body []byte
	switch len(s.messages) {
	case 0:
	case 1:
		body = s.messages[0]
	default:
		b, err := json.Marshal(s.messages)
		if err != nil {
			return "", 0, nil, err
		}
		body = b
	}
	req, err := http.NewRequestWithContext(ctx, s.method, url, bytes.NewReader(body))
	if err != nil {
		return "", 0, nil, err
	}
	if sessionID != "" {
		req.Header.Set(hdrSessionID, sessionID)
	}
	if s.method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	maps.Copy(req.Header, s.headers)
	if req.Header.Get("Content-Type") == "" {
		req.Header.Del("Content-Type")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", 0, nil, fmt.Errorf("request failed: %v", err)
	}
	defer resp.Body.Close()
	sid := resp.Header.Get(hdrSessionID)
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch mt {
	case "text/event-stream":
		var raw bytes.Buffer
		for ev, err := range readEvents(io.TeeReader(resp.Body, &raw)) {
			if err != nil {
				return sid, resp.StatusCode, raw.Bytes(), fmt.Errorf("reading events: %v", err)
			}
			if ev.name == "" || ev.name == "message" {
				if !json.Valid(ev.data) {
					return sid, resp.StatusCode, raw.Bytes(), fmt.Errorf("decoding message %q", ev.data)
				}
				out <- ev.data
			}
		}
		return sid, resp.StatusCode, raw.Bytes(), nil
	case "application/json":
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			return sid, resp.StatusCode, data, err
		}
		if _, err := jsonrpc.DecodeMessage(data); err != nil {
			return sid, resp.StatusCode, data, fmt.Errorf("decoding message: %w", err)
		}
		out <- data
		return sid, resp.StatusCode, data, nil
	default:
		data, err := io.ReadAll(resp.Body)
		return sid, resp.StatusCode, data, err
	}
}

// sseEvent is one server-sent event.
type sseEvent struct {
	name, id string
	data     []byte
}

// readEvents yields the events of an SSE body until it ends.
func readEvents(r io.Reader) func(yield func(sseEvent, error) bool) {
	return func(yield func(sseEvent, error) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		var ev sseEvent
		var has bool
		for sc.Scan() {
			line := strings.TrimSuffix(sc.Text(), "\r")
			switch {
			case line == "":
				if has {
					if !yield(ev, nil) {
						return
					}
				}
				ev, has = sseEvent{}, false
			case strings.HasPrefix(line, ":"):
			case strings.HasPrefix(line, "event:"):
				ev.name, has = strings.TrimSpace(strings.TrimPrefix(line, "event:")), true
			case strings.HasPrefix(line, "id:"):
				ev.id, has = strings.TrimSpace(strings.TrimPrefix(line, "id:")), true
			case strings.HasPrefix(line, "data:"):
				if ev.data != nil {
					ev.data = append(ev.data, '\n')
				}
				ev.data, has = append(ev.data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")...), true
			case strings.HasPrefix(line, "retry:"):
				has = true
			}
		}
		if err := sc.Err(); err != nil && !isHangUp(err) {
			yield(sseEvent{}, err)
		}
	}
}

// isHangUp reports whether err is the client hanging up (a step's
// closeAfter, or its timeout), which ends a stream without error.
func isHangUp(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "context canceled") || strings.Contains(err.Error(), "deadline exceeded"))
}

// --- raw HTTP, for the cases that send by hand ---

// rawReply is an answer read whole.
type rawReply struct {
	status int
	header http.Header
	body   []byte
	err    error // sendRawAsync's: the request failed
}

// sendRaw sends method to url with body and headers (Content-Type and
// Accept as go-sdk's cases set them, unless given), and reads the answer.
func sendRaw(t *testing.T, method, url string, body []byte, headers http.Header) rawReply {
	t.Helper()
	r, err := tryRaw(method, url, body, headers)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sendRawAsync is sendRaw on a goroutine of its own; the reply holds the
// error of a request that failed.
func sendRawAsync(method, url string, body []byte, headers http.Header) <-chan rawReply {
	out := make(chan rawReply, 1)
	go func() {
		r, err := tryRaw(method, url, body, headers)
		r.err = err
		out <- r
	}()
	return out
}

func tryRaw(method, url string, body []byte, headers http.Header) (rawReply, error) {
	ctx, cancel := context.WithTimeout(context.Background(), adaptertest.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return rawReply{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	maps.Copy(req.Header, headers)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return rawReply{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return rawReply{}, err
	}
	return rawReply{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// initializeRaw initializes a session with body by hand and returns its
// id.
func initializeRaw(t *testing.T, url, body string) string {
	t.Helper()
	r := sendRaw(t, http.MethodPost, url, []byte(body), nil)
	sid := r.header.Get(hdrSessionID)
	if r.status != http.StatusOK || sid == "" {
		t.Fatalf("initialize: %d %s, session %q", r.status, r.body, sid)
	}
	return sid
}

// sseMessage returns the JSON-RPC message of an answer: its body if JSON,
// else the data of its first message event.
func (r rawReply) message() []byte {
	mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	if mt != "text/event-stream" {
		return r.body
	}
	for ev, err := range readEvents(bytes.NewReader(r.body)) {
		if err != nil {
			return nil
		}
		if ev.name == "" || ev.name == "message" {
			return ev.data
		}
	}
	return nil
}
