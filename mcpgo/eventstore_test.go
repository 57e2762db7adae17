package mcpgo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/eventstore"
	"github.com/mcpsession/mcpsession/internal/events"
	"github.com/mcpsession/mcpsession/internal/testdb"
)

// The guarantees of server.EventStore, on both databases: ids unique
// across a session's streams, with no line breaks; replay after an id of
// that id's stream only, in order; unknown ids refused; PurgeSession
// deleting nothing, the session's deletion everything; the bound.
func TestEventStoreContract(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		store := testdb.OpenStore(t, dsn)
		pub, err := eventstore.New(store, eventstore.WithMaxEvents(8))
		if err != nil {
			t.Fatal(err)
		}
		es := newEventStore((*events.Store)(pub))
		ctx := context.Background()
		sid, other := mcpsession.NewID(), mcpsession.NewID()
		for _, id := range []string{sid, other} {
			if err := store.Create(ctx, id, nil); err != nil {
				t.Fatal(err)
			}
		}
		ids := map[string]bool{}
		byStream := map[string][]string{}
		for i := range 6 {
			stream := []string{"s1", "s2"}[i%2]
			id, err := es.StoreEvent(ctx, sid, stream, json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)))
			if err != nil {
				t.Fatal(err)
			}
			if id == "" || strings.ContainsAny(id, "\r\n") || ids[id] {
				t.Fatalf("event id %q: empty, with a line break, or given twice", id)
			}
			ids[id] = true
			byStream[stream] = append(byStream[stream], id)
		}
		var sent []string
		stream, err := es.ReplayEventsAfter(ctx, sid, byStream["s1"][0], func(id string, msg json.RawMessage) error {
			sent = append(sent, id+"="+string(msg))
			return nil
		})
		want := []string{byStream["s1"][1] + `={"n":2}`, byStream["s1"][2] + `={"n":4}`}
		if err != nil || stream != "s1" || fmt.Sprint(sent) != fmt.Sprint(want) {
			t.Fatalf("ReplayEventsAfter = %q, %v, sent %v; want s1, %v", stream, err, sent, want)
		}
		failing := errors.New("client gone")
		if _, err := es.ReplayEventsAfter(ctx, sid, byStream["s2"][0], func(string, json.RawMessage) error { return failing }); !errors.Is(err, failing) {
			t.Errorf("a send that fails: %v; want its error", err)
		}
		nothing := func(string, json.RawMessage) error { t.Error("sent an event"); return nil }
		for _, bad := range []struct{ session, id string }{
			{sid, "999999999"}, {sid, "not-a-number"}, {sid, ""}, {other, byStream["s1"][0]}, {"bad id", byStream["s1"][0]},
		} {
			if _, err := es.ReplayEventsAfter(ctx, bad.session, bad.id, nothing); !errors.Is(err, server.ErrUnknownEventID) {
				t.Errorf("ReplayEventsAfter(%q) in another session or unknown: %v; want ErrUnknownEventID", bad.id, err)
			}
		}
		if err := es.PurgeSession(ctx, sid); err != nil {
			t.Fatal(err)
		}
		if _, err := es.ReplayEventsAfter(ctx, sid, byStream["s1"][0], func(string, json.RawMessage) error { return nil }); err != nil {
			t.Errorf("after PurgeSession (a replica forgetting the session): %v; want the events kept", err)
		}
		for i := range 12 {
			if _, err := es.StoreEvent(ctx, sid, "s1", json.RawMessage(fmt.Sprintf(`{"more":%d}`, i))); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := es.ReplayEventsAfter(ctx, sid, byStream["s1"][0], nothing); !errors.Is(err, server.ErrUnknownEventID) {
			t.Errorf("replay from beyond the bound: %v; want ErrUnknownEventID", err)
		}
		if err := store.Delete(ctx, sid); err != nil {
			t.Fatal(err)
		}
		if _, err := es.StoreEvent(ctx, sid, "s1", json.RawMessage(`{}`)); !errors.Is(err, mcpsession.ErrNotFound) {
			t.Errorf("StoreEvent in a deleted session: %v; want ErrNotFound", err)
		}
	})
}
