package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
)

// RPCError is a client's JSON-RPC error answer to a Call.
type RPCError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *RPCError) Error() string { return fmt.Sprintf("JSON-RPC error %d: %s", e.Code, e.Message) }

// call is a Call waiting for its answer.
type call struct {
	session string
	once    sync.Once
	done    chan struct{}
	result  json.RawMessage
	err     error
}

func (c *call) finish(result json.RawMessage, err error) {
	c.once.Do(func() {
		c.result, c.err = result, err
		close(c.done)
	})
}

// answer is what RouteResponses and the forwarded path read of a
// client's message.
type answer struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

func (a answer) isResponse() bool {
	return a.Method == "" && len(a.ID) > 0 && (a.Result != nil || a.Error != nil)
}

// Responses reports whether body, a POST's, holds JSON-RPC responses
// only: answers to server-to-client requests, for RouteResponses.
func Responses(body []byte) bool {
	trimmed := bytes.TrimSpace(body)
	var raws []json.RawMessage
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if json.Unmarshal(trimmed, &raws) != nil || len(raws) == 0 {
			return false
		}
	} else {
		raws = []json.RawMessage{trimmed}
	}
	for _, raw := range raws {
		var a answer
		if json.Unmarshal(raw, &a) != nil || !a.isResponse() {
			return false
		}
	}
	return true
}

// RouteResponses takes the body of a client's POST to the session. If it
// holds anything but JSON-RPC responses, it is not the relay's business:
// the body comes back as it is. Otherwise each answer goes where its
// request came from: one of another replica's requests is published to
// that replica; one of this replica's Calls is handed to it; one of this
// replica's SDK's requests stays, with the SDK's id restored; any other
// stays as it is. rest is what the SDK must still see (nil when nothing
// is left: answer 202), as one message or, for a batch, an array. A
// publish that fails is an error: nothing was forwarded for sure, and the
// client should retry.
func (r *Relay) RouteResponses(ctx context.Context, session string, body []byte) (rest []byte, err error) {
	trimmed := bytes.TrimSpace(body)
	batch := len(trimmed) > 0 && trimmed[0] == '['
	var raws []json.RawMessage
	if batch {
		if json.Unmarshal(trimmed, &raws) != nil || len(raws) == 0 {
			return body, nil
		}
	} else {
		raws = []json.RawMessage{trimmed}
	}
	answers := make([]answer, len(raws))
	for i, raw := range raws {
		if json.Unmarshal(raw, &answers[i]) != nil || !answers[i].isResponse() {
			return body, nil
		}
	}
	var kept []json.RawMessage
	for i, a := range answers {
		id, ours := parseID(a.ID)
		switch {
		case !ours:
			kept = append(kept, raws[i])
		case id.replica != r.replica:
			payload, err := json.Marshal(forwarded{Session: session, Message: raws[i]})
			if err != nil {
				return nil, err
			}
			if err := r.publish(ctx, topicReplica+id.replica, payload); err != nil {
				return nil, err
			}
		case id.kind == kindCall:
			r.answerCall(session, id, a)
		default:
			kept = append(kept, WithID(raws[i], id.original()))
		}
	}
	switch {
	case len(kept) == 0:
		return nil, nil
	case !batch:
		return kept[0], nil
	}
	return json.Marshal(kept)
}

// deliverLocal handles an answer forwarded to this replica; reply, when
// not "", asks for the verdict.
func (r *Relay) deliverLocal(session string, msg json.RawMessage, reply string) {
	var a answer
	if json.Unmarshal(msg, &a) != nil || !a.isResponse() {
		r.sendVerdict(reply, session, refused)
		return
	}
	id, ours := parseID(a.ID)
	if !ours || id.replica != r.replica {
		r.sendVerdict(reply, session, refused)
		return
	}
	if id.kind == kindCall {
		v := accepted
		if !r.answerCall(session, id, a) {
			v = refused
		}
		r.sendVerdict(reply, session, v)
		return
	}
	restored := WithID(msg, id.original())
	r.goWork(func() {
		if r.cfg.Deliver != nil {
			r.sendVerdict(reply, session, r.cfg.Deliver(session, restored))
			return
		}
		r.cfg.Inject(session, restored)
		r.sendVerdict(reply, session, accepted)
	})
}

// answerCall hands a Call its answer, if it still waits, and if it is the
// session's own (a client cannot answer another session's requests), and
// reports whether it did.
func (r *Relay) answerCall(session string, id wireID, a answer) bool {
	r.mu.Lock()
	c := r.pending[id.value]
	if c == nil || c.session != session {
		r.mu.Unlock()
		return false
	}
	delete(r.pending, id.value)
	r.mu.Unlock()
	if a.Error != nil && !bytes.Equal(bytes.TrimSpace(a.Error), []byte("null")) {
		var e RPCError
		if err := json.Unmarshal(a.Error, &e); err != nil {
			c.finish(nil, fmt.Errorf("relay: a malformed error answer: %w", err))
			return true
		}
		c.finish(nil, &e)
		return true
	}
	c.finish(a.Result, nil)
	return true
}

// Call sends the client of session a request (method, params) on its
// standalone stream, wherever its GET is open (or stored for it to resume
// if none is), and waits for the answer, which may reach any replica: the
// result, a *RPCError, ErrSessionEnded, or ctx's error.
func (r *Relay) Call(ctx context.Context, session, method string, params any) (json.RawMessage, error) {
	value := strconv.FormatInt(r.calls.Add(1), 10)
	msg := struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Method  string          `json:"method"`
		Params  any             `json:"params,omitempty"`
	}{"2.0", r.wireID(kindCall, value), method, params}
	data, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("relay: encode %s: %w", method, err)
	}
	c := &call{session: session, done: make(chan struct{})}
	r.mu.Lock()
	if r.down.Err() != nil {
		r.mu.Unlock()
		return nil, ErrSessionEnded
	}
	r.pending[value] = c
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.pending, value)
		r.mu.Unlock()
	}()
	if _, err := r.Append(ctx, session, Standalone, data); err != nil {
		return nil, err
	}
	select {
	case <-c.done:
		return c.result, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// failCalls ends the Calls of session that wait.
func (r *Relay) failCalls(session string) {
	r.mu.Lock()
	var ended []*call
	for v, c := range r.pending {
		if c.session == session {
			ended = append(ended, c)
			delete(r.pending, v)
		}
	}
	r.mu.Unlock()
	for _, c := range ended {
		c.finish(nil, ErrSessionEnded)
	}
}

// WithID returns the JSON object msg with its "id" replaced (msg as it is
// when it is no JSON object).
func WithID(msg json.RawMessage, id json.RawMessage) json.RawMessage {
	var fields map[string]json.RawMessage
	if json.Unmarshal(msg, &fields) != nil {
		return msg
	}
	fields["id"] = id
	out, err := json.Marshal(fields)
	if err != nil {
		return msg
	}
	return out
}
