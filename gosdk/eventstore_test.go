package gosdk

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/eventstore"
	"github.com/mcpsession/mcpsession/internal/events"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// collect reads After's iterator whole.
func collect(t *testing.T, es *eventStore, sid, stream string, index int) ([]string, error) {
	t.Helper()
	var out []string
	for data, err := range es.After(context.Background(), sid, stream, index) {
		if err != nil {
			return out, err
		}
		out = append(out, string(data))
	}
	return out, nil
}

// The guarantees of mcp.EventStore, on both databases: exact positions per
// stream from 0, priming entries included; the standalone stream ""; After
// failing at once with ErrEventsPurged past the bound; SessionClosed
// deleting nothing, the session's deletion everything.
func TestEventStoreContract(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		store := testdb.OpenStore(t, dsn)
		pub, err := eventstore.New(store, eventstore.WithMaxEvents(4))
		if err != nil {
			t.Fatal(err)
		}
		es := newEventStore((*events.Store)(pub))
		ctx := context.Background()
		sid := mcpsession.NewID()
		// go-sdk opens its standalone stream before initialize creates the
		// session, and primes initialize's stream before it too.
		if err := es.Open(ctx, sid, ""); err != nil {
			t.Fatalf("Open before the session exists: %v", err)
		}
		if err := es.Append(ctx, sid, "init", nil); err != nil {
			t.Fatalf("a priming entry before the session exists: %v", err)
		}
		if err := store.Create(ctx, sid, nil); err != nil {
			t.Fatal(err)
		}
		if err := es.Append(ctx, sid, "init", []byte(`{"result":{}}`)); err != nil {
			t.Fatal(err)
		}
		if got, err := collect(t, es, sid, "init", 0); err != nil || fmt.Sprint(got) != `[{"result":{}}]` {
			t.Fatalf("initialize's stream after its priming entry = %q, %v; want the answer at position 1", got, err)
		}
		for _, stream := range []string{"", "post"} {
			if err := es.Open(ctx, sid, stream); err != nil {
				t.Fatal(err)
			}
			for _, data := range [][]byte{nil, []byte(`{"a":1}`), []byte(`{"a":2}`)} {
				if err := es.Append(ctx, sid, stream, data); err != nil {
					t.Fatal(err)
				}
			}
			if got, err := collect(t, es, sid, stream, -1); err != nil || fmt.Sprint(got) != `[ {"a":1} {"a":2}]` {
				t.Fatalf("After(%q, -1) = %q, %v; want the priming entry and both events", stream, got, err)
			}
			if got, err := collect(t, es, sid, stream, 1); err != nil || fmt.Sprint(got) != `[{"a":2}]` {
				t.Fatalf("After(%q, 1) = %q, %v; want position 2", stream, got, err)
			}
		}
		if err := es.SessionClosed(ctx, sid); err != nil {
			t.Fatal(err)
		}
		if got, err := collect(t, es, sid, "post", 0); err != nil || len(got) != 2 {
			t.Errorf("after SessionClosed (a replica closing its go-sdk session): %q, %v; want the events kept", got, err)
		}
		for i := range 6 {
			if err := es.Append(ctx, sid, "post", fmt.Appendf(nil, `{"b":%d}`, i)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := collect(t, es, sid, "post", 0)
		if !errors.Is(err, mcp.ErrEventsPurged) || len(got) != 0 {
			t.Errorf("After beyond the bound = %q, %v; want ErrEventsPurged at once, nothing before it", got, err)
		}
		if err := store.Delete(ctx, sid); err != nil {
			t.Fatal(err)
		}
		if _, err := collect(t, es, sid, "", -1); err == nil {
			t.Error("After in a deleted session succeeded")
		}
		if err := es.Append(ctx, sid, "", []byte(`{}`)); !errors.Is(err, mcpsession.ErrNotFound) {
			t.Errorf("Append in a deleted session: %v; want ErrNotFound", err)
		}
	})
}
