package relay

import (
	"bytes"
	"encoding/json"
	"strings"
)

// idScheme starts every wire id: "mcpsession/<replica>/<kind>/<value>".
const idScheme = "mcpsession/"

// The kinds of wire ids: the SDK's own id, a number or a string, or a
// request the relay made itself (Call).
const (
	kindNumber = 'n'
	kindString = 's'
	kindCall   = 'r'
)

// wireID is a parsed wire id.
type wireID struct {
	replica string
	kind    byte
	value   string
}

// OutgoingID returns the id a server-to-client request with the SDK's id
// orig (a JSON number or string) carries on the wire, or orig unchanged if
// it is neither (null, or already a wire id).
func (r *Relay) OutgoingID(orig json.RawMessage) json.RawMessage {
	orig = bytes.TrimSpace(orig)
	if len(orig) == 0 {
		return orig
	}
	var kind byte
	var value string
	switch orig[0] {
	case '"':
		if err := json.Unmarshal(orig, &value); err != nil || strings.HasPrefix(value, idScheme) {
			return orig
		}
		kind = kindString
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		if err := json.Unmarshal(orig, &n); err != nil {
			return orig
		}
		kind, value = kindNumber, n.String()
	default:
		return orig
	}
	return r.wireID(kind, value)
}

func (r *Relay) wireID(kind byte, value string) json.RawMessage {
	b, _ := json.Marshal(idScheme + r.replica + "/" + string(kind) + "/" + value) // a string always encodes
	return b
}

// parseID reads a wire id; ok is false for any other id.
func parseID(raw json.RawMessage) (id wireID, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return wireID{}, false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return wireID{}, false
	}
	rest, found := strings.CutPrefix(s, idScheme)
	if !found {
		return wireID{}, false
	}
	replica, rest, found := strings.Cut(rest, "/")
	if !found || replica == "" || len(rest) < 2 || rest[1] != '/' {
		return wireID{}, false
	}
	id = wireID{replica: replica, kind: rest[0], value: rest[2:]}
	switch id.kind {
	case kindNumber:
		var n json.Number
		if json.Unmarshal([]byte(id.value), &n) != nil {
			return wireID{}, false
		}
	case kindString, kindCall:
	default:
		return wireID{}, false
	}
	return id, true
}

// original is the SDK's id the wire id stands for.
func (id wireID) original() json.RawMessage {
	if id.kind == kindNumber {
		return json.RawMessage(id.value)
	}
	b, _ := json.Marshal(id.value)
	return b
}

// ForeignID reports whether raw is a wire id of another replica: the
// answer of a request this replica did not send, which RouteResponses
// forwards.
func (r *Relay) ForeignID(raw json.RawMessage) bool {
	id, ok := parseID(raw)
	return ok && id.replica != r.replica
}

// RestoreID returns the SDK's id of this replica's wire id raw, and
// whether raw was one (a request the relay made itself is not: Call waits
// for those).
func (r *Relay) RestoreID(raw json.RawMessage) (json.RawMessage, bool) {
	id, ok := parseID(raw)
	if !ok || id.replica != r.replica || id.kind == kindCall {
		return raw, false
	}
	return id.original(), true
}

// RewriteOutgoing returns msg, one JSON-RPC message as an SDK writes it,
// with its id made a wire id if it is a server-to-client request; any other
// message (a notification, a response, something that is not JSON) comes
// back as it is.
func (r *Relay) RewriteOutgoing(msg []byte) []byte {
	if !bytes.Contains(msg, []byte(`"method"`)) || !bytes.Contains(msg, []byte(`"id"`)) {
		return msg
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(msg, &fields) != nil {
		return msg
	}
	id, hasID := fields["id"]
	if _, hasMethod := fields["method"]; !hasMethod || !hasID || bytes.Equal(bytes.TrimSpace(id), []byte("null")) {
		return msg
	}
	wire := r.OutgoingID(id)
	if bytes.Equal(wire, id) {
		return msg
	}
	fields["id"] = wire
	out, err := json.Marshal(fields)
	if err != nil {
		return msg
	}
	return out
}
