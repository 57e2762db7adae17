package gosdk

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/events"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// eventStore is go-sdk's mcp.EventStore over the event store of
// WithStreams: the events of the sessions' SSE streams kept in the store's
// database, shared by every replica. Each go-sdk session of the adapter
// has it.
//
// It meets the interface's guarantees: each stream numbers its events from
// 0, with no gap, whoever appends them (go-sdk's event ids are
// "<stream>_<index>"), priming entries (nil data) included, which After
// yields as they are; the standalone stream's id is "". After fails at once
// with an error matching mcp.ErrEventsPurged when anything after the index
// was dropped (the per-session bound, eventstore.WithMaxEvents), never
// with a partial result. SessionClosed deletes nothing: go-sdk calls it
// whenever a replica closes its go-sdk session of a session (idle, room,
// Shutdown), which lives on elsewhere; a session's events go with the
// session's row anyway, deleted or expired.
//
// go-sdk primes the stream of an initialize request before initialize has
// created the session's row, where no stream can be yet: that priming
// entry is kept in memory until the stream's next Append, which stores it
// first, so that positions stay go-sdk's.
type eventStore struct {
	events *events.Store
	// The adapter's, when it installs the store: how an event is stored
	// (waking the followers of a standalone stream).
	append func(ctx context.Context, session, stream string, data []byte) (events.Event, error)

	mu   sync.Mutex
	owed map[streamKey]struct{} // priming entries of sessions not stored yet
}

type streamKey struct{ session, stream string }

var _ mcp.EventStore = (*eventStore)(nil)

// newEventStore returns an eventStore over e.
func newEventStore(e *events.Store) *eventStore {
	return &eventStore{events: e, append: e.Append}
}

// Open implements mcp.EventStore. It stores nothing: a stream is made by
// its first Append, so that a POST whose answer carries no event costs no
// write, and go-sdk's session can connect before initialize has made the
// session's row (or while the store is down: initialize then fails as the
// adapter answers it, 503). After on a stream never appended to is an
// error, as on one never opened.
func (e *eventStore) Open(context.Context, string, string) error { return nil }

// Append implements mcp.EventStore.
func (e *eventStore) Append(ctx context.Context, sessionID, streamID string, data []byte) error {
	key := streamKey{sessionID, streamID}
	e.mu.Lock()
	_, owed := e.owed[key]
	delete(e.owed, key)
	e.mu.Unlock()
	if owed {
		if _, err := e.append(ctx, sessionID, streamID, nil); err != nil {
			return fmt.Errorf("gosdk: append event: %w", err)
		}
	}
	_, err := e.append(ctx, sessionID, streamID, data)
	if data == nil && errors.Is(err, mcpsession.ErrNotFound) {
		e.mu.Lock()
		if e.owed == nil {
			e.owed = make(map[streamKey]struct{})
		}
		e.owed[key] = struct{}{}
		e.mu.Unlock()
		return nil // stored when the stream next writes, once initialize has made the session
	}
	if err != nil {
		return fmt.Errorf("gosdk: append event: %w", err)
	}
	return nil
}

// After implements mcp.EventStore.
func (e *eventStore) After(ctx context.Context, sessionID, streamID string, index int) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		evs, err := e.events.After(ctx, sessionID, streamID, int64(index))
		switch {
		case errors.Is(err, events.ErrPurged):
			yield(nil, fmt.Errorf("%w: %w", mcp.ErrEventsPurged, err))
			return
		case err != nil:
			yield(nil, fmt.Errorf("gosdk: replay events: %w", err))
			return
		}
		for _, ev := range evs {
			if !yield(ev.Data, nil) {
				return
			}
		}
	}
}

// SessionClosed implements mcp.EventStore: it deletes nothing stored (see
// EventStore), only the priming entries kept for the session.
func (e *eventStore) SessionClosed(_ context.Context, sessionID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k := range e.owed {
		if k.session == sessionID {
			delete(e.owed, k)
		}
	}
	return nil
}
