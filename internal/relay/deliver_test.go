package relay_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession/eventstore"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/mcpsession/mcpsession/internal/events"
	"github.com/mcpsession/mcpsession/internal/msgbus"
	"github.com/mcpsession/mcpsession/internal/relay"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// newMarkedReplica is newReplica with the options of mcp-go's adapter:
// delivery marks kept in the session's record, GETs that supersede, and
// answers delivered with deliver's verdict.
func newMarkedReplica(t *testing.T, dsn string, deliver func(session string, msg []byte) relay.Verdict) *replica {
	t.Helper()
	s := testdb.OpenStore(t, dsn)
	b := adaptertest.StartBus(t, s)
	e, err := eventstore.New(s)
	if err != nil {
		t.Fatal(err)
	}
	rep := &replica{store: s, bus: (*msgbus.Bus)(b), events: (*events.Store)(e), injected: make(chan injection, 16), ended: make(chan string, 16), canceled: make(chan injection, 16)}
	rep.relay, err = relay.New(relay.Config{
		Name: "test", Bus: (*msgbus.Bus)(b), Events: (*events.Store)(e),
		EventID: eventID, ResolveEventID: resolve,
		Inject:     func(session string, msg []byte) { rep.injected <- injection{session, string(msg)} },
		Deliver:    deliver,
		Deliveries: marks(s),
		Supersede:  true,
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

// marks keeps each session's DeliveryMark under the key "mark" of its
// record, as an adapter does.
func marks(s *sqlstore.Store) func(context.Context, string, func(relay.DeliveryMark) relay.DeliveryMark) (relay.DeliveryMark, error) {
	return func(ctx context.Context, session string, fn func(relay.DeliveryMark) relay.DeliveryMark) (relay.DeliveryMark, error) {
		var before relay.DeliveryMark
		err := s.Modify(ctx, session, func(md map[string]any) (map[string]any, error) {
			before = relay.NoDelivery
			if raw, ok := md["mark"]; ok {
				b, _ := json.Marshal(raw)
				_ = json.Unmarshal(b, &before)
			}
			md["mark"] = fn(before)
			return md, nil
		})
		return before, err
	}
}

// With delivery marks, a GET without Last-Event-ID starts with no event,
// sends first what no GET stream sent, and never what one did, on either
// replica; a GET ends the other GET streams of its stream.
func TestMarkedGETSendsEachEventOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		a, b := newMarkedReplica(t, dsn, nil), newMarkedReplica(t, dsn, nil)
		sid := session(t, a.store)
		notify := func(n int) {
			t.Helper()
			if err := a.relay.Notify(t.Context(), sid, "notifications/message", map[string]any{"data": n}); err != nil {
				t.Fatal(err)
			}
		}
		wantNext := func(s *adaptertest.SSE, n int) {
			t.Helper()
			ev := s.Next(t) // no priming event: the first event is a message
			if !strings.Contains(ev.Data, fmt.Sprintf(`"data":%d}`, n)) {
				t.Fatalf("event %+v; want data %d", ev, n)
			}
		}
		notify(0) // before any GET
		first, status := openGET(t, b.srv.URL, sid, "")
		if status != http.StatusOK {
			t.Fatalf("GET: %d", status)
		}
		wantNext(first, 0)
		notify(1)
		wantNext(first, 1)
		first.Close()

		notify(2) // between two GETs
		second, status := openGET(t, a.srv.URL, sid, "")
		if status != http.StatusOK {
			t.Fatalf("second GET: %d", status)
		}
		wantNext(second, 2) // not 0 or 1 again
		notify(3)
		wantNext(second, 3)

		third, status := openGET(t, b.srv.URL, sid, "")
		if status != http.StatusOK {
			t.Fatalf("third GET: %d", status)
		}
		took := second.AwaitEnd(t, wait)
		t.Logf("the second GET ended %v after the third opened", took)
		notify(4)
		wantNext(third, 4)
		if more := third.Pending(); len(more) > 0 {
			t.Fatalf("events beyond what was sent: %+v", more)
		}
	})
}

// Forward returns what the asking replica's SDK answered; a replica that
// delivers without a verdict answers 202.
func TestForwardReturnsTheVerdict(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		delivered := make(chan injection, 4)
		a := newMarkedReplica(t, dsn, func(session string, msg []byte) relay.Verdict {
			delivered <- injection{session, string(msg)}
			return relay.Verdict{Status: http.StatusBadRequest, ContentType: "text/plain", Body: "nobody waits\n"}
		})
		b := newMarkedReplica(t, dsn, nil)
		plain := newReplica(t, dsn)
		sid := session(t, a.store)
		answer := func(r *replica) json.RawMessage {
			return json.RawMessage(`{"jsonrpc":"2.0","id":` + string(r.relay.OutgoingID(json.RawMessage("7"))) + `,"result":{}}`)
		}
		v, err := b.relay.Forward(t.Context(), sid, answer(a))
		if err != nil {
			t.Fatal(err)
		}
		if v.Status != http.StatusBadRequest || v.Body != "nobody waits\n" {
			t.Errorf("verdict %+v; want a's 400", v)
		}
		select {
		case got := <-delivered:
			if got.session != sid || !strings.Contains(got.msg, `"id":7`) {
				t.Errorf("a was handed %+v; want the answer with its SDK's id 7", got)
			}
		case <-time.After(wait):
			t.Fatal("a was handed nothing")
		}
		v, err = b.relay.Forward(t.Context(), sid, answer(plain))
		if err != nil {
			t.Fatal(err)
		}
		if v.Status != http.StatusAccepted {
			t.Errorf("verdict of a replica without Deliver %+v; want 202", v)
		}
		if _, err := b.relay.Forward(t.Context(), sid, json.RawMessage(`{"jsonrpc":"2.0","id":7,"result":{}}`)); err == nil {
			t.Error("Forward of an answer to no replica's request: no error")
		}
	})
}

// A cancellation of the sessionless revision (no session) reaches the
// other replicas too.
func TestSessionlessCancelledReachesTheOtherReplicas(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		a, b := newReplica(t, dsn), newReplica(t, dsn)
		msg := `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"x","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`
		if err := a.relay.Cancelled(t.Context(), "", []byte(msg)); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-b.canceled:
			if got.session != "" || got.msg != msg {
				t.Errorf("b was handed %+v", got)
			}
		case <-time.After(wait):
			t.Fatal("the cancellation did not reach b")
		}
	})
}
