package relay

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/events"
)

// ErrInvalidNotification means Notify or Broadcast was given an empty
// method or params that do not encode as a JSON object. It matches
// mcpsession.ErrInvalidArgument too.
var ErrInvalidNotification = fmt.Errorf("%w: relay: invalid notification", mcpsession.ErrInvalidArgument)

// notification is a JSON-RPC notification as the relay writes it.
type notification struct {
	JSONRPC string          `json:"jsonrpc"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params,omitempty"`
}

// invalid is the error of a bad notification.
func (r *Relay) invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidNotification}, args...)...)
}

// encodeParams returns params as a JSON object (nil for none).
func (r *Relay) encodeParams(params any) (json.RawMessage, error) {
	if params == nil {
		return nil, nil
	}
	b, err := json.Marshal(params)
	if err != nil {
		return nil, r.invalid("params: %w", err)
	}
	if string(b) == "null" {
		return nil, nil
	}
	if len(b) == 0 || b[0] != '{' {
		return nil, r.invalid("params must encode as a JSON object")
	}
	return b, nil
}

// Notify sends the client of session the notification (method, params) on
// its standalone GET stream, wherever that is open, or stores it there for
// the client to resume (Last-Event-ID) if none is. It is an error matching
// mcpsession.ErrNotFound if the session is not live.
func (r *Relay) Notify(ctx context.Context, session, method string, params any) error {
	if method == "" {
		return r.invalid("empty method")
	}
	p, err := r.encodeParams(params)
	if err != nil {
		return err
	}
	data, err := json.Marshal(notification{JSONRPC: "2.0", Method: method, Params: p})
	if err != nil {
		return err
	}
	_, err = r.Append(ctx, session, Standalone, data)
	return err
}

// Append adds data to the session's stream in the event store, as the
// SDKs' event stores do, and wakes the followers of a standalone stream
// on every replica: Postgres's NOTIFY does while this replica's bus
// listens; otherwise (SQLite, PgBouncer in transaction mode, a listener
// down) a wake message on the bus does. A wake message that fails is
// logged, not returned: the event is stored, and followers find it at
// their next poll.
func (r *Relay) Append(ctx context.Context, session, stream string, data []byte) (events.Event, error) {
	ev, err := r.cfg.Events.Append(ctx, session, stream, data)
	if err != nil {
		return ev, err
	}
	if stream == Standalone && (r.cfg.Bus.PollOnly() || !r.cfg.Bus.Listening()) {
		if err := r.publish(ctx, topicWake, []byte(session)); err != nil && ctx.Err() == nil {
			r.warn(ctx, "publishing a stream's wake-up failed; its followers poll", err)
		}
	}
	return ev, nil
}

// SessionEnded ends the session's streams and Calls on this replica at
// once, and on the others when the bus brings them the message. Call it
// once the session is deleted from the store. A message that cannot be
// published is logged: the other replicas' streams then end within their
// touch interval, as without a bus.
func (r *Relay) SessionEnded(ctx context.Context, session string) {
	if mcpsession.ValidateID(session) != nil {
		return
	}
	r.endLocal(session)
	if err := r.publish(ctx, topicEnded, []byte(session)); err != nil {
		r.warn(ctx, "telling the other replicas of a session's end failed; their streams end within a touch interval", err)
	}
}

// endLocal ends the session's followers and Calls here.
func (r *Relay) endLocal(session string) {
	r.mu.Lock()
	fs := r.followers[session]
	delete(r.followers, session)
	r.mu.Unlock()
	for f := range fs {
		f.end()
	}
	r.failCalls(session)
}
