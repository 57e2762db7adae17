package gosdk

import (
	"bytes"
	"encoding/json"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The protocol revisions the adapter tells apart. Versions are dates, so
// they compare as strings, as go-sdk compares them.
const (
	// sessionless is the first revision without sessions (SEP-2567): its
	// requests carry their protocol version in _meta and go to go-sdk's
	// stateless handler.
	sessionless = "2026-07-28"
)

func isSessionless(version string) bool { return version >= sessionless }

// message is what the adapter reads of one JSON-RPC message of a POST.
type message struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params struct {
		Meta  map[string]any `json:"_meta"`
		Level *string        `json:"level"`
	} `json:"params"`
}

// post is a POST body as the adapter reads it. If the body is not JSON the
// adapter understands, parsed is false and go-sdk gives the error.
type post struct {
	msgs   []message
	raws   []json.RawMessage // msgs as they were sent
	batch  bool
	parsed bool
}

func parsePost(body []byte) post {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	var p post
	if len(trimmed) > 0 && trimmed[0] == '[' {
		p.batch = true
		p.parsed = json.Unmarshal(trimmed, &p.raws) == nil && json.Unmarshal(trimmed, &p.msgs) == nil
	} else {
		var m message
		p.parsed = json.Unmarshal(trimmed, &m) == nil
		p.msgs = []message{m}
		p.raws = []json.RawMessage{trimmed}
	}
	return p
}

// has reports whether a message of the POST is a request or notification
// of method.
func (p post) has(method string) bool {
	for _, m := range p.msgs {
		if m.Method == method {
			return true
		}
	}
	return false
}

// sessionless reports whether a message declares the sessionless revision
// in its _meta, which go-sdk then holds it to (SEP-2575).
func (p post) sessionless() bool {
	for _, m := range p.msgs {
		if v, _ := m.Params.Meta[mcp.MetaKeyProtocolVersion].(string); isSessionless(v) {
			return true
		}
	}
	return false
}

// levels returns the levels the POST's logging/setLevel requests ask for,
// in order.
func (p post) levels() []string {
	var out []string
	for _, m := range p.msgs {
		if m.Method == "logging/setLevel" && len(m.ID) > 0 && m.Params.Level != nil {
			out = append(out, *m.Params.Level)
		}
	}
	return out
}
