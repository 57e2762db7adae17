package relay

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"sync"

	"github.com/mcpsession/mcpsession/internal/msgbus"
)

// The 2026-07-28 names both SDKs use (SEP-2575).
const (
	// MethodListen opens a listen stream.
	MethodListen     = "subscriptions/listen"
	methodAck        = "notifications/subscriptions/acknowledged"
	metaSubscription = "io.modelcontextprotocol/subscriptionId"

	methodToolsChanged     = "notifications/tools/list_changed"
	methodPromptsChanged   = "notifications/prompts/list_changed"
	methodResourcesChanged = "notifications/resources/list_changed"
	methodResourceUpdated  = "notifications/resources/updated"
)

// IsListen reports whether body, a POST's, is a subscriptions/listen
// request.
func IsListen(body []byte) bool {
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	return json.Unmarshal(body, &m) == nil && m.Method == MethodListen && len(m.ID) > 0
}

// listenQueue bounds the notifications waiting for a slow listen stream;
// past it, new ones are dropped (and logged).
const listenQueue = 64

// filter is what a listen stream opted in to, as the SDK acknowledged it.
type filter struct {
	ToolsListChanged      bool     `json:"toolsListChanged"`
	PromptsListChanged    bool     `json:"promptsListChanged"`
	ResourcesListChanged  bool     `json:"resourcesListChanged"`
	ResourceSubscriptions []string `json:"resourceSubscriptions"`
}

// allows reports whether the stream opted in to the notification: opt-in
// is absolute, so anything outside the filter's vocabulary is refused.
func (f filter) allows(method string, params json.RawMessage) bool {
	switch method {
	case methodToolsChanged:
		return f.ToolsListChanged
	case methodPromptsChanged:
		return f.PromptsListChanged
	case methodResourcesChanged:
		return f.ResourcesListChanged
	case methodResourceUpdated:
		var p struct {
			URI string `json:"uri"`
		}
		return json.Unmarshal(params, &p) == nil && slices.Contains(f.ResourceSubscriptions, p.URI)
	}
	return false
}

// listenTap is one listen stream served on this replica.
type listenTap struct {
	r  *Relay
	ew *EventWriter

	mu    sync.Mutex
	f     *filter         // nil until the SDK acknowledged the subscription
	subID json.RawMessage // the subscriptions/listen request's id

	queue chan []byte
	done  chan struct{}
}

// Listen returns the writer to hand the SDK for a subscriptions/listen
// request (2026-07-28), so that notifications Broadcast on any replica
// reach the stream, tagged with its subscription id, once the SDK has
// acknowledged the subscription and if it opted in to them; call stop
// before the handler returns.
func (r *Relay) Listen(w http.ResponseWriter) (_ http.ResponseWriter, stop func()) {
	t := &listenTap{r: r, queue: make(chan []byte, listenQueue), done: make(chan struct{})}
	t.ew = NewEventWriter(w, t.observe)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case ev := <-t.queue:
				_ = t.ew.inject(ev) // a stream that went is unregistered by stop
			case <-t.done:
				return
			case <-r.down.Done():
				return
			}
		}
	})
	return t.ew, func() {
		r.mu.Lock()
		delete(r.listens, t)
		r.mu.Unlock()
		t.ew.close()
		close(t.done)
		wg.Wait()
	}
}

// observe watches the SDK's events for the acknowledgement.
func (t *listenTap) observe(event []byte) []byte {
	t.mu.Lock()
	known := t.f != nil
	t.mu.Unlock()
	if known {
		return event
	}
	data, ok := eventData(event)
	if !ok {
		return event
	}
	var ack struct {
		Method string `json:"method"`
		Params struct {
			Notifications filter                     `json:"notifications"`
			Meta          map[string]json.RawMessage `json:"_meta"`
		} `json:"params"`
	}
	if json.Unmarshal(data, &ack) != nil || ack.Method != methodAck {
		return event
	}
	f := ack.Params.Notifications
	t.mu.Lock()
	t.f, t.subID = &f, ack.Params.Meta[metaSubscription]
	t.mu.Unlock()
	t.r.mu.Lock()
	t.r.listens[t] = struct{}{}
	t.r.mu.Unlock()
	return event
}

// broadcast is the payload of a listen notification.
type broadcast struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params,omitempty"`
}

// Broadcast sends the notification (method, params) to the
// subscriptions/listen streams (2026-07-28) of every replica, this one's
// included, that opted in to it: notifications/tools/list_changed,
// prompts/list_changed and resources/list_changed to those that asked
// for them, notifications/resources/updated to those subscribed to its
// params' uri. Any other method reaches no listen stream (opt-in is
// absolute), so Broadcast refuses it.
func (r *Relay) Broadcast(ctx context.Context, method string, params any) error {
	switch method {
	case methodToolsChanged, methodPromptsChanged, methodResourcesChanged, methodResourceUpdated:
	default:
		return r.invalid("%q is no notification a listen stream can opt in to", method)
	}
	p, err := r.encodeParams(params)
	if err != nil {
		return err
	}
	payload, err := json.Marshal(broadcast{Method: method, Params: p})
	if err != nil {
		return err
	}
	return r.publish(ctx, topicListen, payload)
}

// onListen hands a broadcast to this replica's listen streams.
func (r *Relay) onListen(m msgbus.Message) {
	var b broadcast
	if json.Unmarshal(m.Payload, &b) != nil || b.Method == "" {
		return
	}
	r.mu.Lock()
	taps := make([]*listenTap, 0, len(r.listens))
	for t := range r.listens {
		taps = append(taps, t)
	}
	r.mu.Unlock()
	for _, t := range taps {
		t.mu.Lock()
		f, subID := t.f, t.subID
		t.mu.Unlock()
		if f == nil || !f.allows(b.Method, b.Params) {
			continue
		}
		event, err := tagged(b, subID)
		if err != nil {
			continue
		}
		select {
		case t.queue <- event:
		default:
			r.logger.LogAttrs(context.Background(), slog.LevelWarn, r.cfg.Name+": a listen stream is too slow; a notification was dropped")
		}
	}
}

// tagged is the SSE event of a broadcast on the stream subID, whose
// notifications carry the subscription id in _meta.
func tagged(b broadcast, subID json.RawMessage) ([]byte, error) {
	params := map[string]json.RawMessage{}
	if len(b.Params) > 0 {
		if err := json.Unmarshal(b.Params, &params); err != nil {
			return nil, err
		}
	}
	meta := map[string]json.RawMessage{}
	if raw, ok := params["_meta"]; ok {
		_ = json.Unmarshal(raw, &meta)
	}
	if len(subID) > 0 {
		meta[metaSubscription] = subID
	}
	rawMeta, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	params["_meta"] = rawMeta
	rawParams, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(notification{JSONRPC: "2.0", Method: b.Method, Params: rawParams})
	if err != nil {
		return nil, err
	}
	return append(append([]byte("event: message\ndata: "), data...), '\n', '\n'), nil
}
