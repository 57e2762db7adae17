package adaptertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/eventstore"
	"github.com/mcpsession/mcpsession/internal/msgbus"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// StreamsAdapter is an SDK adapter under RunStreams: how to serve a
// replica with streams across replicas.
type StreamsAdapter struct {
	// Serve starts a replica named name over the database at dsn (with
	// NewStreams, or as the adapter's user does) and returns it; it stops
	// when t ends. Its server has the tools of the example server:
	// "sample", which asks the client with sampling/createMessage for
	// arguments["prompt"] (as one user text message) and answers the
	// sampled text, and "notify", which sends notifications/message with
	// data arguments["message"] to the session's GET stream through the
	// adapter's Notify and answers "sent"; and tools list changes to
	// announce (the tools capability's listChanged).
	Serve func(t *testing.T, name, dsn string) StreamsReplica
	// DeleteStatus is what the adapter answers a DELETE.
	DeleteStatus int
	// CommentFirst says its GET streams start with an SSE comment, as
	// go-sdk's do, not with a priming event that carries an id.
	CommentFirst bool
	// NumberedIDs says its server-to-client requests carry numbers, as
	// the SDK numbers them, unique in the session across replicas, not
	// wire ids naming a replica ("mcpsession/…").
	NumberedIDs bool
	// Asks are the server-to-client requests its replicas' tool "ask"
	// sends with the SDK's own API, by arguments["method"]
	// ("elicitation/create", "roots/list", "ping"), answering what
	// AskAnswers says; nil skips the test.
	Asks []string
	// QuietGET says that a GET stream starts with no event, as mcp-go's
	// own does, rather than with a priming event: the tests take its
	// headers for its start.
	QuietGET bool
}

// AskAnswers are, by method, a client's answer (result) to the requests of
// the "ask" tool, and the text the tool then answers.
var AskAnswers = map[string]struct {
	Result map[string]any
	Text   string
}{
	"elicitation/create": {map[string]any{"action": "accept", "content": map[string]any{}}, "accept"},
	"roots/list":         {map[string]any{"roots": []any{map[string]any{"uri": "file:///root", "name": "root"}}}, "file:///root"},
	"ping":               {map[string]any{}, "pong"},
}

// Streams is what a replica serves over: its store, its bus (running) and
// its event store, all on one database.
type Streams struct {
	Store  *sqlstore.Store
	Bus    *bus.Bus
	Events *eventstore.Store
}

// StreamsReplica is a replica Serve started.
type StreamsReplica struct {
	URL string
	// Broadcast is the adapter's Broadcast; nil skips the listen test.
	Broadcast func(ctx context.Context, method string, params any) error
}

// StartBus runs a Bus over store until t ends, and returns it once it is
// ready.
func StartBus(t testing.TB, store *sqlstore.Store, opts ...bus.Option) *bus.Bus {
	t.Helper()
	b, err := bus.New(store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("bus: %v", err)
		}
	})
	select {
	case <-(*msgbus.Bus)(b).Ready():
	case <-time.After(Timeout):
		t.Fatal("the bus was not ready in time")
	}
	return b
}

// NewStreams opens a store on dsn (migrated) with a running bus and an
// event store: what one replica serves over.
func NewStreams(t testing.TB, dsn string) Streams {
	t.Helper()
	s := testdb.OpenStore(t, dsn)
	e, err := eventstore.New(s)
	if err != nil {
		t.Fatal(err)
	}
	return Streams{Store: s, Bus: StartBus(t, s), Events: e}
}

// RunStreams checks the streams across replicas every adapter serves
// alike, with raw HTTP, each on a SQLite file (the bus polls) and on
// Postgres (LISTEN/NOTIFY): two replicas over one database, a the one the
// client calls, b the other.
func RunStreams(t *testing.T, a StreamsAdapter) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, StreamsAdapter, StreamsReplica, StreamsReplica)
	}{
		{"SampleAnsweredOnEitherReplica", sampleAcrossReplicas},
		{"RequestsAnsweredOnTheOtherReplica", askAcrossReplicas},
		{"NotifyReachesTheStreamAndResumes", notifyAcrossReplicas},
		{"DeleteEndsStreamsEverywhere", deleteEndsStreams},
		{"BroadcastReachesListenStreams", broadcastToListen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testdb.Each(t, func(t *testing.T, dsn string) {
				ra, rb := a.Serve(t, "a", dsn), a.Serve(t, "b", dsn)
				tc.fn(t, a, ra, rb)
			})
		})
	}
}

// InitializeSampling runs initialize and notifications/initialized for a
// client that can sample, and returns the session id.
func InitializeSampling(t testing.TB, url string) string {
	t.Helper()
	r := Post(t, url, "", map[string]any{
		"jsonrpc": "2.0", "id": NextID(), "method": "initialize",
		"params": map[string]any{
			"protocolVersion": LegacyVersion,
			"clientInfo":      map[string]any{"name": "streams", "version": "1.0"},
			"capabilities": map[string]any{"sampling": map[string]any{}, "elicitation": map[string]any{},
				"roots": map[string]any{"listChanged": false}},
		},
	})
	sid := r.Header.Get(HeaderSessionID)
	if r.Status != http.StatusOK || sid == "" {
		t.Fatalf("initialize: %d %s", r.Status, r.Body)
	}
	if r := Post(t, url, sid, map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"}); r.Status != http.StatusAccepted {
		t.Fatalf("notifications/initialized: %d %s", r.Status, r.Body)
	}
	return sid
}

// SamplingAnswer is a client's answer to a sampling/createMessage with id.
func SamplingAnswer(id json.RawMessage, text string) map[string]any {
	return map[string]any{"jsonrpc": "2.0", "id": id, "result": map[string]any{
		"role": "assistant", "model": "test",
		"content": map[string]any{"type": "text", "text": text},
	}}
}

// toolCall is a tools/call request.
func toolCall(name string, args map[string]any) map[string]any {
	return map[string]any{"jsonrpc": "2.0", "id": NextID(), "method": "tools/call",
		"params": map[string]any{"name": name, "arguments": args}}
}

// A sample call on a, whose sampling request goes out on the POST's stream
// (go-sdk) or the GET stream open on b (mcp-go), completes when the answer
// is POSTed to b, and again to a.
func sampleAcrossReplicas(t *testing.T, ad StreamsAdapter, a, b StreamsReplica) {
	sid := InitializeSampling(t, a.URL)
	get := GetSSE(t, b.URL, sid, "")
	if get.Status(t) != http.StatusOK {
		t.Fatalf("GET on b: %d", get.Status(t))
	}
	for round, answerOn := range []StreamsReplica{b, a} {
		prompt := fmt.Sprintf("prompt %d", round)
		call := PostSSE(t, a.URL, sid, nil, toolCall("sample", map[string]any{"prompt": prompt}))
		req, via := nextRequest(t, call, get)
		var params struct {
			Messages []struct {
				Content struct {
					Text string `json:"text"`
				} `json:"content"`
			} `json:"messages"`
		}
		if req.Method != "sampling/createMessage" || json.Unmarshal(req.Params, &params) != nil ||
			len(params.Messages) != 1 || params.Messages[0].Content.Text != prompt {
			t.Fatalf("request on the %s stream: %s %s", via, req.Method, req.Params)
		}
		if !ad.routableID(req.ID) {
			t.Errorf("the request's id %s names no replica", req.ID)
		}
		if r := Post(t, answerOn.URL, sid, SamplingAnswer(req.ID, "sampled: "+prompt)); r.Status != http.StatusAccepted {
			t.Fatalf("the answer: %d %s", r.Status, r.Body)
		}
		if got := callText(t, call); got != "sampled: "+prompt {
			t.Fatalf("sample's answer: %q", got)
		}
		t.Logf("round %d: the sampling request came on the %s stream; answered on %s; sample completed", round, via, map[bool]string{true: "b", false: "a"}[round == 0])
	}
}

// routableID reports whether id is what the adapter's server-to-client
// requests carry: a wire id naming a replica, or (NumberedIDs) a number.
func (a StreamsAdapter) routableID(id json.RawMessage) bool {
	if a.NumberedIDs {
		var n int64
		return json.Unmarshal(id, &n) == nil && n > 0
	}
	return strings.Contains(string(id), "mcpsession/")
}

// nextRequest returns the first server-to-client request on either
// stream, and which stream carried it.
func nextRequest(t *testing.T, call, get *SSE) (Message, string) {
	t.Helper()
	for {
		var ev Event
		var via string
		select {
		case ev = <-call.Events():
			via = "POST"
		case ev = <-get.Events():
			via = "GET"
		case <-call.Ended():
			t.Fatal("the call's stream ended before a request")
		case <-get.Ended():
			t.Fatal("the GET stream ended before a request")
		case <-time.After(Timeout):
			t.Fatal("no request on either stream")
		}
		if ev.Data == "" {
			continue
		}
		m := ev.Message(t)
		if m.Method == "" {
			t.Fatalf("the call answered before asking: %s", ev.Data)
		}
		return m, via
	}
}

// callText waits for the tool call's answer on its stream and returns its
// text, failing t on an error.
func callText(t *testing.T, call *SSE) string {
	t.Helper()
	for {
		m := call.NextMessage(t).Message(t)
		if m.Result == nil && m.Error == nil {
			continue
		}
		var res struct {
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
			IsError bool `json:"isError"`
		}
		if json.Unmarshal(m.Result, &res) != nil || res.IsError || len(res.Content) == 0 {
			t.Fatalf("the tool's answer: %s %s", m.Result, m.Error)
		}
		return res.Content[0].Text
	}
}

// The other server-to-client requests (elicitation, roots, ping), each
// sent by a handler on a with the SDK's own API and answered on b.
func askAcrossReplicas(t *testing.T, ad StreamsAdapter, a, b StreamsReplica) {
	if len(ad.Asks) == 0 {
		t.Skip("the replicas have no ask tool")
	}
	sid := InitializeSampling(t, a.URL)
	get := GetSSE(t, b.URL, sid, "")
	if get.Status(t) != http.StatusOK {
		t.Fatalf("GET on b: %d", get.Status(t))
	}
	for _, method := range ad.Asks {
		call := PostSSE(t, a.URL, sid, nil, toolCall("ask", map[string]any{"method": method}))
		req, via := nextRequest(t, call, get)
		if req.Method != method || !ad.routableID(req.ID) {
			t.Fatalf("request %s %s on the %s stream; want %s with a wire id", req.Method, req.ID, via, method)
		}
		answer := AskAnswers[method]
		if r := Post(t, b.URL, sid, map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": answer.Result}); r.Status != http.StatusAccepted {
			t.Fatalf("the answer to %s on b: %d %s", method, r.Status, r.Body)
		}
		if got := callText(t, call); got != answer.Text {
			t.Fatalf("ask %s: %q; want %q", method, got, answer.Text)
		}
		t.Logf("%s: on the %s stream, answered on b", method, via)
	}
}

// notify on a reaches the GET stream open on b, with an id; after the
// stream drops, Last-Event-ID on a replays the missed notifications in
// order, then follows live what b sends.
func notifyAcrossReplicas(t *testing.T, ad StreamsAdapter, a, b StreamsReplica) {
	sid := Initialize(t, a.URL, "c", LegacyVersion)
	get := GetSSE(t, b.URL, sid, "")
	if get.Status(t) != http.StatusOK {
		t.Fatalf("GET on b: %d", get.Status(t))
	}
	if !ad.CommentFirst && !ad.QuietGET {
		if prime := get.Next(t); prime.ID == "" {
			t.Fatalf("the first event %+v has no id to resume from", prime)
		}
	}
	notify := func(on StreamsReplica, msg string) {
		t.Helper()
		if got := Tool(t, on.URL, sid, "notify", map[string]any{"message": msg}); got != "sent" {
			t.Fatalf("notify: %s", got)
		}
	}
	notify(a, "m1")
	last := ExpectNotification(t, get, "m1").ID
	get.Close()
	notify(a, "m2")
	notify(b, "m3")
	resumed := GetSSE(t, a.URL, sid, last)
	if status := resumed.Status(t); status != http.StatusOK {
		t.Fatalf("GET with Last-Event-ID on a: %d", status)
	}
	ExpectNotification(t, resumed, "m2")
	ExpectNotification(t, resumed, "m3")
	notify(b, "m4")
	ExpectNotification(t, resumed, "m4")
	if more := resumed.Pending(); len(more) > 0 {
		t.Errorf("events beyond what was sent: %+v", more)
	}
	if status := GetSSE(t, a.URL, sid, "unknown-id").Status(t); status != http.StatusBadRequest {
		t.Errorf("GET with an unknown Last-Event-ID: %d; want 400", status)
	}
}

// ExpectNotification reads the next message of s, which must be the
// notify tool's notifications/message with data msg, with an event id.
func ExpectNotification(t testing.TB, s *SSE, msg string) Event {
	t.Helper()
	ev := s.NextMessage(t)
	m := ev.Message(t)
	var p struct {
		Data string `json:"data"`
	}
	if m.Method != "notifications/message" || json.Unmarshal(m.Params, &p) != nil || p.Data != msg || ev.ID == "" {
		t.Fatalf("got %+v; want notifications/message with data %q and an id", ev, msg)
	}
	return ev
}

// DELETE on a ends the session's GET stream open on b.
func deleteEndsStreams(t *testing.T, ad StreamsAdapter, a, b StreamsReplica) {
	sid := Initialize(t, a.URL, "c", LegacyVersion)
	get := GetSSE(t, b.URL, sid, "")
	if get.Status(t) != http.StatusOK {
		t.Fatalf("GET on b: %d", get.Status(t))
	}
	if !ad.CommentFirst && !ad.QuietGET {
		get.Next(t) // open: its priming event came
	}
	if r := Send(t, http.MethodDelete, a.URL, sid); r.Status != ad.DeleteStatus {
		t.Fatalf("DELETE on a: %d", r.Status)
	}
	took := get.AwaitEnd(t, 10*time.Second) // the touch interval is a minute
	t.Logf("the GET stream on b ended %v after the DELETE on a answered", took)
}

// Broadcast on a reaches a subscriptions/listen stream (2026-07-28) open
// on b, tagged with its subscription id, and only with what it opted in
// to.
func broadcastToListen(t *testing.T, _ StreamsAdapter, a, b StreamsReplica) {
	if a.Broadcast == nil {
		t.Skip("the replicas offer no Broadcast")
	}
	const modern = "2026-07-28"
	header := http.Header{HeaderProtocolVersion: {modern}, "Mcp-Method": {"subscriptions/listen"}}
	listen := PostSSE(t, b.URL, "", header, map[string]any{
		"jsonrpc": "2.0", "id": 77, "method": "subscriptions/listen",
		"params": map[string]any{
			"notifications": map[string]any{"toolsListChanged": true},
			"_meta": map[string]any{
				"io.modelcontextprotocol/protocolVersion":    modern,
				"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "listener", "version": "1.0"},
				"io.modelcontextprotocol/clientCapabilities": map[string]any{},
			},
		},
	})
	if status := listen.Status(t); status != http.StatusOK {
		t.Fatalf("subscriptions/listen on b: %d", status)
	}
	if m := listen.NextMessage(t).Message(t); m.Method != "notifications/subscriptions/acknowledged" {
		t.Fatalf("first message on the listen stream: %s %s", m.Method, m.Params)
	}
	ctx := t.Context()
	for _, n := range []struct{ method, uri string }{
		{"notifications/resources/updated", "file:///not-subscribed"},
		{"notifications/prompts/list_changed", ""},
		{"notifications/tools/list_changed", ""},
	} {
		var params any
		if n.uri != "" {
			params = map[string]any{"uri": n.uri}
		}
		if err := a.Broadcast(ctx, n.method, params); err != nil {
			t.Fatal(err)
		}
	}
	// Broadcasts arrive in order: the first to arrive must be the one
	// opted in to.
	m := listen.NextMessage(t).Message(t)
	var p struct {
		Meta map[string]any `json:"_meta"`
	}
	if m.Method != "notifications/tools/list_changed" || json.Unmarshal(m.Params, &p) != nil || p.Meta["io.modelcontextprotocol/subscriptionId"] != float64(77) {
		t.Fatalf("on the listen stream: %s %s; want tools/list_changed tagged with subscription 77", m.Method, m.Params)
	}
}

// Notifier is what an adapter's Sessions sends clients with.
type Notifier interface {
	Notify(ctx context.Context, sessionID, method string, params any) error
	Broadcast(ctx context.Context, method string, params any) error
}

// NotifyRefusals checks what Notify and Broadcast refuse: everything
// without streams across replicas (plain), with mcpsession.ErrNoStreams;
// with them (s), an empty method, a session that is not live and a
// method no listen stream opts in to.
func NotifyRefusals(t *testing.T, plain, s Notifier) {
	t.Helper()
	ctx := t.Context()
	if err := plain.Notify(ctx, mcpsession.NewID(), "notifications/message", nil); !errors.Is(err, mcpsession.ErrNoStreams) {
		t.Errorf("Notify without streams: %v", err)
	}
	if err := plain.Broadcast(ctx, "notifications/tools/list_changed", nil); !errors.Is(err, mcpsession.ErrNoStreams) {
		t.Errorf("Broadcast without streams: %v", err)
	}
	if err := s.Notify(ctx, mcpsession.NewID(), "", nil); !errors.Is(err, mcpsession.ErrInvalidArgument) {
		t.Errorf("Notify without a method: %v", err)
	}
	if err := s.Notify(ctx, mcpsession.NewID(), "notifications/message", nil); !errors.Is(err, mcpsession.ErrNotFound) {
		t.Errorf("Notify to no session: %v", err)
	}
	if err := s.Broadcast(ctx, "notifications/message", nil); !errors.Is(err, mcpsession.ErrInvalidArgument) {
		t.Errorf("Broadcast of what no listen stream opts in to: %v", err)
	}
}
