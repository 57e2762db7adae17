package executor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/eventstore"
	"github.com/mcpsession/mcpsession/internal/events"
	"github.com/mcpsession/mcpsession/internal/executor"
	"github.com/mcpsession/mcpsession/internal/msgbus"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// Bus and event store writes run through the store's executor, so they
// keep the store's discipline: refused at once from inside a Modify
// function (which holds SQLite's write turn and the session's row lock),
// and refused before any SQL on a store opened read-only.
func TestNeighboursKeepTheStoresDiscipline(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		s := testdb.OpenStore(t, dsn)
		b, err := bus.New(s)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := eventstore.New(s)
		if err != nil {
			t.Fatal(err)
		}
		e := (*events.Store)(pub)
		id := mcpsession.NewID()
		if err := s.Create(t.Context(), id, nil); err != nil {
			t.Fatal(err)
		}
		// Without the check, these would wait for Modify's own lock until
		// the deadline.
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		var publish, appendErr, after error
		err = s.Modify(ctx, id, func(m map[string]any) (map[string]any, error) {
			_, publish = (*msgbus.Bus)(b).Publish(ctx, "t", nil)
			_, appendErr = e.Append(ctx, id, "s", []byte("x"))
			_, after = e.After(ctx, id, "s", -1)
			return m, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for name, err := range map[string]error{"Publish": publish, "Append": appendErr, "After": after} {
			if !errors.Is(err, mcpsession.ErrCallInModify) {
				t.Errorf("%s inside Modify: %v; want ErrCallInModify", name, err)
			}
		}
		if ctx.Err() != nil {
			t.Fatal("the calls inside Modify waited for the deadline")
		}

		ro, err := sqlstore.Open(t.Context(), testdb.Dialect(dsn), dsn, sqlstore.WithReadOnly())
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		rb, err := bus.New(ro)
		if err != nil {
			t.Fatal(err)
		}
		rpub, err := eventstore.New(ro)
		if err != nil {
			t.Fatal(err)
		}
		re := (*events.Store)(rpub)
		if _, err := (*msgbus.Bus)(rb).Publish(t.Context(), "t", nil); !errors.Is(err, mcpsession.ErrReadOnly) {
			t.Errorf("Publish on a read-only store: %v; want ErrReadOnly", err)
		}
		if _, err := re.Append(t.Context(), id, "s", nil); !errors.Is(err, mcpsession.ErrReadOnly) {
			t.Errorf("Append on a read-only store: %v; want ErrReadOnly", err)
		}
		if _, err := re.After(t.Context(), id, "s", -1); !errors.Is(err, events.ErrUnknownStream) {
			t.Errorf("After on a read-only store: %v; want ErrUnknownStream (reads work)", err)
		}
	})
}

// Of returns the executor a store was built with, the one its neighbours
// share.
func TestOfIsTheStoresExecutor(t *testing.T) {
	s := testdb.OpenStore(t, testdb.SQLiteFile(t))
	x := executor.Of(s)
	if x == nil || x.DB() != s.DB() || x != executor.Of(s) {
		t.Fatalf("Of(store) = %p over %p; want one executor over the store's pool %p", x, x.DB(), s.DB())
	}
	if x.Driver().Name() != "sqlite" || !x.Driver().SerializeWrites() {
		t.Errorf("a SQLite store's executor runs %s", x.Driver().Name())
	}
}
