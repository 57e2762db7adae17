package relay

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/mcpsession/mcpsession/internal/msgbus"
)

// topicCancelled carries a client's notifications/cancelled to every
// replica: the one that received it does not know which runs the request.
const topicCancelled = "mcpsession/cancelled"

// cancellation is the payload of a topicCancelled message.
type cancellation struct {
	From    string          `json:"from"` // the replica that received it, which handled it itself
	Session string          `json:"session"`
	Message json.RawMessage `json:"message"`
}

// IsCancelled reports whether msg, one JSON-RPC message, is a
// notifications/cancelled.
func IsCancelled(msg []byte) bool {
	if !bytes.Contains(msg, []byte("notifications/cancelled")) && bytes.IndexByte(msg, '\\') < 0 {
		return false
	}
	var head struct {
		Method string           `json:"method"`
		ID     *json.RawMessage `json:"id"`
	}
	return json.Unmarshal(msg, &head) == nil && head.ID == nil && head.Method == "notifications/cancelled"
}

// Cancelled hands msg, a client's notifications/cancelled for a request
// of session, to every other replica, whose Config.Cancel gives it to its
// SDK: the request may be running on any of them. The caller hands it to
// its own SDK as well. A session of "" is the sessionless revision's
// (2026-07-28), whose requests are known by their id alone.
func (r *Relay) Cancelled(ctx context.Context, session string, msg []byte) error {
	payload, err := json.Marshal(cancellation{From: r.replica, Session: session, Message: msg})
	if err != nil {
		return err
	}
	return r.publish(ctx, topicCancelled, payload)
}

// onCancelled gives another replica's cancellation to this one's SDK.
func (r *Relay) onCancelled(m msgbus.Message) {
	if r.cfg.Cancel == nil {
		return
	}
	var c cancellation
	if err := json.Unmarshal(m.Payload, &c); err != nil || c.From == r.replica || !IsCancelled(c.Message) {
		return
	}
	r.goWork(func() { r.cfg.Cancel(c.Session, c.Message) })
}
