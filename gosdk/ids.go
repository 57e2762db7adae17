package gosdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/mcpsession/mcpsession/internal/msgbus"
	"github.com/mcpsession/mcpsession/internal/relay"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// The ids of go-sdk's server-to-client requests, with streams across
// replicas. go-sdk numbers a session's requests 1, 2, 3… from a counter
// of its session object, and each replica has one of those per session:
// two replicas would ask the client with the same id. So on the way out
// (sessionConn), a request gets the next number of the session's own
// sequence, shared by every replica (the positions of the event-store
// stream requestStream: gapless, from 0), which is the id go-sdk's own
// handler gives it as long as one replica asks; the replica keeps which of
// its go-sdk requests the number stands for (outgoing). The client's
// answer, POSTed to any replica, goes to the go-sdk session of that
// replica if it asked, and otherwise, over the bus (topicAnswer), to every
// replica, whose go-sdk session that asked takes it with go-sdk's own id.

const (
	// requestStream is the event-store stream whose positions number a
	// session's server-to-client requests. Its name cannot be a go-sdk
	// stream's (they are base32), and resolveEventID refuses it.
	requestStream = "mcpsession/requests"
	// topicAnswer carries a client's answer to every replica.
	topicAnswer = "mcpsession/gosdk/answer"
)

// outgoing is what one go-sdk session asked on the wire and waits for.
type outgoing struct {
	mu     sync.Mutex
	toSDK  map[int64]jsonrpc.ID // by wire number: go-sdk's id
	toWire map[string]int64     // by go-sdk's id, as JSON: the wire number
}

func newOutgoing() *outgoing {
	return &outgoing{toSDK: make(map[int64]jsonrpc.ID), toWire: make(map[string]int64)}
}

func (o *outgoing) add(n int64, sdk jsonrpc.ID) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.toSDK[n] = sdk
	o.toWire[idKey(sdk.Raw())] = n
}

// take returns go-sdk's id of the request numbered n, and forgets it: an
// answer is taken once.
func (o *outgoing) take(n int64) (jsonrpc.ID, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	sdk, ok := o.toSDK[n]
	if ok {
		delete(o.toSDK, n)
		delete(o.toWire, idKey(sdk.Raw()))
	}
	return sdk, ok
}

// wire returns the number of go-sdk's request sdk (its id as JSON), and
// forgets it: go-sdk cancels it, so no answer is awaited.
func (o *outgoing) wire(sdk json.RawMessage) (int64, bool) {
	var v any
	if json.Unmarshal(sdk, &v) != nil {
		return 0, false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	n, ok := o.toWire[idKey(v)]
	if ok {
		delete(o.toWire, idKey(v))
		delete(o.toSDK, n)
	}
	return n, ok
}

// idKey is a go-sdk id (an int64, a float64 decoded from JSON, or a
// string) as a map key.
func idKey(v any) string {
	switch x := v.(type) {
	case float64:
		return fmt.Sprintf("n%d", int64(x))
	case int64:
		return fmt.Sprintf("n%d", x)
	}
	return fmt.Sprintf("s%v", v)
}

// number draws the next number of session's requests.
func (st *streams) number(ctx context.Context, session string) (int64, error) {
	ev, err := st.store.Append(ctx, session, requestStream, nil)
	if err != nil {
		return 0, fmt.Errorf("gosdk: number a request to the client: %w", err)
	}
	return ev.Pos + 1, nil
}

// answer is the payload of a topicAnswer message.
type answer struct {
	From    string          `json:"from"`
	Session string          `json:"session"`
	ID      int64           `json:"id"`
	Message json.RawMessage `json:"message"`
}

// routeAnswers takes a POST's body of answers to the server's requests:
// each whose id is a number goes to this replica's go-sdk session of the
// session, with go-sdk's id, if it asked, and to every other replica
// otherwise; the rest stays. rest is what is left for this replica's
// go-sdk session (nil for nothing), as one message or, for a batch, an
// array.
func (st *streams) routeAnswers(ctx context.Context, s *Sessions, session string, body []byte) (rest []byte, err error) {
	trimmed := bytes.TrimSpace(body)
	batch := len(trimmed) > 0 && trimmed[0] == '['
	var raws []json.RawMessage
	if batch {
		if json.Unmarshal(trimmed, &raws) != nil {
			return body, nil
		}
	} else {
		raws = []json.RawMessage{trimmed}
	}
	out := s.outgoingOf(session)
	var kept []json.RawMessage
	changed := false
	for _, raw := range raws {
		n, ok := numberedAnswer(raw)
		if !ok {
			kept = append(kept, raw)
			continue
		}
		changed = true
		if out != nil {
			if sdk, ok := out.take(n); ok {
				kept = append(kept, withSDKID(raw, sdk))
				continue
			}
		}
		payload, err := json.Marshal(answer{From: st.relay.Replica(), Session: session, ID: n, Message: raw})
		if err != nil {
			return nil, err
		}
		if _, err := st.bus.Publish(ctx, topicAnswer, payload); err != nil {
			return nil, fmt.Errorf("gosdk: forward an answer: %w", err)
		}
	}
	switch {
	case !changed:
		return body, nil
	case len(kept) == 0:
		return nil, nil
	case !batch:
		return kept[0], nil
	}
	return json.Marshal(kept)
}

// onAnswer hands another replica's answer to this replica's go-sdk
// session that asked, if any.
func (st *streams) onAnswer(s *Sessions, m msgbus.Message) {
	var a answer
	if json.Unmarshal(m.Payload, &a) != nil || a.From == st.relay.Replica() || a.Session == "" {
		return
	}
	out := s.outgoingOf(a.Session)
	if out == nil {
		return
	}
	sdk, ok := out.take(a.ID)
	if !ok {
		return
	}
	msg := withSDKID(a.Message, sdk)
	st.goWork(func() { s.inject(a.Session, msg) })
}

// goWork runs fn on a goroutine of its own, counted for shutdown; after
// shutdown, not at all. The count grows only under mu while not shut
// down, so that shutdown's Wait never meets an Add.
func (st *streams) goWork(fn func()) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.down {
		return
	}
	st.work.Go(fn)
}

// shutdown stops taking answers from the bus and waits for the ones being
// handed over.
func (st *streams) shutdown() {
	st.mu.Lock()
	first := !st.down
	st.down = true
	st.mu.Unlock()
	if first {
		st.unsub()
	}
	st.work.Wait()
}

// numberedAnswer returns the id of a JSON-RPC response whose id is a
// number.
func numberedAnswer(raw json.RawMessage) (int64, bool) {
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if json.Unmarshal(raw, &m) != nil || m.Method != "" || (m.Result == nil && m.Error == nil) {
		return 0, false
	}
	var n int64
	if json.Unmarshal(m.ID, &n) != nil {
		return 0, false
	}
	return n, true
}

// withSDKID returns the message msg with go-sdk's id.
func withSDKID(msg json.RawMessage, sdk jsonrpc.ID) json.RawMessage {
	id, err := json.Marshal(sdk.Raw())
	if err != nil {
		return msg
	}
	return relay.WithID(msg, id)
}

// outgoingOf returns what this replica's go-sdk session of session asked,
// or nil if there is none.
func (s *Sessions) outgoingOf(session string) *outgoing {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.locals[session]; l != nil {
		return l.out
	}
	return nil
}
