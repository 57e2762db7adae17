package mcpgo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/events"
)

// eventStore is mcp-go's server.EventStore over the event store of
// WithStreams: the events of the sessions' SSE streams kept in the store's
// database, shared by every replica. HTTPOptions installs it.
//
// It meets the interface's guarantees: an event's id is its seq in the
// database (decimal digits: no CR or LF), unique across all of a session's
// streams; ReplayEventsAfter sends the events after an id on that id's
// stream only, in order, and an id the session does not have is an error
// matching server.ErrUnknownEventID (so is one whose successors were
// dropped by the per-session bound, eventstore.WithMaxEvents, which
// cannot be resumed from). PurgeSession deletes nothing: mcp-go calls it
// when a replica merely forgets a session (its idle sweep, its Shutdown)
// as well as on DELETE, and a session's events go with the session's row
// anyway, deleted or expired, on every replica at once.
type eventStore struct {
	events *events.Store
	// The adapter's, when it installs the store: what an event becomes
	// before it is stored (wire ids), how it is stored (waking the
	// stream's followers), and which events are of the session's
	// standalone stream: those of mcp-go's listening pump, which stores
	// them outside any request.
	rewrite    func([]byte) []byte
	append     func(ctx context.Context, session, stream string, data []byte) (events.Event, error)
	standalone func(ctx context.Context) bool
	stored     func(ctx context.Context, session, stream string) // an event of a POST's stream
	spool      *spool
	// dropTaskStatus drops mcp-go's notifications/tasks/status (WithTasks;
	// see statusFilter): none is stored, and a POST's stream writes it
	// without an id, for statusFilter to drop.
	dropTaskStatus bool
}

var _ server.EventStore = (*eventStore)(nil)

// newEventStore returns an eventStore over e.
func newEventStore(e *events.Store) *eventStore {
	return &eventStore{events: e, append: e.Append}
}

// StoreEvent implements server.EventStore.
func (e *eventStore) StoreEvent(ctx context.Context, sessionID, streamID string, message json.RawMessage) (string, error) {
	data := []byte(message)
	if e.dropTaskStatus && isTaskStatus(data) {
		return "", nil
	}
	if e.rewrite != nil {
		data = e.rewrite(data)
	}
	if e.standalone != nil && e.standalone(ctx) {
		// No client is attached to mcp-go's stream, which the adapter
		// serves itself: the id would not be sent.
		e.spool.add(sessionID, data)
		return "", nil
	}
	ev, err := e.append(ctx, sessionID, streamID, data)
	if err != nil {
		return "", fmt.Errorf("mcpgo: store event: %w", err)
	}
	if e.stored != nil {
		e.stored(ctx, sessionID, streamID)
	}
	return strconv.FormatInt(ev.Seq, 10), nil
}

// ReplayEventsAfter implements server.EventStore.
func (e *eventStore) ReplayEventsAfter(ctx context.Context, sessionID, lastEventID string, send func(eventID string, message json.RawMessage) error) (string, error) {
	stream, pos, err := e.resolve(ctx, sessionID, lastEventID)
	if err != nil {
		return "", err
	}
	evs, err := e.events.After(ctx, sessionID, stream, pos)
	switch {
	case errors.Is(err, events.ErrPurged), errors.Is(err, events.ErrUnknownStream):
		return "", fmt.Errorf("%w: %w", server.ErrUnknownEventID, err)
	case err != nil:
		return "", fmt.Errorf("mcpgo: replay events: %w", err)
	}
	for _, ev := range evs {
		if ev.Data == nil {
			continue // a priming entry of the standalone stream
		}
		if err := send(strconv.FormatInt(ev.Seq, 10), ev.Data); err != nil {
			return "", err
		}
	}
	return stream, nil
}

// resolve returns the stream and position of the session's event id, or
// an error matching server.ErrUnknownEventID.
func (e *eventStore) resolve(ctx context.Context, sessionID, eventID string) (string, int64, error) {
	seq, err := strconv.ParseInt(eventID, 10, 64)
	if err != nil || seq <= 0 {
		return "", 0, fmt.Errorf("%w: not an event id of this store", server.ErrUnknownEventID)
	}
	stream, pos, err := e.events.Find(ctx, sessionID, seq)
	switch {
	case errors.Is(err, events.ErrUnknownEvent), errors.Is(err, mcpsession.ErrInvalidID):
		return "", 0, fmt.Errorf("%w: %w", server.ErrUnknownEventID, err)
	case err != nil:
		return "", 0, fmt.Errorf("mcpgo: find event: %w", err)
	}
	return stream, pos, nil
}

// PurgeSession implements server.EventStore: it deletes nothing (see
// EventStore).
func (e *eventStore) PurgeSession(context.Context, string) error { return nil }
