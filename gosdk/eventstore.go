package gosdk

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/eventstore"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// EventStore is go-sdk's mcp.EventStore over an eventstore.Store: the
// events of the sessions' SSE streams kept in the store's database, shared
// by every replica. New installs one (WithEventStore) with the streams
// across replicas; NewEventStore makes one for a StreamableServerTransport
// of your own.
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
// session's row anyway, deleted or expired. Open of a session whose row
// is not there yet succeeds without effect: go-sdk opens the standalone
// stream before initialize has created the session, and Append makes the
// stream when it first writes.
type EventStore struct {
	events *eventstore.Store
	// The adapter's, when it installs the store: how an event is stored
	// (waking the followers of a standalone stream).
	append func(ctx context.Context, session, stream string, data []byte) (eventstore.Event, error)
}

var _ mcp.EventStore = (*EventStore)(nil)

// NewEventStore returns an EventStore over events. A nil events is an
// error matching ErrInvalidOption.
func NewEventStore(events *eventstore.Store) (*EventStore, error) {
	if events == nil {
		return nil, fmt.Errorf("%w: NewEventStore(nil)", ErrInvalidOption)
	}
	return &EventStore{events: events, append: events.Append}, nil
}

// Open implements mcp.EventStore.
func (e *EventStore) Open(ctx context.Context, sessionID, streamID string) error {
	if err := e.events.Open(ctx, sessionID, streamID); err != nil && !errors.Is(err, mcpsession.ErrNotFound) {
		return fmt.Errorf("gosdk: open stream: %w", err)
	}
	return nil
}

// Append implements mcp.EventStore.
func (e *EventStore) Append(ctx context.Context, sessionID, streamID string, data []byte) error {
	if _, err := e.append(ctx, sessionID, streamID, data); err != nil {
		return fmt.Errorf("gosdk: append event: %w", err)
	}
	return nil
}

// After implements mcp.EventStore.
func (e *EventStore) After(ctx context.Context, sessionID, streamID string, index int) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		evs, err := e.events.After(ctx, sessionID, streamID, int64(index))
		switch {
		case errors.Is(err, eventstore.ErrPurged):
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

// SessionClosed implements mcp.EventStore: it deletes nothing (see
// EventStore).
func (e *EventStore) SessionClosed(context.Context, string) error { return nil }
