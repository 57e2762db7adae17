package adaptertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Header names, the same in every SDK.
const (
	HeaderSessionID       = "Mcp-Session-Id"
	HeaderProtocolVersion = "Mcp-Protocol-Version"
)

// LegacyVersion is the newest session-based revision, which the helpers
// send with a session id.
const LegacyVersion = "2025-11-25"

// Timeout bounds every request.
const Timeout = 30 * time.Second

// Response is an HTTP answer, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Messages returns the JSON-RPC messages of the answer: the data of each
// SSE event of a text/event-stream body, or the body itself.
func (r Response) Messages() []json.RawMessage {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/event-stream") {
		if len(bytes.TrimSpace(r.Body)) == 0 {
			return nil
		}
		return []json.RawMessage{r.Body}
	}
	var out []json.RawMessage
	for line := range strings.SplitSeq(string(r.Body), "\n") {
		if d, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "data: "); ok && d != "" {
			out = append(out, json.RawMessage(d))
		}
	}
	return out
}

var rpcID atomic.Int64

// NextID returns a JSON-RPC id no other request of the test binary uses.
func NextID() int64 { return rpcID.Add(1) }

// Post sends one JSON-RPC message (or a batch, as a slice). sid "" sends no
// Mcp-Session-Id; with one, the request also names LegacyVersion.
func Post(t testing.TB, url, sid string, msg any) Response {
	t.Helper()
	return PostWith(t, url, sid, nil, msg)
}

// PostWith is Post with more headers, set after Post's own.
func PostWith(t testing.TB, url, sid string, header http.Header, msg any) Response {
	t.Helper()
	return Do(t, PostRequest(t, url, sid, header, msg))
}

// PostRequest is the request PostWith sends.
func PostRequest(t testing.TB, url, sid string, header http.Header, msg any) *http.Request {
	t.Helper()
	b, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if sid != "" {
		req.Header.Set(HeaderSessionID, sid)
		req.Header.Set(HeaderProtocolVersion, LegacyVersion)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	return req
}

// Do sends req and reads the whole answer.
func Do(t testing.TB, req *http.Request) Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// Send sends a GET or DELETE with sid ("" sends none). A GET that is
// accepted is an endless stream: Send returns at its headers.
func Send(t testing.TB, method, url, sid string) Response {
	t.Helper()
	return SendWith(t, method, url, sid, nil)
}

// SendWith is Send with more headers.
func SendWith(t testing.TB, method, url, sid string, header http.Header) Response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sid != "" {
		req.Header.Set(HeaderSessionID, sid)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "text/event-stream")
	if method != http.MethodGet {
		return Do(t, req)
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return Response{Status: resp.StatusCode, Header: resp.Header}
}

// Initialize runs initialize and notifications/initialized with the client
// name and protocol version given, and returns the session id.
func Initialize(t testing.TB, url, client, version string) string {
	t.Helper()
	return InitializeWith(t, url, client, version, nil)
}

// InitializeWith is Initialize with more headers on both requests.
func InitializeWith(t testing.TB, url, client, version string, header http.Header) string {
	t.Helper()
	r := PostWith(t, url, "", header, map[string]any{
		"jsonrpc": "2.0", "id": NextID(), "method": "initialize",
		"params": map[string]any{
			"protocolVersion": version,
			"clientInfo":      map[string]any{"name": client, "version": "1.0"},
			"capabilities":    map[string]any{"roots": map[string]any{}},
		},
	})
	sid := r.Header.Get(HeaderSessionID)
	if r.Status != http.StatusOK || sid == "" {
		t.Fatalf("initialize: %d %s, session %q", r.Status, r.Body, sid)
	}
	if r := PostWith(t, url, sid, header, map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"}); r.Status != http.StatusAccepted {
		t.Fatalf("notifications/initialized: %d %s", r.Status, r.Body)
	}
	return sid
}

// Call sends a request and returns the answer's status and its JSON-RPC
// result (or error) as raw JSON; for a status other than 200, the body.
func Call(t testing.TB, url, sid, method string, params any) (int, json.RawMessage) {
	t.Helper()
	status, res, _ := CallAll(t, url, sid, method, params)
	return status, res
}

// CallAll is Call that also returns the messages the server sent before
// its answer (notifications, on an SSE answer).
func CallAll(t testing.TB, url, sid, method string, params any) (int, json.RawMessage, []json.RawMessage) {
	t.Helper()
	return answer(t, method, Post(t, url, sid, map[string]any{"jsonrpc": "2.0", "id": NextID(), "method": method, "params": params}))
}

// CallWith is Call with more headers.
func CallWith(t testing.TB, url, sid string, header http.Header, method string, params any) (int, json.RawMessage) {
	t.Helper()
	status, res, _ := answer(t, method, PostWith(t, url, sid, header, map[string]any{"jsonrpc": "2.0", "id": NextID(), "method": method, "params": params}))
	return status, res
}

// ModernVersion is the first sessionless revision.
const ModernVersion = "2026-07-28"

// CallModern sends a request of the sessionless revision, as its clients
// do: no session, the protocol version in the MCP-Protocol-Version header
// and in _meta with the client's info and capabilities (SEP-2575), the
// method (and, for tools/call, the tool) in the Mcp-Method and Mcp-Name
// headers; header adds more (credentials). It answers as Call.
func CallModern(t testing.TB, url string, header http.Header, method string, params map[string]any) (int, json.RawMessage) {
	t.Helper()
	p := map[string]any{"_meta": map[string]any{
		"io.modelcontextprotocol/protocolVersion":    ModernVersion,
		"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "modern", "version": "1.0"},
		"io.modelcontextprotocol/clientCapabilities": map[string]any{},
	}}
	for k, v := range params {
		p[k] = v
	}
	h := http.Header{}
	h.Set(HeaderProtocolVersion, ModernVersion)
	h.Set("Mcp-Method", method)
	if name, ok := params["name"].(string); ok {
		h.Set("Mcp-Name", name)
	}
	for k, vs := range header {
		h[k] = vs
	}
	status, res, _ := answer(t, method, PostWith(t, url, "", h, map[string]any{"jsonrpc": "2.0", "id": NextID(), "method": method, "params": p}))
	return status, res
}

// answer reads the JSON-RPC answer of r, as Call returns it.
func answer(t testing.TB, method string, r Response) (int, json.RawMessage, []json.RawMessage) {
	t.Helper()
	if r.Status != http.StatusOK {
		return r.Status, r.Body, nil
	}
	msgs := r.Messages()
	if len(msgs) == 0 {
		t.Fatalf("%s: no answer in %q", method, r.Body)
	}
	var msg struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	last := msgs[len(msgs)-1]
	if err := json.Unmarshal(last, &msg); err != nil {
		t.Fatalf("%s: %v in %s", method, err, last)
	}
	if msg.Error != nil {
		return r.Status, msg.Error, msgs[:len(msgs)-1]
	}
	return r.Status, msg.Result, msgs[:len(msgs)-1]
}

// Tool calls a tool and returns its first text, failing t unless the
// answer is 200 with content and no error.
func Tool(t testing.TB, url, sid, name string, args map[string]any) string {
	t.Helper()
	return ToolWith(t, url, sid, nil, name, args)
}

// ToolWith is Tool with more headers.
func ToolWith(t testing.TB, url, sid string, header http.Header, name string, args map[string]any) string {
	t.Helper()
	if args == nil {
		args = map[string]any{}
	}
	status, res := CallWith(t, url, sid, header, "tools/call", map[string]any{"name": name, "arguments": args})
	return toolText(t, name, status, res)
}

// ModernTool is Tool in the sessionless revision (see CallModern).
func ModernTool(t testing.TB, url string, header http.Header, name string, args map[string]any) string {
	t.Helper()
	if args == nil {
		args = map[string]any{}
	}
	status, res := CallModern(t, url, header, "tools/call", map[string]any{"name": name, "arguments": args})
	return toolText(t, name, status, res)
}

func toolText(t testing.TB, name string, status int, res json.RawMessage) string {
	t.Helper()
	if status != http.StatusOK {
		t.Fatalf("tools/call %s: %d %s", name, status, res)
	}
	var out struct {
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
		IsError bool `json:"isError"`
	}
	if err := json.Unmarshal(res, &out); err != nil || len(out.Content) == 0 || out.IsError {
		t.Fatalf("tools/call %s: %s (%v)", name, res, err)
	}
	return out.Content[0].Text
}

// Eventually polls cond every 10ms until it holds or the deadline passes:
// for what nothing signals (a row expiring on the database's clock).
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
