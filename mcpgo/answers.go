package mcpgo

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/adapter"
	"github.com/mcpsession/mcpsession/internal/httpstatus"
	"github.com/mcpsession/mcpsession/internal/principal"
	"github.com/mcpsession/mcpsession/internal/relay"
)

// maxInspect bounds how much of a POST's body the adapter reads to see
// what it holds: mcp-go's default bound. A longer body goes to mcp-go
// unread past it, for mcp-go to bound as it is configured to.
const maxInspect = server.DefaultMaxRequestBodyBytes

// peekBody reads r's body, up to maxInspect bytes, for the adapter to see
// what it holds, and puts it back for mcp-go. whole is false when the body
// is longer (r.Body then yields all of it still, and the caller passes r
// on unread); ok is false when the body could not be read and the 400 has
// been written.
func peekBody(w http.ResponseWriter, r *http.Request) (body []byte, whole, ok bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxInspect+1))
	if err != nil {
		http.Error(w, "Bad Request: cannot read the body", http.StatusBadRequest)
		return nil, false, false
	}
	if len(body) > maxInspect {
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
		return nil, false, true
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return body, true, true
}

// post prepares a legacy POST of a session for mcp-go. A client's answer
// to a server-to-client request goes where the request came from and is
// answered there (routeAnswer). What mcp-go writes on the response
// has its server-to-client requests' ids made wire ids. after, when not
// nil, runs once mcp-go has served the request: a notifications/cancelled
// goes to the other replicas then. ok is false when the response has been
// written.
func (st *streams) post(s *Sessions, w http.ResponseWriter, r *http.Request) (_ http.ResponseWriter, _ *http.Request, after func(), ok bool) {
	sid := r.Header.Get(server.HeaderKeySessionID)
	if sid == "" {
		return w, r, nil, true
	}
	body, whole, ok := peekBody(w, r)
	if !ok {
		return nil, nil, nil, false
	}
	if !whole {
		return st.relay.RewritingWriter(w), r, nil, true
	}
	if isAnswer(r.Header, body) {
		st.routeAnswer(s, w, r, sid, body)
		return nil, nil, nil, false
	}
	if relay.IsCancelled(body) {
		after = func() {
			// Only a cancellation mcp-go took here, of a live session.
			if rs := requestStateFrom(r.Context()); rs != nil && rs.record() != nil {
				if err := st.relay.Cancelled(r.Context(), sid, body); err != nil {
					s.core.StoreFailed(r.Context(), "telling the other replicas of a cancellation", err)
				}
			}
		}
	}
	return st.relay.RewritingWriter(w), r, after, true
}

// routeAnswer answers a client's answer (isAnswer) to a request of the
// live session sid: one to another replica's request is forwarded there,
// and that replica's mcp-go's verdict answers the client; one to this
// replica's mcp-go goes to it with mcp-go's own id back, and so does one
// to no request of any replica's, which mcp-go refuses. Checked as
// mcp-go's own path would (Validate), principal included: an answer is
// routed only into the live session of its principal.
func (st *streams) routeAnswer(s *Sessions, w http.ResponseWriter, r *http.Request, sid string, body []byte) {
	ctx := r.Context()
	principal, _ := principal.Of(ctx) // Handler put it there
	_, err := s.core.OpenAs(ctx, sid, principal)
	switch {
	case errors.Is(err, mcpsession.ErrNotFound):
		notFound(w)
		return
	case adapter.IsForeign(err):
		httpstatus.Forbidden(w)
		return
	case err != nil:
		s.core.StoreFailed(ctx, "reading a session", err)
		httpstatus.Unavailable(w)
		return
	}
	var a struct {
		ID json.RawMessage `json:"id"`
	}
	_ = json.Unmarshal(body, &a) // isAnswer decoded it
	if st.relay.ForeignID(a.ID) {
		v, err := st.relay.Forward(ctx, sid, body)
		switch {
		case err != nil && ctx.Err() != nil:
			return // the client went: its call, which the answer unblocked, may have completed first
		case err != nil:
			s.core.StoreFailed(ctx, "forwarding an answer to another replica", err)
			httpstatus.Unavailable(w)
			return
		}
		v.Write(w)
		return
	}
	if orig, ok := st.relay.RestoreID(a.ID); ok {
		body = relay.WithID(body, orig)
	}
	noPending(st.serveLocal(http.MethodPost, sid, nil, body)).Write(w)
}

// isAnswer reports whether mcp-go would take the POST, of a session, for
// a client's answer to one of its requests (handleSamplingResponse): a
// JSON-RPC response with a result or an error, that mcp-go does not answer
// 202 at once (empty) or refuse first (its content type, its protocol
// version, the sessionless revision, a batch, which mcp-go does not take).
func isAnswer(h http.Header, body []byte) bool {
	if mt, _, err := mime.ParseMediaType(h.Get("Content-Type")); err != nil || mt != "application/json" {
		return false
	}
	if v := h.Get(mcp.HeaderProtocolVersion); v != "" && (!mcp.IsValidProtocolVersion(v) || mcp.IsModernProtocol(v)) {
		return false
	}
	var m struct {
		ID     json.RawMessage `json:"id"`
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
		Method string          `json:"method"`
	}
	if json.Unmarshal(body, &m) != nil || m.Method != "" || m.ID == nil {
		return false
	}
	switch {
	case jsonEmpty(m.Result) && jsonEmpty(m.Error): // mcp-go: an empty response, 202
		return false
	case explicitEmptyObject(m.Result) && len(bytes.TrimSpace(m.Error)) == 0: // a ping's answer, 202
		return false
	}
	return m.Result != nil || m.Error != nil
}

// jsonEmpty is mcp-go's isJSONEmpty: absent, null, {} or [].
func jsonEmpty(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || bytes.Equal(v, []byte("null")) {
		return true
	}
	var x any
	if json.Unmarshal(v, &x) != nil {
		return false
	}
	switch x := x.(type) {
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// explicitEmptyObject reports whether v is {}.
func explicitEmptyObject(v json.RawMessage) bool {
	var obj map[string]json.RawMessage
	v = bytes.TrimSpace(v)
	return len(v) > 0 && v[0] == '{' && json.Unmarshal(v, &obj) == nil && len(obj) == 0
}

// notFound answers 404 as mcp-go answers a session id it does not know.
func notFound(w http.ResponseWriter) {
	http.Error(w, "Invalid session ID", http.StatusNotFound)
}
