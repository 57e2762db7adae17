package adapter

import (
	"context"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/relay"
)

// Attach gives c the relay that carries the adapter's streams across
// replicas (WithStreams), which the adapter builds with the callbacks into
// its SDK.
func (c *Core) Attach(r *relay.Relay) { c.relay = r }

// SessionEnded ends the session's streams on every replica once a DELETE
// has removed it from the store. Without streams it does nothing.
func (c *Core) SessionEnded(ctx context.Context, id string) {
	if c.relay != nil {
		c.relay.SessionEnded(ctx, id)
	}
}

// Notify sends the client of session id the notification (method, params)
// on its standalone GET stream, wherever that is open (relay.Notify), or
// returns mcpsession.ErrNoStreams.
func (c *Core) Notify(ctx context.Context, id, method string, params any) error {
	if c.relay == nil {
		return mcpsession.ErrNoStreams
	}
	return c.relay.Notify(ctx, id, method, params)
}

// Broadcast sends the notification (method, params) to the
// subscriptions/listen streams of every replica that opted in to it
// (relay.Broadcast), or returns mcpsession.ErrNoStreams.
func (c *Core) Broadcast(ctx context.Context, method string, params any) error {
	if c.relay == nil {
		return mcpsession.ErrNoStreams
	}
	return c.relay.Broadcast(ctx, method, params)
}
