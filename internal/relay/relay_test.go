package relay_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/eventstore"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/mcpsession/mcpsession/internal/events"
	"github.com/mcpsession/mcpsession/internal/msgbus"
	"github.com/mcpsession/mcpsession/internal/relay"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

const wait = 30 * time.Second

// replica is one process: its own store (pool), bus, event store and
// relay, and an HTTP server whose GET the relay serves.
type replica struct {
	store    *sqlstore.Store
	bus      *msgbus.Bus
	events   *events.Store
	relay    *relay.Relay
	injected chan injection
	ended    chan string
	canceled chan injection
	srv      *httptest.Server
}

type injection struct {
	session string
	msg     string
}

// go-sdk's event ids, "<stream>_<pos>", which the tests use.
func eventID(stream string, ev events.Event) string {
	return stream + "_" + strconv.FormatInt(ev.Pos, 10)
}

func resolve(_ context.Context, _ string, id string) (string, int64, error) {
	stream, pos, ok := strings.Cut(id, "_")
	n, err := strconv.ParseInt(pos, 10, 64)
	if !ok || err != nil {
		return "", 0, relay.ErrUnknownEventID
	}
	return stream, n, nil
}

func newReplica(t *testing.T, dsn string, opts ...eventstore.Option) *replica {
	t.Helper()
	s := testdb.OpenStore(t, dsn)
	b := adaptertest.StartBus(t, s)
	e, err := eventstore.New(s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	rep := &replica{store: s, bus: (*msgbus.Bus)(b), events: (*events.Store)(e), injected: make(chan injection, 16), ended: make(chan string, 16), canceled: make(chan injection, 16)}
	rep.relay, err = relay.New(relay.Config{
		Name: "test", Bus: (*msgbus.Bus)(b), Events: (*events.Store)(e),
		EventID: eventID, ResolveEventID: resolve,
		Inject: func(session string, msg []byte) { rep.injected <- injection{session, string(msg)} },
		Ended:  func(session string) { rep.ended <- session },
		Cancel: func(session string, msg []byte) { rep.canceled <- injection{session, string(msg)} },
	})
	if err != nil {
		t.Fatal(err)
	}
	rep.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep.relay.ServeGET(w, r, r.Header.Get("Mcp-Session-Id"))
	}))
	t.Cleanup(func() {
		rep.srv.CloseClientConnections()
		rep.srv.Close()
		sctx, scancel := context.WithTimeout(context.Background(), wait)
		defer scancel()
		if err := rep.relay.Shutdown(sctx); err != nil {
			t.Error(err)
		}
	})
	return rep
}

func session(t *testing.T, s *sqlstore.Store) string {
	t.Helper()
	id := mcpsession.NewID()
	if err := s.Create(t.Context(), id, nil); err != nil {
		t.Fatal(err)
	}
	return id
}

// openGET opens a GET stream of sid on url, resuming after lastEventID
// when it is not "", and waits for its status.
func openGET(t *testing.T, url, sid, lastEventID string) (*adaptertest.SSE, int) {
	t.Helper()
	s := adaptertest.GetSSE(t, url, sid, lastEventID)
	return s, s.Status(t)
}

// The ids of server-to-client requests name the replica that sent them,
// and only that replica gets the SDK's id back.
func TestWireIDs(t *testing.T) {
	t.Parallel()
	dsn := testdb.SQLiteFile(t)
	a, b := newReplica(t, dsn), newReplica(t, dsn)
	for _, orig := range []string{`7`, `-3`, `"abc/def"`} {
		wire := a.relay.OutgoingID(json.RawMessage(orig))
		if string(wire) == orig || !strings.Contains(string(wire), a.relay.Replica()) {
			t.Errorf("OutgoingID(%s) = %s", orig, wire)
		}
		if back, ok := a.relay.RestoreID(wire); !ok || string(back) != orig {
			t.Errorf("RestoreID(%s) = %s, %v; want %s", wire, back, ok, orig)
		}
		if _, ok := b.relay.RestoreID(wire); ok || !b.relay.ForeignID(wire) {
			t.Errorf("replica b restored a's wire id %s", wire)
		}
		if again := a.relay.OutgoingID(wire); string(again) != string(wire) {
			t.Errorf("a wire id rewritten twice: %s", again)
		}
	}
	for _, msg := range []string{
		`{"jsonrpc":"2.0","method":"notifications/message","params":{"id":1}}`,
		`{"jsonrpc":"2.0","id":1,"result":{}}`,
		`not json`,
	} {
		if got := a.relay.RewriteOutgoing([]byte(msg)); string(got) != msg {
			t.Errorf("RewriteOutgoing changed %s into %s", msg, got)
		}
	}
	got := a.relay.RewriteOutgoing([]byte(`{"jsonrpc":"2.0","id":5,"method":"elicitation/create","params":{}}`))
	var m struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatal(err)
	}
	if back, ok := a.relay.RestoreID(m.ID); !ok || string(back) != "5" {
		t.Errorf("a rewritten request's id %s restores to %s", m.ID, back)
	}
}

// An answer POSTed to the replica that did not ask reaches the one that
// did, with the SDK's id; answers of the replica itself keep their place
// in the body, restored; other bodies pass untouched.
func TestRouteResponses(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		a, b := newReplica(t, dsn), newReplica(t, dsn)
		sid := session(t, a.store)
		ctx := t.Context()
		wire := string(a.relay.OutgoingID(json.RawMessage(`42`)))
		answer := `{"jsonrpc":"2.0","id":` + wire + `,"result":{"content":{"type":"text","text":"hi"}}}`
		rest, err := b.relay.RouteResponses(ctx, sid, []byte(answer))
		if err != nil || rest != nil {
			t.Fatalf("RouteResponses on b = %s, %v; want nothing left", rest, err)
		}
		select {
		case in := <-a.injected:
			var got struct {
				ID     int             `json:"id"`
				Result json.RawMessage `json:"result"`
			}
			if in.session != sid || json.Unmarshal([]byte(in.msg), &got) != nil || got.ID != 42 || !strings.Contains(string(got.Result), "hi") {
				t.Fatalf("a was handed %+v", in)
			}
		case <-time.After(wait):
			t.Fatal("the answer did not reach replica a")
		}

		rest, err = a.relay.RouteResponses(ctx, sid, []byte(`[`+answer+`,{"jsonrpc":"2.0","id":9,"result":{}}]`))
		if err != nil {
			t.Fatal(err)
		}
		var kept []struct {
			ID int `json:"id"`
		}
		if err := json.Unmarshal(rest, &kept); err != nil || len(kept) != 2 || kept[0].ID != 42 || kept[1].ID != 9 {
			t.Fatalf("RouteResponses on a = %s, %v; want both kept, the first restored to 42", rest, err)
		}
		for _, body := range []string{`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, `{"jsonrpc":"2.0","id":` + wire + `}`, `garbage`} {
			if rest, err := b.relay.RouteResponses(ctx, sid, []byte(body)); err != nil || string(rest) != body {
				t.Errorf("RouteResponses(%s) = %s, %v; want it untouched", body, rest, err)
			}
		}
		select {
		case in := <-a.injected:
			t.Fatalf("something else was injected: %+v", in)
		default:
		}
	})
}

// A Call made on one replica goes out on the GET stream another replica
// serves, and its answer, POSTed to that other replica, completes it.
func TestCallAcrossReplicas(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		a, b := newReplica(t, dsn), newReplica(t, dsn)
		sid := session(t, a.store)
		get, status := openGET(t, b.srv.URL, sid, "")
		if status != http.StatusOK {
			t.Fatalf("GET: %d", status)
		}
		if prime := get.Next(t); prime.Name != "prime" || prime.ID == "" {
			t.Fatalf("first event %+v; want a priming event with an id", prime)
		}
		type outcome struct {
			result json.RawMessage
			err    error
		}
		results := make(chan outcome, 2)
		for _, text := range []string{"ok", "fail"} {
			go func() {
				res, err := a.relay.Call(t.Context(), sid, "sampling/createMessage", map[string]any{"prompt": text})
				results <- outcome{res, err}
			}()
			req := get.NextMessage(t)
			var m struct {
				ID     json.RawMessage `json:"id"`
				Method string          `json:"method"`
				Params struct {
					Prompt string `json:"prompt"`
				} `json:"params"`
			}
			if err := json.Unmarshal([]byte(req.Data), &m); err != nil || m.Method != "sampling/createMessage" || m.Params.Prompt != text {
				t.Fatalf("request on the stream: %+v", req)
			}
			answer := `{"jsonrpc":"2.0","id":` + string(m.ID) + `,"result":{"text":"sampled"}}`
			if text == "fail" {
				answer = `{"jsonrpc":"2.0","id":` + string(m.ID) + `,"error":{"code":-1,"message":"user refused"}}`
			}
			if rest, err := b.relay.RouteResponses(t.Context(), sid, []byte(answer)); err != nil || rest != nil {
				t.Fatalf("RouteResponses = %s, %v", rest, err)
			}
			var got outcome
			select {
			case got = <-results:
			case <-time.After(wait):
				t.Fatal("the Call did not complete")
			}
			var rpcErr *relay.RPCError
			switch {
			case text == "ok" && (got.err != nil || !strings.Contains(string(got.result), "sampled")):
				t.Fatalf("Call = %s, %v", got.result, got.err)
			case text == "fail" && (!errors.As(got.err, &rpcErr) || rpcErr.Message != "user refused"):
				t.Fatalf("Call answered with an error = %s, %v; want the RPCError", got.result, got.err)
			}
		}
	})
}

// Notifications from one replica reach the GET stream another serves, in
// order, with ids; after the stream drops, Last-Event-ID on the first
// replica replays exactly what was missed, then follows live.
func TestNotifyAndResume(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		a, b := newReplica(t, dsn), newReplica(t, dsn)
		sid := session(t, a.store)
		ctx := t.Context()
		notify := func(n int) {
			t.Helper()
			if err := a.relay.Notify(ctx, sid, "notifications/message", map[string]any{"data": n}); err != nil {
				t.Fatal(err)
			}
		}
		get, status := openGET(t, b.srv.URL, sid, "")
		if status != http.StatusOK {
			t.Fatalf("GET: %d", status)
		}
		get.Next(t) // the priming event
		var last string
		for i := range 3 {
			notify(i)
			ev := get.NextMessage(t)
			if want := fmt.Sprintf(`{"jsonrpc":"2.0","method":"notifications/message","params":{"data":%d}}`, i); ev.Data != want || ev.ID == "" {
				t.Fatalf("event %d: %+v; want data %s with an id", i, ev, want)
			}
			last = ev.ID
		}
		get.Close()
		for i := 3; i < 6; i++ {
			notify(i)
		}
		resumed, status := openGET(t, a.srv.URL, sid, last)
		if status != http.StatusOK {
			t.Fatalf("GET with Last-Event-ID on a: %d", status)
		}
		notify(6)
		for i := 3; i < 7; i++ {
			ev := resumed.NextMessage(t)
			if want := fmt.Sprintf(`"data":%d}`, i); !strings.Contains(ev.Data, want) {
				t.Fatalf("after resuming, event %d: %+v", i, ev)
			}
		}
		if more := resumed.Pending(); len(more) > 0 {
			t.Fatalf("events beyond what was sent: %+v", more)
		}
		if status := mustStatus(t, a.srv.URL, sid, "nope_1"); status != http.StatusBadRequest {
			t.Errorf("unknown Last-Event-ID: %d; want 400", status)
		}
		if err := a.relay.Notify(ctx, mcpsession.NewID(), "notifications/message", nil); !errors.Is(err, mcpsession.ErrNotFound) {
			t.Errorf("Notify to no session: %v; want ErrNotFound", err)
		}
		if err := a.relay.Notify(ctx, sid, "", nil); !errors.Is(err, relay.ErrInvalidNotification) {
			t.Errorf("Notify without a method: %v", err)
		}
	})
}

func mustStatus(t *testing.T, url, sid, lastEventID string) int {
	t.Helper()
	return adaptertest.GetSSE(t, url, sid, lastEventID).Status(t)
}

// A POST's stream, resumed on another replica while the first still
// writes it, follows it to its response and ends there.
func TestResumeFollowsAPostStream(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		a, b := newReplica(t, dsn), newReplica(t, dsn)
		sid := session(t, a.store)
		ctx := t.Context()
		appendTo := func(data string) events.Event {
			t.Helper()
			ev, err := a.relay.Append(ctx, sid, "post1", []byte(data))
			if err != nil {
				t.Fatal(err)
			}
			return ev
		}
		first := appendTo(`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}`)
		appendTo(`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":2}}`)
		get, status := openGET(t, b.srv.URL, sid, eventID("post1", first))
		if status != http.StatusOK {
			t.Fatalf("GET: %d", status)
		}
		if ev := get.NextMessage(t); !strings.Contains(ev.Data, `"progress":2`) || ev.ID != "post1_1" {
			t.Fatalf("replayed %+v", ev)
		}
		appendTo(`{"jsonrpc":"2.0","id":3,"result":{"done":true}}`)
		if ev := get.NextMessage(t); !strings.Contains(ev.Data, `"done":true`) {
			t.Fatalf("followed %+v", ev)
		}
		get.AwaitEnd(t, wait)
	})
}

// A session deleted on one replica has its streams on the others ended,
// its Calls failed, and the adapter told.
func TestSessionEnded(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		a, b := newReplica(t, dsn), newReplica(t, dsn)
		sid := session(t, a.store)
		get, status := openGET(t, b.srv.URL, sid, "")
		if status != http.StatusOK {
			t.Fatalf("GET: %d", status)
		}
		get.Next(t)
		callDone := make(chan error, 1)
		go func() {
			_, err := b.relay.Call(context.Background(), sid, "roots/list", nil)
			callDone <- err
		}()
		get.NextMessage(t) // the Call's request: it waits now
		if err := a.store.Delete(t.Context(), sid); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		a.relay.SessionEnded(t.Context(), sid)
		get.AwaitEnd(t, wait)
		t.Logf("the stream on b ended %v after the session ended on a", time.Since(start))
		select {
		case err := <-callDone:
			if !errors.Is(err, relay.ErrSessionEnded) {
				t.Errorf("Call: %v; want ErrSessionEnded", err)
			}
		case <-time.After(wait):
			t.Fatal("the Call did not end")
		}
		select {
		case got := <-b.ended:
			if got != sid {
				t.Errorf("Ended(%q)", got)
			}
		case <-time.After(wait):
			t.Fatal("b's adapter was not told")
		}
		if status := mustStatus(t, b.srv.URL, sid, ""); status != http.StatusNotFound {
			t.Errorf("GET after the end: %d; want 404", status)
		}
	})
}

// Replaying from a position whose successors were dropped is 400, not a
// silent gap.
func TestResumePurged(t *testing.T) {
	t.Parallel()
	dsn := testdb.SQLiteFile(t)
	a := newReplica(t, dsn, eventstore.WithMaxEvents(4))
	sid := session(t, a.store)
	for i := range 20 {
		if err := a.relay.Notify(t.Context(), sid, "notifications/message", map[string]any{"data": i}); err != nil {
			t.Fatal(err)
		}
	}
	if status := mustStatus(t, a.srv.URL, sid, "_1"); status != http.StatusBadRequest {
		t.Errorf("resuming from a dropped position: %d; want 400", status)
	}
}

// A notification broadcast on one replica reaches the listen streams of
// every replica that opted in to it, tagged with their subscription id,
// and no other.
func TestBroadcastToListenStreams(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		a, b := newReplica(t, dsn), newReplica(t, dsn)
		// An SDK's subscriptions/listen handler: the acknowledgement, then
		// nothing until the client goes.
		acked := make(chan struct{})
		listen := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			lw, stop := b.relay.Listen(w)
			defer stop()
			lw.Header().Set("Content-Type", "text/event-stream")
			lw.WriteHeader(http.StatusOK)
			fmt.Fprint(lw, `event: message`+"\n"+`data: {"jsonrpc":"2.0","method":"notifications/subscriptions/acknowledged",`)
			fmt.Fprint(lw, `"params":{"notifications":{"toolsListChanged":true,"resourceSubscriptions":["file:///a"]},"_meta":{"io.modelcontextprotocol/subscriptionId":9}}}`+"\n\n")
			lw.(http.Flusher).Flush()
			close(acked)
			<-r.Context().Done()
		}))
		defer func() {
			listen.CloseClientConnections()
			listen.Close()
		}()
		s, status := openGET(t, listen.URL, "", "")
		if status != http.StatusOK {
			t.Fatal(status)
		}
		if ev := s.NextMessage(t); !strings.Contains(ev.Data, "acknowledged") {
			t.Fatalf("first event %+v", ev)
		}
		<-acked
		ctx := t.Context()
		for _, n := range []struct {
			method, uri string
		}{
			{"notifications/prompts/list_changed", ""},
			{"notifications/resources/updated", "file:///b"},
			{"notifications/tools/list_changed", ""},
			{"notifications/resources/updated", "file:///a"},
		} {
			var params any
			if n.uri != "" {
				params = map[string]string{"uri": n.uri}
			}
			if err := a.relay.Broadcast(ctx, n.method, params); err != nil {
				t.Fatal(err)
			}
		}
		for _, want := range []string{"tools/list_changed", `"uri":"file:///a"`} {
			ev := s.NextMessage(t)
			if !strings.Contains(ev.Data, want) || !strings.Contains(ev.Data, `"io.modelcontextprotocol/subscriptionId":9`) {
				t.Fatalf("received %+v; want %s tagged with subscription 9", ev, want)
			}
		}
		if err := a.relay.Broadcast(ctx, "notifications/message", nil); !errors.Is(err, relay.ErrInvalidNotification) {
			t.Errorf("Broadcast of a method no listen stream opts in to: %v", err)
		}
	})
}

// What was sent to the standalone stream while no GET had it open (a
// server-to-client request made before the client's GET was up, a
// notification between two GETs) is delivered by the next GET without
// Last-Event-ID, before what comes after it: at least once (what the
// previous GET of the session had may come again; a client that resumes
// with Last-Event-ID gets each event once).
func TestFreshGETDeliversWhatWaited(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		a, b := newReplica(t, dsn), newReplica(t, dsn)
		sid := session(t, a.store)
		ctx := t.Context()
		notify := func(n int) {
			t.Helper()
			if err := a.relay.Notify(ctx, sid, "notifications/message", map[string]any{"data": n}); err != nil {
				t.Fatal(err)
			}
		}
		wantNext := func(s *adaptertest.SSE, n int) {
			t.Helper()
			if ev := s.NextMessage(t); !strings.Contains(ev.Data, fmt.Sprintf(`"data":%d}`, n)) {
				t.Fatalf("event: %+v; want data %d", ev, n)
			}
		}
		notify(0) // before any GET
		notify(1)
		first, status := openGET(t, b.srv.URL, sid, "")
		if status != http.StatusOK {
			t.Fatalf("GET: %d", status)
		}
		wantNext(first, 0)
		wantNext(first, 1)
		notify(2)
		wantNext(first, 2)
		first.Close()
		notify(3) // between two GETs
		second, status := openGET(t, a.srv.URL, sid, "")
		if status != http.StatusOK {
			t.Fatalf("second GET: %d", status)
		}
		if ev := second.NextMessage(t); strings.Contains(ev.Data, `"data":2}`) {
			wantNext(second, 3) // 2 again, since the first GET opened: at least once
		} else if !strings.Contains(ev.Data, `"data":3}`) {
			t.Fatalf("second GET: %+v; want data 3 (after, perhaps, 2 again)", ev)
		}
		notify(4)
		wantNext(second, 4)
		if more := second.Pending(); len(more) > 0 {
			t.Fatalf("events beyond what was sent: %+v", more)
		}
	})
}

// A notifications/cancelled received by one replica reaches every other
// replica's SDK, and not its own, which the adapter handed it already.
func TestCancelledReachesTheOtherReplicas(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		a, b, c := newReplica(t, dsn), newReplica(t, dsn), newReplica(t, dsn)
		sid := session(t, a.store)
		msg := `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7,"reason":"user"}}`
		if !relay.IsCancelled([]byte(msg)) {
			t.Fatal("IsCancelled: false for a notifications/cancelled")
		}
		for _, other := range []string{`{"jsonrpc":"2.0","id":1,"method":"notifications/cancelled"}`, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, `nope`} {
			if relay.IsCancelled([]byte(other)) {
				t.Errorf("IsCancelled(%s) = true", other)
			}
		}
		if err := a.relay.Cancelled(t.Context(), sid, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		for name, r := range map[string]*replica{"b": b, "c": c} {
			select {
			case got := <-r.canceled:
				if got.session != sid || got.msg != msg {
					t.Errorf("%s was handed %+v", name, got)
				}
			case <-time.After(wait):
				t.Fatalf("the cancellation did not reach replica %s", name)
			}
		}
		// b's and c's deliveries prove the message was delivered; a's own
		// copy, if the bus gave it one, was dropped by then or never comes.
		if err := b.relay.Cancelled(t.Context(), sid, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-a.canceled:
		case <-time.After(wait):
			t.Fatal("b's cancellation did not reach a")
		}
		select {
		case got := <-a.canceled:
			t.Fatalf("a was handed its own cancellation: %+v", got)
		case got := <-b.canceled:
			t.Fatalf("b was handed its own cancellation: %+v", got)
		default:
		}
	})
}
