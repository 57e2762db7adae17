package events_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/eventstore"
	"github.com/mcpsession/mcpsession/internal/events"
	"github.com/mcpsession/mcpsession/internal/msgbus"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

func open(t *testing.T, dsn string, opts ...eventstore.Option) (*sqlstore.Store, *events.Store) {
	t.Helper()
	s := testdb.OpenStore(t, dsn)
	e, err := eventstore.New(s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s, (*events.Store)(e)
}

func session(t *testing.T, s *sqlstore.Store) string {
	t.Helper()
	id := mcpsession.NewID()
	if err := s.Create(t.Context(), id, nil); err != nil {
		t.Fatal(err)
	}
	return id
}

func mustAppend(t *testing.T, e *events.Store, sess, stream string, data []byte) events.Event {
	t.Helper()
	ev, err := e.Append(t.Context(), sess, stream, data)
	if err != nil {
		t.Fatalf("Append(%q): %v", stream, err)
	}
	return ev
}

// Streams number their events from 0, each on its own; seq grows across
// all; After returns what follows a position, priming entries included.
func TestPositionsAndReplay(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		s, e := open(t, dsn)
		sess := session(t, s)
		ctx := t.Context()
		var last int64
		for i := range 6 {
			stream := []string{"", "post-1"}[i%2] // "" is go-sdk's standalone stream
			var data []byte
			if i != 2 {
				data = fmt.Appendf(nil, `{"n":%d}`, i)
			}
			ev := mustAppend(t, e, sess, stream, data)
			if ev.Pos != int64(i/2) || ev.Seq <= last {
				t.Fatalf("append %d: pos %d seq %d (previous seq %d)", i, ev.Pos, ev.Seq, last)
			}
			last = ev.Seq
		}
		all, err := e.After(ctx, sess, "", -1)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 3 || string(all[0].Data) != `{"n":0}` || all[1].Data != nil || string(all[2].Data) != `{"n":4}` {
			t.Fatalf("stream \"\": %+v", all)
		}
		rest, err := e.After(ctx, sess, "post-1", 0)
		if err != nil || len(rest) != 2 || rest[0].Pos != 1 || string(rest[1].Data) != `{"n":5}` {
			t.Fatalf("After(post-1, 0) = %+v, %v", rest, err)
		}
		if none, err := e.After(ctx, sess, "post-1", 2); err != nil || len(none) != 0 {
			t.Fatalf("After the last = %+v, %v; want nothing", none, err)
		}
		stream, pos, err := e.Find(ctx, sess, rest[1].Seq)
		if err != nil || stream != "post-1" || pos != 2 {
			t.Fatalf("Find = %q, %d, %v", stream, pos, err)
		}
		if err := e.Open(ctx, sess, "opened"); err != nil {
			t.Fatal(err)
		}
		if none, err := e.After(ctx, sess, "opened", -1); err != nil || len(none) != 0 {
			t.Fatalf("After on an opened, empty stream = %+v, %v", none, err)
		}
		if ev := mustAppend(t, e, sess, "opened", nil); ev.Pos != 0 {
			t.Fatalf("first append to an opened stream at %d; want 0", ev.Pos)
		}
		if err := e.Open(ctx, sess, "opened"); err != nil {
			t.Fatal(err)
		}
		if ev := mustAppend(t, e, sess, "opened", nil); ev.Pos != 1 {
			t.Fatalf("Open again reset the stream: append at %d; want 1", ev.Pos)
		}
	})
}

// What a stream cannot give is said, never guessed.
func TestUnknownAndBad(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		s, e := open(t, dsn, eventstore.WithMaxEventBytes(8))
		sess := session(t, s)
		ctx := t.Context()
		if _, err := e.After(ctx, sess, "nope", -1); !errors.Is(err, events.ErrUnknownStream) {
			t.Errorf("After on an unknown stream = %v; want ErrUnknownStream", err)
		}
		if _, _, err := e.Find(ctx, sess, 1<<40); !errors.Is(err, events.ErrUnknownEvent) {
			t.Errorf("Find of an unknown event = %v; want ErrUnknownEvent", err)
		}
		missing := mcpsession.NewID()
		if _, err := e.Append(ctx, missing, "s", nil); !errors.Is(err, mcpsession.ErrNotFound) {
			t.Errorf("Append to a missing session = %v; want ErrNotFound", err)
		}
		if err := e.Open(ctx, missing, "s"); !errors.Is(err, mcpsession.ErrNotFound) {
			t.Errorf("Open on a missing session = %v; want ErrNotFound", err)
		}
		for _, stream := range []string{strings.Repeat("s", events.MaxStreamIDLength+1), "\xff", "a\x00"} {
			if _, err := e.Append(ctx, sess, stream, nil); !errors.Is(err, events.ErrInvalidArgument) {
				t.Errorf("Append to stream %q = %v; want ErrInvalidArgument", stream, err)
			}
		}
		if _, err := e.Append(ctx, sess, "s", []byte("123456789")); !errors.Is(err, events.ErrInvalidArgument) {
			t.Errorf("Append of 9 bytes over a limit of 8 = %v; want ErrInvalidArgument", err)
		}
		if _, err := e.Append(ctx, "bad id", "s", nil); !errors.Is(err, mcpsession.ErrInvalidID) {
			t.Errorf("Append with a bad session id = %v; want ErrInvalidID", err)
		}
		if _, err := eventstore.New(nil); !errors.Is(err, mcpsession.ErrInvalidOption) {
			t.Errorf("New(nil) = %v", err)
		}
		if _, err := eventstore.New(s, eventstore.WithMaxEvents(0)); !errors.Is(err, mcpsession.ErrInvalidOption) {
			t.Errorf("WithMaxEvents(0) = %v", err)
		}
	})
}

// Two replicas appending to one stream at once get every position once.
func TestConcurrentAppendsAcrossReplicas(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		s1, e1 := open(t, dsn)
		_, e2 := open(t, dsn)
		sess := session(t, s1)
		const each = 40
		var mu sync.Mutex
		seen := map[int64]bool{}
		var wg sync.WaitGroup
		for _, e := range []*events.Store{e1, e2, e1, e2} {
			wg.Go(func() {
				for range each {
					ev, err := e.Append(t.Context(), sess, "shared", []byte("x"))
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					if seen[ev.Pos] {
						t.Errorf("position %d given twice", ev.Pos)
					}
					seen[ev.Pos] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		all, err := e2.After(t.Context(), sess, "shared", -1)
		if err != nil || len(all) != 4*each {
			t.Fatalf("After = %d events, %v; want %d", len(all), err, 4*each)
		}
		for i, ev := range all {
			if ev.Pos != int64(i) {
				t.Fatalf("event %d at position %d", i, ev.Pos)
			}
		}
	})
}

// A reader following a stream while another replica appends to it sees
// every event once, in order, and never a purge that did not happen (the
// events and the stream's bounds are two reads).
func TestAfterWhileAppending(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		s1, e1 := open(t, dsn)
		_, e2 := open(t, dsn)
		sess := session(t, s1)
		// A hundred appends give the reader hundreds of reads that race
		// them (300 took 5 s a dialect under -race).
		const n = 100
		done := make(chan error, 1)
		go func() {
			for i := range n {
				if _, err := e1.Append(context.Background(), sess, "", []byte{byte(i)}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		if err := e2.Open(t.Context(), sess, ""); err != nil {
			t.Fatal(err)
		}
		pos, reads := int64(-1), 0
		for pos < n-1 {
			evs, err := e2.After(t.Context(), sess, "", pos)
			if err != nil {
				t.Fatalf("After(%d) while appending: %v", pos, err)
			}
			for _, ev := range evs {
				if ev.Pos != pos+1 || ev.Data[0] != byte(ev.Pos) {
					t.Fatalf("after %d came position %d", pos, ev.Pos)
				}
				pos = ev.Pos
			}
			reads++
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		t.Logf("%d events followed in %d reads", n, reads)
	})
}

// A session keeps its newest events only; replaying from before them is
// ErrPurged, from within them works.
func TestRetentionBound(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		s, e := open(t, dsn, eventstore.WithMaxEvents(16))
		sess := session(t, s)
		for i := range 100 {
			mustAppend(t, e, sess, []string{"a", "b"}[i%2], []byte{byte(i)})
		}
		var n int
		if err := s.DB().QueryRowContext(t.Context(), `SELECT count(*) FROM mcp_events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n < 16 || n > 18 {
			t.Fatalf("%d events kept; want 16 to 18 (16 and an eighth)", n)
		}
		if _, err := e.After(t.Context(), sess, "a", -1); !errors.Is(err, events.ErrPurged) {
			t.Fatalf("After(-1) on a trimmed stream = %v; want ErrPurged", err)
		}
		got, err := e.After(t.Context(), sess, "a", 45)
		if err != nil || len(got) != 4 || got[0].Pos != 46 {
			t.Fatalf("After(45) on stream a = %+v, %v; want positions 46 to 49", got, err)
		}
	})
}

// SincePriming returns what a stream got between two priming entries (a
// fresh GET writes one): what no client had opened the stream for. It
// reads what is kept, so a trimmed stream still answers, and other
// streams' events never mix in.
func TestSincePriming(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		s, e := open(t, dsn, eventstore.WithMaxEvents(16))
		sess := session(t, s)
		ctx := t.Context()
		positions := func(evs []events.Event) []int64 {
			var out []int64
			for _, ev := range evs {
				out = append(out, ev.Pos)
			}
			return out
		}
		want := func(before int64, exp ...int64) {
			t.Helper()
			got, err := e.SincePriming(ctx, sess, "", before)
			if err != nil || fmt.Sprint(positions(got)) != fmt.Sprint(exp) {
				t.Fatalf("SincePriming(%d) = %v, %v; want positions %v", before, positions(got), err, exp)
			}
			for _, ev := range got {
				if ev.Data == nil {
					t.Fatalf("SincePriming(%d) returned a priming entry at %d", before, ev.Pos)
				}
			}
		}
		if got, err := e.SincePriming(ctx, sess, "", 5); err != nil || len(got) != 0 {
			t.Fatalf("SincePriming on no stream = %v, %v; want none", got, err)
		}
		// 0 and 1 before any GET, 2 a GET's priming entry, 3 and 4 while it
		// was open, 5 the next GET's, 6 and 7 after it.
		for i := range 8 {
			var data []byte
			if i != 2 && i != 5 {
				data = fmt.Appendf(nil, `{"n":%d}`, i)
			}
			mustAppend(t, e, sess, "", data)
			mustAppend(t, e, sess, "post", []byte(`{}`)) // never mixed in
		}
		want(2, 0, 1)
		want(5, 3, 4)
		want(8, 6, 7)
		want(7, 6)
		want(0)
		// Trimmed to the session's newest 16 to 18 events: the priming
		// entry at 5 is gone, and SincePriming returns what is kept (where
		// After(-1) would be ErrPurged).
		for i := 8; i < 20; i++ {
			mustAppend(t, e, sess, "", []byte(`{}`))
		}
		got, err := e.SincePriming(ctx, sess, "", 20)
		if err != nil || len(got) == 0 || got[len(got)-1].Pos != 19 {
			t.Fatalf("SincePriming(20) on a trimmed stream = %v, %v; want what is kept, up to 19", positions(got), err)
		}
		if _, err := e.SincePriming(ctx, "bad id\n", "", 1); err == nil {
			t.Fatal("SincePriming with an invalid session id: no error")
		}
	})
}

// A session's streams and events go with it: deleted, or swept once it
// expired.
func TestGoneWithTheSession(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		s := testdb.OpenStore(t, dsn, sqlstore.WithIdleTimeout(time.Hour))
		pub, err := eventstore.New(s)
		if err != nil {
			t.Fatal(err)
		}
		e := (*events.Store)(pub)
		deleted, swept, kept := session(t, s), session(t, s), session(t, s)
		for _, sess := range []string{deleted, swept, kept} {
			mustAppend(t, e, sess, "x", []byte("1"))
			mustAppend(t, e, sess, "y", nil)
		}
		if err := s.Delete(t.Context(), deleted); err != nil {
			t.Fatal(err)
		}
		rewind := `UPDATE mcp_sessions SET updated_at = updated_at - 7200000, updated_floor = updated_floor - 7200000 WHERE id = ?1`
		if testdb.DialectName(s) == "postgres" {
			rewind = `UPDATE mcp_sessions SET updated_at = updated_at - interval '2 hours', updated_floor = updated_floor - interval '2 hours'
WHERE id = $1`
		}
		testdb.Exec(t, s.DB(), rewind, swept)
		if _, err := e.Append(t.Context(), swept, "x", nil); !errors.Is(err, mcpsession.ErrNotFound) {
			t.Fatalf("Append to an expired session = %v; want ErrNotFound", err)
		}
		if n, err := s.Cleanup(t.Context(), time.Hour); err != nil || n != 1 {
			t.Fatalf("Cleanup = %d, %v; want 1", n, err)
		}
		for _, sess := range []string{deleted, swept} {
			if _, err := e.After(t.Context(), sess, "x", -1); !errors.Is(err, events.ErrUnknownStream) {
				t.Errorf("After on an ended session's stream = %v; want ErrUnknownStream", err)
			}
		}
		for table, want := range map[string]int{"mcp_events": 2, "mcp_streams": 2, "mcp_event_sessions": 1} {
			var n int
			if err := s.DB().QueryRowContext(t.Context(), `SELECT count(*) FROM `+table).Scan(&n); err != nil || n != want {
				t.Errorf("%s holds %d rows (%v); want %d, the live session's", table, n, err, want)
			}
		}
		if err := e.Purge(t.Context(), kept); err != nil {
			t.Fatal(err)
		}
		if _, err := e.After(t.Context(), kept, "x", -1); !errors.Is(err, events.ErrUnknownStream) {
			t.Errorf("After a Purge = %v; want ErrUnknownStream", err)
		}
	})
}

// On Postgres an Append wakes the watchers of the session's wake key.
func TestAppendWakesWatchers(t *testing.T) {
	t.Parallel()
	s, e := open(t, testdb.Postgres(t))
	b, err := bus.New(s)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go b.Run(ctx)
	listening := make(chan bool, 4)
	defer (*msgbus.Bus)(b).OnListening(func(on bool) { listening <- on })()
	for !(*msgbus.Bus)(b).Listening() {
		select {
		case <-listening:
		case <-time.After(30 * time.Second):
			t.Fatal("not listening within 30s")
		}
	}
	sess := session(t, s)
	woken := make(chan struct{}, 1)
	defer (*msgbus.Bus)(b).Watch(events.WakeKey(sess), func() {
		select {
		case woken <- struct{}{}:
		default:
		}
	})()
	mustAppend(t, e, sess, "s", []byte("hi"))
	select {
	case <-woken:
	case <-time.After(30 * time.Second):
		t.Fatal("an Append woke nobody within 30s")
	}
}
