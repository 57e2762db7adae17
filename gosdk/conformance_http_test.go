//lint:file-ignore SA1019 the ported cases exercise what the sessionless revision deprecates (logging, sampling) and go-sdk's deprecated CrossOriginProtection, as go-sdk's own cases do.

package gosdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The ported cases that send raw HTTP, one function of go-sdk's at a time.

// initBody is an initialize as go-sdk's cases write it by hand.
func initBody(version string) string {
	return `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + version + `","capabilities":{},"clientInfo":{"name":"test","version":"1.0"}}}`
}

// noop is go-sdk's cases' tool that answers "ok".
func noop(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "ok"}}}, nil, nil
}

type hiParams struct {
	Name string
}

// TestConformanceStreamableStateless ports TestStreamableStateless: a
// stateless handler, by raw HTTP and with go-sdk's client.
func TestConformanceStreamableStateless(t *testing.T) {
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		sayHi := func(ctx context.Context, req *mcp.CallToolRequest, args hiParams) (*mcp.CallToolResult, any, error) {
			if err := req.Session.Ping(ctx, nil); err == nil {
				t.Errorf("ping succeeded unexpectedly") // it must fail, not break the connection
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "hi " + args.Name}}}, nil, nil
		}
		tg := serve(t, w, conf{opts: mcp.StreamableHTTPOptions{Stateless: true}, server: func() *mcp.Server {
			server := mcp.NewServer(testImpl, nil)
			mcp.AddTool(server, &mcp.Tool{Name: "greet", Description: "say hi"}, sayHi)
			return server
		}})
		runSteps(t, tg.URL, []step{
			{
				method:     "POST",
				messages:   msgs(rpcRequest(1, "initialize", &mcp.InitializeParams{})),
				wantStatus: http.StatusOK,
				wantMessages: msgs(rpcResponse(1, &mcp.InitializeResult{
					Capabilities:    &mcp.ServerCapabilities{Logging: &mcp.LoggingCapabilities{}, Tools: &mcp.ToolCapabilities{ListChanged: true}},
					ProtocolVersion: v20251125,
					ServerInfo:      &mcp.Implementation{Name: "test", Version: "v1.0.0"},
				}, nil)),
				wantSessionID: false, // sessionless
			},
			{method: "POST", messages: msgs(rpcRequest(1, "tools/list", struct{}{})), wantStatus: http.StatusOK, wantBodyContaining: "greet"},
			{method: "GET", wantStatus: http.StatusMethodNotAllowed},
			{
				method: "POST", messages: msgs(rpcRequest(2, "tools/call", &mcp.CallToolParams{Name: "greet", Arguments: hiParams{Name: "World"}})),
				wantStatus:   http.StatusOK,
				wantMessages: msgs(rpcResponse(2, &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "hi World"}}}, nil)),
			},
			{
				method: "POST", messages: msgs(rpcRequest(2, "tools/call", &mcp.CallToolParams{Name: "greet", Arguments: hiParams{Name: "foo"}})),
				wantStatus:   http.StatusOK,
				wantMessages: msgs(rpcResponse(2, &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "hi foo"}}}, nil)),
			},
		})
		cs, err := mcp.NewClient(testImpl, nil).Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: tg.URL}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cs.Close() })
		res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "greet", Arguments: hiParams{Name: "bar"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := textOf(t, res); got != "hi bar" {
			t.Errorf("Result = %q, want %q", got, "hi bar")
		}
	})
}

// textOf is a result's one text.
func textOf(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	if len(res.Content) != 1 {
		t.Fatalf("len(Content) = %d, want 1", len(res.Content))
	}
	text, ok := res.Content[0].(*mcp.TextContent)
	if !ok {
		t.Fatalf("Content[0] is %T, want *TextContent", res.Content[0])
	}
	return text.Text
}

// TestConformanceSessionHijackingPrevention ports
// TestSessionHijackingPrevention: a session bound to a token's user
// refuses another user (403).
func TestConformanceSessionHijackingPrevention(t *testing.T) {
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		// The bearer token is the user id, as a verifier reading a JWT's
		// "sub" would make it.
		verifier := func(_ context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
			return &auth.TokenInfo{Scopes: []string{"scope"}, UserID: token, Expiration: time.Date(5000, 1, 2, 3, 4, 5, 0, time.UTC)}, nil
		}
		tg := serve(t, w, conf{wrap: auth.RequireBearerToken(verifier, nil)})
		as := func(msg json.RawMessage, sid, user string) int {
			h := http.Header{"Authorization": {"Bearer " + user}}
			if sid != "" {
				h.Set(hdrSessionID, sid)
			}
			return sendRaw(t, http.MethodPost, tg.URL, msg, h).status
		}
		reply := sendRaw(t, http.MethodPost, tg.URL, rpcRequest(1, "initialize", &mcp.InitializeParams{
			ProtocolVersion: v20250618, ClientInfo: &mcp.Implementation{Name: "test", Version: "1.0"},
		}), http.Header{"Authorization": {"Bearer user1"}})
		sid := reply.header.Get(hdrSessionID)
		if reply.status != http.StatusOK || sid == "" {
			t.Fatalf("initialize: %d %s, session %q", reply.status, reply.body, sid)
		}
		ping := rpcRequest(2, "ping", &mcp.PingParams{})
		if got := as(ping, sid, "user2"); got != http.StatusForbidden {
			t.Errorf("expected status %d for user mismatch, got %d", http.StatusForbidden, got)
		}
		if got := as(ping, sid, "user1"); got != http.StatusOK {
			t.Errorf("expected status %d for matching user, got %d", http.StatusOK, got)
		}
	})
}

// TestConformanceStreamableGET ports TestStreamableGET (#410): a GET
// stream's headers are written at once, before any message.
func TestConformanceStreamableGET(t *testing.T) {
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		tg := serve(t, w, conf{})
		// No session: 400 (GET is allowed; it needs a session).
		if r := sendRaw(t, http.MethodGet, tg.URL, nil, nil); r.status != http.StatusBadRequest {
			t.Errorf("initial GET: got status %d, want %d", r.status, http.StatusBadRequest)
		}
		reply := sendRaw(t, http.MethodPost, tg.URL, rpcRequest(1, "initialize", &mcp.InitializeParams{}), nil)
		if reply.status != http.StatusOK {
			t.Errorf("initialize POST: got status %d, want %d; body:\n%s", reply.status, http.StatusOK, reply.body)
		}
		sid := reply.header.Get(hdrSessionID)
		if sid == "" {
			t.Fatal("initialized missing session ID")
		}
		// The GET hangs: its status must come without a message.
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, tg.URL, nil)
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set(hdrSessionID, sid)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET with session ID: got status %d, want %d", resp.StatusCode, http.StatusOK)
		}
		if r := sendRaw(t, http.MethodDelete, tg.URL, nil, http.Header{hdrSessionID: {sid}}); r.status != http.StatusNoContent {
			t.Errorf("DELETE with session ID: got status %d, want %d", r.status, http.StatusNoContent)
		}
	})
}

// TestConformanceStreamableMcpHeaderValidation ports
// TestStreamableMcpHeaderValidation: Mcp-Method, Mcp-Name and Mcp-Param-*
// checked against the body (SEP-2243), on a stateless handler.
func TestConformanceStreamableMcpHeaderValidation(t *testing.T) {
	serverImpl := &mcp.Implementation{Name: "testServer", Version: "v1.0.0"}
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		tg := serve(t, w, conf{opts: mcp.StreamableHTTPOptions{Stateless: true}, server: func() *mcp.Server {
			server := mcp.NewServer(serverImpl, nil)
			done := func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return &mcp.CallToolResult{}, nil
			}
			server.AddTool(&mcp.Tool{Name: "my-tool", InputSchema: objectSchema}, done)
			server.AddTool(&mcp.Tool{Name: "execute_sql", InputSchema: map[string]any{
				"type": "object",
				"properties": map[string]any{
					"region": map[string]any{"type": "string", "x-mcp-header": "Region"},
					"query":  map[string]any{"type": "string"},
				},
			}}, done)
			return server
		}})
		meta := mcp.Meta{
			mcp.MetaKeyProtocolVersion:    v20260728,
			mcp.MetaKeyClientInfo:         map[string]any{"name": "testClient", "version": "v1.0.0"},
			mcp.MetaKeyClientCapabilities: map[string]any{},
		}
		result := rpcResultWithServerInfo(serverImpl)
		hdr := func(method, name string, more ...string) http.Header {
			h := http.Header{hdrProtocolVersion: {v20260728}, hdrMethod: {method}, hdrName: {name}}
			for i := 0; i+1 < len(more); i += 2 {
				h.Set(more[i], more[i+1])
			}
			return h
		}
		call := func(id int64, name string, args any) json.RawMessage {
			return rpcRequest(id, "tools/call", &mcp.CallToolParams{Meta: meta, Name: name, Arguments: args})
		}
		runSteps(t, tg.URL, []step{
			{method: "POST", headers: hdr("tools/call", "my-tool"), messages: msgs(call(2, "my-tool", nil)), wantStatus: http.StatusOK, wantMessages: msgs(result(2))},
			{method: "POST", headers: hdr("prompts/get", "my-tool"), messages: msgs(call(3, "my-tool", nil)), wantStatus: http.StatusBadRequest, wantBodyContaining: "Mcp-Method header value"},
			{method: "POST", headers: hdr("tools/call", "wrong-tool"), messages: msgs(call(4, "my-tool", nil)), wantStatus: http.StatusBadRequest, wantBodyContaining: "Mcp-Name header value"},
			{method: "POST", headers: hdr("TOOLS/CALL", "my-tool"), messages: msgs(call(5, "my-tool", nil)), wantStatus: http.StatusBadRequest, wantBodyContaining: "Mcp-Method header value"},
			{method: "POST", headers: hdr("tools/call", "my-tool"), messages: msgs(call(6, "my-tool", nil)), wantStatus: http.StatusOK, wantMessages: msgs(result(6))},
			{method: "POST", headers: hdr("tools/call", "execute_sql", hdrParamPrefix+"Region", "us-west1"),
				messages:   msgs(call(7, "execute_sql", map[string]any{"region": "us-west1", "query": "SELECT 1"})),
				wantStatus: http.StatusOK, wantMessages: msgs(result(7))},
			{method: "POST", headers: hdr("tools/call", "execute_sql", hdrParamPrefix+"Region", "eu-central1"),
				messages:   msgs(call(8, "execute_sql", map[string]any{"region": "us-west1"})),
				wantStatus: http.StatusBadRequest, wantBodyContaining: "header mismatch"},
			{method: "POST", headers: hdr("tools/call", "execute_sql"),
				messages:   msgs(call(9, "execute_sql", map[string]any{"region": "us-west1"})),
				wantStatus: http.StatusBadRequest, wantBodyContaining: "missing"},
		})
	})
}

// rpcResultWithServerInfo is the answer of a tool that returns an empty
// result on the sessionless revision, where go-sdk adds the server's info
// to every result's _meta, and "resultType": "complete".
func rpcResultWithServerInfo(impl *mcp.Implementation) func(id int64) json.RawMessage {
	return func(id int64) json.RawMessage {
		return rpcResponse(id, map[string]any{
			"content":    []any{},
			"resultType": "complete",
			"_meta":      map[string]any{mcp.MetaKeyServerInfo: impl},
		}, nil)
	}
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestConformanceStreamableMcpHeaderValidationErrorFormat ports
// TestStreamableMcpHeaderValidationErrorFormat: a header mismatch is a
// JSON-RPC error -32020, in application/json, status 400.
func TestConformanceStreamableMcpHeaderValidationErrorFormat(t *testing.T) {
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		tg := serve(t, w, conf{opts: mcp.StreamableHTTPOptions{Stateless: true}, server: func() *mcp.Server {
			server := mcp.NewServer(&mcp.Implementation{Name: "testServer", Version: "v1.0.0"}, nil)
			server.AddTool(&mcp.Tool{Name: "my-tool", InputSchema: objectSchema}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return &mcp.CallToolResult{}, nil
			})
			return server
		}})
		var resp *http.Response
		var body []byte
		client := &http.Client{Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
			bad := req.Header.Get(hdrMethod) == "tools/call"
			if bad {
				req.Header.Set(hdrMethod, "wrong-method")
			}
			r, err := http.DefaultTransport.RoundTrip(req)
			if err == nil && bad {
				resp = r
				body, _ = io.ReadAll(r.Body)
				r.Body = io.NopCloser(strings.NewReader(string(body)))
			}
			return r, err
		})}
		session, err := mcp.NewClient(&mcp.Implementation{Name: "testClient", Version: "v1.0.0"}, nil).Connect(t.Context(),
			&mcp.StreamableClientTransport{Endpoint: tg.URL, HTTPClient: client}, &mcp.ClientSessionOptions{ProtocolVersion: v20260728})
		if err != nil {
			t.Fatal(err)
		}
		defer session.Close()
		if _, err := session.CallTool(t.Context(), &mcp.CallToolParams{Name: "my-tool"}); err == nil {
			t.Error("CallTool succeeded unexpectedly")
		}
		if resp == nil {
			t.Fatal("no response captured")
		}
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status code = %d, want %d", resp.StatusCode, http.StatusBadRequest)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type = %q, want application/json", ct)
		}
		code, message := rpcError(t, body)
		if code != codeHeaderMismatch || !strings.Contains(message, "Mcp-Method header value") {
			t.Errorf("error %d %q; want %d containing %q", code, message, codeHeaderMismatch, "Mcp-Method header value")
		}
	})
}

// rpcError returns the code and message of a JSON-RPC error answer.
func rpcError(t *testing.T, body []byte) (int64, string) {
	t.Helper()
	msg, err := jsonrpc.DecodeMessage(body)
	if err != nil {
		t.Fatalf("failed to decode message: %v; body %s", err, body)
	}
	resp, ok := msg.(*jsonrpc.Response)
	if !ok {
		t.Fatalf("expected a response, got %T", msg)
	}
	var werr *jsonrpc.Error
	if !errors.As(resp.Error, &werr) {
		t.Fatalf("expected a *jsonrpc.Error, got %T (%s)", resp.Error, body)
	}
	return werr.Code, werr.Message
}

// TestConformanceStreamableMcpHeaderVersionGating ports
// TestStreamableMcpHeaderVersionGating: before 2026-07-28 the headers are
// not checked.
func TestConformanceStreamableMcpHeaderVersionGating(t *testing.T) {
	testServer := &mcp.Implementation{Name: "testServer", Version: "v1.0.0"}
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		tg := serve(t, w, conf{server: func() *mcp.Server {
			server := mcp.NewServer(testServer, nil)
			server.AddTool(&mcp.Tool{Name: "my-tool", InputSchema: objectSchema}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return &mcp.CallToolResult{}, nil
			})
			return server
		}})
		runSteps(t, tg.URL, []step{
			{
				method: "POST", messages: msgs(rpcRequest(1, "initialize", &mcp.InitializeParams{ProtocolVersion: v20251125})),
				wantStatus: http.StatusOK, wantSessionID: true,
				wantMessages: msgs(rpcResponse(1, &mcp.InitializeResult{
					Capabilities:    &mcp.ServerCapabilities{Logging: &mcp.LoggingCapabilities{}, Tools: &mcp.ToolCapabilities{ListChanged: true}},
					ProtocolVersion: v20251125, ServerInfo: testServer,
				}, nil)),
			},
			{method: "POST", headers: http.Header{hdrProtocolVersion: {v20251125}}, messages: msgs(rpcRequest(0, "notifications/initialized", &mcp.InitializedParams{})), wantStatus: http.StatusAccepted},
			{
				method:       "POST",
				headers:      http.Header{hdrProtocolVersion: {v20251125}, hdrMethod: {"wrong-method"}, hdrName: {"wrong-name"}},
				messages:     msgs(rpcRequest(2, "tools/call", &mcp.CallToolParams{Name: "my-tool"})),
				wantStatus:   http.StatusOK,
				wantMessages: msgs(rpcResponse(2, &mcp.CallToolResult{Content: []mcp.Content{}}, nil)),
			},
		})
	})
}

// TestConformanceStreamableParamHeadersClientSetsHeaders ports
// TestStreamableParamHeadersClientSetsHeaders: go-sdk's client sends
// Mcp-Param-* for a tool's x-mcp-header arguments, and the server takes
// them.
func TestConformanceStreamableParamHeadersClientSetsHeaders(t *testing.T) {
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		tg := serve(t, w, conf{opts: mcp.StreamableHTTPOptions{Stateless: true}, server: func() *mcp.Server {
			server := mcp.NewServer(&mcp.Implementation{Name: "testServer", Version: "v1.0.0"}, nil)
			server.AddTool(&mcp.Tool{Name: "execute_sql", InputSchema: map[string]any{
				"type": "object",
				"properties": map[string]any{
					"region": map[string]any{"type": "string", "x-mcp-header": "Region"},
					"query":  map[string]any{"type": "string"},
				},
			}}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "ok"}}}, nil
			})
			// tools/list answers are cacheable (ttlMs), which the client
			// needs to know the tool's headers.
			server.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
				return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
					res, err := next(ctx, method, req)
					if r, ok := res.(*mcp.ListToolsResult); ok && err == nil && method == "tools/list" {
						r.TTLMs = 60_000
					}
					return res, err
				}
			})
			return server
		}})
		var captured http.Header
		client := &http.Client{Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
			if req.Header.Get(hdrMethod) == "tools/call" {
				captured = req.Header.Clone()
			}
			return http.DefaultTransport.RoundTrip(req)
		})}
		session, err := mcp.NewClient(&mcp.Implementation{Name: "testClient", Version: "v1.0.0"}, nil).Connect(t.Context(),
			&mcp.StreamableClientTransport{Endpoint: tg.URL, HTTPClient: client}, &mcp.ClientSessionOptions{ProtocolVersion: v20260728})
		if err != nil {
			t.Fatal(err)
		}
		defer session.Close()
		if _, err := session.ListTools(t.Context(), &mcp.ListToolsParams{}); err != nil {
			t.Fatal(err)
		}
		if _, err := session.CallTool(t.Context(), &mcp.CallToolParams{Name: "execute_sql", Arguments: map[string]any{"region": "us-west1", "query": "SELECT 1"}}); err != nil {
			t.Fatal(err)
		}
		if captured == nil {
			t.Fatal("no tool call headers captured")
		}
		for h, want := range map[string]string{hdrMethod: "tools/call", hdrName: "execute_sql", hdrParamPrefix + "Region": "us-west1"} {
			if got := captured.Get(h); got != want {
				t.Errorf("%s = %q, want %q", h, got, want)
			}
		}
	})
}

// TestConformanceStreamableFilterValidToolsIntegration ports
// TestStreamableFilterValidToolsIntegration: AddTool refuses a bad
// x-mcp-header (it panics), and tools/list lists the others.
func TestConformanceStreamableFilterValidToolsIntegration(t *testing.T) {
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		noopTool := func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{}, nil
		}
		tg := serve(t, w, conf{opts: mcp.StreamableHTTPOptions{Stateless: true}, server: func() *mcp.Server {
			server := mcp.NewServer(&mcp.Implementation{Name: "testServer", Version: "v1.0.0"}, nil)
			server.AddTool(&mcp.Tool{Name: "valid-tool", InputSchema: map[string]any{
				"type": "object", "properties": map[string]any{"region": map[string]any{"type": "string", "x-mcp-header": "Region"}},
			}}, noopTool)
			func() {
				defer func() {
					if recover() == nil {
						t.Error("AddTool with invalid x-mcp-header annotation did not panic")
					}
				}()
				server.AddTool(&mcp.Tool{Name: "invalid-tool", InputSchema: map[string]any{
					"type": "object", "properties": map[string]any{"items": map[string]any{"type": "array", "x-mcp-header": "Items"}},
				}}, noopTool)
			}()
			server.AddTool(&mcp.Tool{Name: "plain-tool", InputSchema: objectSchema}, noopTool)
			return server
		}})
		session, err := mcp.NewClient(&mcp.Implementation{Name: "testClient", Version: "v1.0.0"}, nil).Connect(t.Context(),
			&mcp.StreamableClientTransport{Endpoint: tg.URL}, &mcp.ClientSessionOptions{ProtocolVersion: v20260728})
		if err != nil {
			t.Fatal(err)
		}
		defer session.Close()
		res, err := session.ListTools(t.Context(), &mcp.ListToolsParams{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tool := range res.Tools {
			names = append(names, tool.Name)
		}
		slices.Sort(names)
		if want := []string{"plain-tool", "valid-tool"}; !slices.Equal(names, want) {
			t.Errorf("ListTools returned %v, want %v", names, want)
		}
	})
}

// TestConformanceStreamable405AllowHeader ports
// TestStreamable405AllowHeader: a 405 says what is allowed (RFC 9110).
func TestConformanceStreamable405AllowHeader(t *testing.T) {
	for _, tt := range []struct {
		name       string
		stateless  bool
		method     string
		wantStatus int
		wantAllow  string
	}{
		{"unsupported method stateful", false, "PUT", http.StatusMethodNotAllowed, "GET, POST, DELETE"},
		{"GET in stateless mode", true, "GET", http.StatusMethodNotAllowed, "POST"},
		{"DELETE without session stateless", true, "DELETE", http.StatusMethodNotAllowed, "POST"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
				tg := serve(t, w, conf{opts: mcp.StreamableHTTPOptions{Stateless: tt.stateless}})
				r := sendRaw(t, tt.method, tg.URL, nil, nil)
				if r.status != tt.wantStatus {
					t.Errorf("status code: got %d, want %d", r.status, tt.wantStatus)
				}
				if got := r.header.Get("Allow"); got != tt.wantAllow {
					t.Errorf("Allow header: got %q, want %q", got, tt.wantAllow)
				}
			})
		})
	}
}

// TestConformanceStreamableGETWithoutSession ports
// TestStreamableGETWithoutSession: 400, not 405, with go-sdk's words.
func TestConformanceStreamableGETWithoutSession(t *testing.T) {
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		tg := serve(t, w, conf{})
		r := sendRaw(t, http.MethodGet, tg.URL, nil, http.Header{"Accept": {"text/event-stream"}})
		if r.status != http.StatusBadRequest {
			t.Errorf("status code: got %d, want %d", r.status, http.StatusBadRequest)
		}
		if got, want := strings.TrimSpace(string(r.body)), "Bad Request: GET requires an Mcp-Session-Id header"; got != want {
			t.Errorf("body: got %q, want %q", got, want)
		}
	})
}

// TestConformanceStreamableGETWithoutEventStreamAccept ports
// TestStreamableGETWithoutEventStreamAccept.
func TestConformanceStreamableGETWithoutEventStreamAccept(t *testing.T) {
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		tg := serve(t, w, conf{})
		r := sendRaw(t, http.MethodGet, tg.URL, nil, http.Header{"Accept": {"application/json"}})
		if r.status != http.StatusBadRequest {
			t.Errorf("status code: got %d, want %d", r.status, http.StatusBadRequest)
		}
		if got, want := strings.TrimSpace(string(r.body)), "Accept must contain 'text/event-stream' for GET requests"; got != want {
			t.Errorf("body: got %q, want %q", got, want)
		}
	})
}

// TestConformanceExportErrSessionMissing ports Test_ExportErrSessionMissing:
// a request of a session the server no longer has fails with
// mcp.ErrSessionMissing. go-sdk's case deletes the session from its
// handler's unexported map; the port ends it with a DELETE of its own,
// which every way observes alike.
func TestConformanceExportErrSessionMissing(t *testing.T) {
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		tg := serve(t, w, conf{server: func() *mcp.Server { return mcp.NewServer(&mcp.Implementation{Name: "test", Version: "1.0.0"}, nil) }})
		session, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1.0.0"}, nil).Connect(t.Context(),
			&mcp.StreamableClientTransport{Endpoint: tg.URL}, &mcp.ClientSessionOptions{ProtocolVersion: v20251125})
		if err != nil {
			t.Fatalf("Connect failed: %v", err)
		}
		defer session.Close()
		if r := sendRaw(t, http.MethodDelete, tg.URL, nil, http.Header{hdrSessionID: {session.ID()}}); r.status != http.StatusNoContent {
			t.Fatalf("DELETE: %d %s", r.status, r.body)
		}
		_, err = session.ListTools(t.Context(), nil)
		if err == nil {
			t.Fatal("expected error, got nil")
		}
		if !errors.Is(err, mcp.ErrSessionMissing) {
			t.Errorf("expected error to wrap ErrSessionMissing, got: %v", err)
		}
	})
}

// TestConformanceStreamableLocalhostProtection ports
// TestStreamableLocalhostProtection: DNS rebinding protection, on by
// default for requests that reach a loopback address. With two replicas,
// the proxy passes the client's Host on, as a load balancer does.
func TestConformanceStreamableLocalhostProtection(t *testing.T) {
	for _, tt := range []struct {
		name              string
		listenAddr        string
		hostHeader        string
		disableProtection bool
		wantStatus        int
	}{
		{"127.0.0.1 accepts 127.0.0.1", "127.0.0.1:0", "127.0.0.1:1234", false, http.StatusOK},
		{"127.0.0.1 accepts localhost", "127.0.0.1:0", "localhost:1234", false, http.StatusOK},
		{"127.0.0.1 rejects evil.com", "127.0.0.1:0", "evil.com", false, http.StatusForbidden},
		{"127.0.0.1 rejects evil.com:80", "127.0.0.1:0", "evil.com:80", false, http.StatusForbidden},
		{"127.0.0.1 rejects localhost.evil.com", "127.0.0.1:0", "localhost.evil.com", false, http.StatusForbidden},
		// On 0.0.0.0, a request that came in through localhost is still
		// checked: the connection's local address is what counts.
		{"0.0.0.0 via localhost rejects evil.com", "0.0.0.0:0", "evil.com", false, http.StatusForbidden},
		{"disabled accepts evil.com", "127.0.0.1:0", "evil.com", true, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
				tg := serve(t, w, conf{
					opts:   mcp.StreamableHTTPOptions{Stateless: true, DisableLocalhostProtection: tt.disableProtection},
					listen: tt.listenAddr,
				})
				req, err := http.NewRequest(http.MethodPost, tg.URL, strings.NewReader(initBody("2024-11-05")))
				if err != nil {
					t.Fatal(err)
				}
				req.Host = tt.hostHeader
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", "application/json, text/event-stream")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if resp.StatusCode != tt.wantStatus {
					t.Errorf("Status code: got %d, want %d", resp.StatusCode, tt.wantStatus)
				}
			})
		})
	}
}

// TestConformanceStreamableOriginProtection ports
// TestStreamableOriginProtection: StreamableHTTPOptions.CrossOriginProtection.
func TestConformanceStreamableOriginProtection(t *testing.T) {
	trusting := func() *http.CrossOriginProtection {
		p := http.NewCrossOriginProtection()
		if err := p.AddTrustedOrigin("https://example.com"); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct {
		name       string
		protection *http.CrossOriginProtection
		origin     string
		wantStatus int
	}{
		{"no protection with Origin header", nil, "https://example.com", http.StatusOK},
		{"custom protection with trusted origin and same Origin", trusting(), "https://example.com", http.StatusOK},
		{"custom protection with trusted origin and different Origin", trusting(), "https://malicious.com", http.StatusForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
				tg := serve(t, w, conf{opts: mcp.StreamableHTTPOptions{Stateless: true, CrossOriginProtection: tt.protection}})
				r := sendRaw(t, http.MethodPost, tg.URL, []byte(initBody(v20250618)), http.Header{"Origin": {tt.origin}})
				if r.status != tt.wantStatus {
					t.Errorf("Status code: got %d, want %d", r.status, tt.wantStatus)
				}
			})
		})
	}
}

// TestConformanceStandaloneSSEEmitsCommentForHTTP2Flush ports
// TestStandaloneSSEEmitsCommentForHTTP2Flush: the GET stream's first bytes
// are an SSE comment, at once, so that HTTP/2 proxies pass its headers on.
func TestConformanceStandaloneSSEEmitsCommentForHTTP2Flush(t *testing.T) {
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		tg := serve(t, w, conf{})
		sid := initializeRaw(t, tg.URL, initBody(v20250618))
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, tg.URL, nil)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set(hdrSessionID, sid)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET standalone SSE: %v", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status = %d; want 200", resp.StatusCode)
		}
		if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, "text/event-stream") {
			t.Fatalf("Content-Type = %q; want text/event-stream", got)
		}
		type read struct {
			n   int
			err error
			buf []byte
		}
		ch := make(chan read, 1)
		go func() {
			buf := make([]byte, 64)
			n, err := resp.Body.Read(buf)
			ch <- read{n, err, buf}
		}()
		select {
		case r := <-ch:
			if r.err != nil && r.err != io.EOF {
				t.Fatalf("reading first SSE chunk: %v", r.err)
			}
			if r.n == 0 {
				t.Fatal("first SSE chunk was empty; expected an SSE comment")
			}
			if got := string(r.buf[:r.n]); !strings.HasPrefix(got, ":") {
				t.Errorf("first SSE chunk = %q; want it to start with %q", got, ":")
			}
		case <-time.After(2 * time.Second):
			t.Fatal("timed out waiting for first SSE bytes")
		}
	})
}

// newProtocolBody is a tools/call of the sessionless revision, _meta and
// all, as go-sdk's cases write it.
func newProtocolBody(t *testing.T, tool string, args any) []byte {
	t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(map[string]any{
		"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{
			"_meta": map[string]any{
				mcp.MetaKeyProtocolVersion:    v20260728,
				mcp.MetaKeyClientInfo:         map[string]any{"name": "new-proto-client", "version": "9.9"},
				mcp.MetaKeyClientCapabilities: map[string]any{"sampling": map[string]any{}},
			},
			"name":      tool,
			"arguments": json.RawMessage(raw),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// newProtocolHeaders are the headers a sessionless tools/call carries.
func newProtocolHeaders(tool string) http.Header {
	return http.Header{hdrProtocolVersion: {v20260728}, hdrMethod: {"tools/call"}, hdrName: {tool}}
}

// TestConformanceStreamableStateless_NewProtocolSession_NoFakeInit ports
// TestStreamableStateless_NewProtocolSession_NoFakeInit: a stateless
// request of the sessionless revision shows handlers its own _meta.
func TestConformanceStreamableStateless_NewProtocolSession_NoFakeInit(t *testing.T) {
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		type seen struct {
			init         *mcp.InitializeParams
			version      string
			client       *mcp.Implementation
			capabilities *mcp.ClientCapabilities
		}
		got := make(chan seen, 1)
		tg := serve(t, w, conf{opts: mcp.StreamableHTTPOptions{Stateless: true}, server: func() *mcp.Server {
			server := mcp.NewServer(testImpl, nil)
			mcp.AddTool(server, &mcp.Tool{Name: "capture", Description: "captures request info"},
				func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
					got <- seen{req.Session.InitializeParams(), req.ProtocolVersion(), req.ClientInfo(), req.ClientCapabilities()}
					return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "ok"}}}, nil, nil
				})
			return server
		}})
		r := sendRaw(t, http.MethodPost, tg.URL, newProtocolBody(t, "capture", struct{}{}), newProtocolHeaders("capture"))
		if r.status != http.StatusOK {
			t.Fatalf("status = %d, want 200; body = %s", r.status, r.body)
		}
		s := <-got
		if s.init == nil {
			t.Errorf("Session.InitializeParams() is nil")
		} else if s.init.ProtocolVersion != v20260728 || s.init.ClientInfo == nil || s.init.ClientInfo.Name != "new-proto-client" {
			t.Errorf("Session.InitializeParams() = %+v; want version %s and client new-proto-client", s.init, v20260728)
		}
		if s.version != v20260728 {
			t.Errorf("req.ProtocolVersion() = %q, want %q", s.version, v20260728)
		}
		if s.client == nil || s.client.Name != "new-proto-client" {
			t.Errorf("req.ClientInfo() = %+v, want Name=new-proto-client", s.client)
		}
		if s.capabilities == nil || s.capabilities.Sampling == nil {
			t.Errorf("req.ClientCapabilities() = %+v, want non-nil Sampling", s.capabilities)
		}
	})
}

// TestConformanceStreamableStateful_RejectsNewProtocol ports
// TestStreamableStateful_RejectsNewProtocol: a request of the sessionless
// revision on a session is 400 with a JSON-RPC error -32022 listing the
// session-based versions.
func TestConformanceStreamableStateful_RejectsNewProtocol(t *testing.T) {
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		tg := serve(t, w, conf{server: func() *mcp.Server {
			server := mcp.NewServer(testImpl, nil)
			mcp.AddTool(server, &mcp.Tool{Name: "noop"}, noop)
			return server
		}})
		sid := initializeRaw(t, tg.URL, initBody(v20250618))
		h := newProtocolHeaders("noop")
		h.Set(hdrSessionID, sid)
		r := sendRaw(t, http.MethodPost, tg.URL, newProtocolBody(t, "noop", struct{}{}), h)
		if r.status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400; body = %s", r.status, r.body)
		}
		msg, err := jsonrpc.DecodeMessage(r.body)
		if err != nil {
			t.Fatalf("decoding response body as JSON-RPC: %v; body = %s", err, r.body)
		}
		resp, ok := msg.(*jsonrpc.Response)
		if !ok || resp.Error == nil {
			t.Fatalf("response is not a JSON-RPC error: %s", r.body)
		}
		var jerr *jsonrpc.Error
		if !errors.As(resp.Error, &jerr) {
			t.Fatalf("response error is not *jsonrpc.Error: %v", resp.Error)
		}
		if jerr.Code != codeUnsupportedProtocolVersion {
			t.Errorf("error code = %d, want %d", jerr.Code, codeUnsupportedProtocolVersion)
		}
		var data struct {
			Supported []string `json:"supported"`
			Requested string   `json:"requested"`
		}
		if err := json.Unmarshal(jerr.Data, &data); err != nil {
			t.Fatalf("decoding error data: %v; data = %s", err, jerr.Data)
		}
		if data.Requested != v20260728 {
			t.Errorf("data.Requested = %q, want %q", data.Requested, v20260728)
		}
		if slices.Contains(data.Supported, v20260728) || len(data.Supported) == 0 {
			t.Errorf("data.Supported = %v: want the session-based versions, not %s", data.Supported, v20260728)
		}
	})
}

// TestConformanceStreamableStateless_AcceptsNewProtocol ports
// TestStreamableStateless_AcceptsNewProtocol.
func TestConformanceStreamableStateless_AcceptsNewProtocol(t *testing.T) {
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		tg := serve(t, w, conf{opts: mcp.StreamableHTTPOptions{Stateless: true}, server: func() *mcp.Server {
			server := mcp.NewServer(testImpl, nil)
			mcp.AddTool(server, &mcp.Tool{Name: "noop"}, noop)
			return server
		}})
		if r := sendRaw(t, http.MethodPost, tg.URL, newProtocolBody(t, "noop", struct{}{}), newProtocolHeaders("noop")); r.status != http.StatusOK {
			t.Fatalf("status = %d, want 200; body = %s", r.status, r.body)
		}
	})
}

// TestConformanceStreamableStateless_NotificationMetaValidation ports
// TestStreamableStateless_NotificationMetaValidation: the _meta triple is
// required of calls only.
func TestConformanceStreamableStateless_NotificationMetaValidation(t *testing.T) {
	meta := map[string]any{
		mcp.MetaKeyProtocolVersion:    v20260728,
		mcp.MetaKeyClientInfo:         map[string]any{"name": "new-proto-client", "version": "9.9"},
		mcp.MetaKeyClientCapabilities: map[string]any{},
	}
	for _, test := range []struct {
		name       string
		message    map[string]any
		wantStatus int
	}{
		{"cancelled without meta", map[string]any{"jsonrpc": "2.0", "method": "notifications/cancelled",
			"params": map[string]any{"requestID": 1, "reason": "context canceled"}}, http.StatusAccepted},
		{"progress without meta", map[string]any{"jsonrpc": "2.0", "method": "notifications/progress",
			"params": map[string]any{"progressToken": "t", "progress": 1}}, http.StatusAccepted},
		{"notification with matching meta", map[string]any{"jsonrpc": "2.0", "method": "notifications/cancelled",
			"params": map[string]any{"_meta": meta, "requestID": 1}}, http.StatusAccepted},
		// A notification that names a version is held to the header.
		{"notification with mismatched meta", map[string]any{"jsonrpc": "2.0", "method": "notifications/cancelled",
			"params": map[string]any{"_meta": map[string]any{mcp.MetaKeyProtocolVersion: v20250618, mcp.MetaKeyClientCapabilities: map[string]any{}}, "requestID": 1}},
			http.StatusBadRequest},
		{"call without meta", map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": map[string]any{}}, http.StatusBadRequest},
	} {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
				tg := serve(t, w, conf{opts: mcp.StreamableHTTPOptions{Stateless: true}, server: func() *mcp.Server {
					server := mcp.NewServer(testImpl, nil)
					mcp.AddTool(server, &mcp.Tool{Name: "noop"}, noop)
					return server
				}})
				body, err := json.Marshal(test.message)
				if err != nil {
					t.Fatal(err)
				}
				r := sendRaw(t, http.MethodPost, tg.URL, body, http.Header{hdrProtocolVersion: {v20260728}, hdrMethod: {test.message["method"].(string)}})
				if r.status != test.wantStatus {
					t.Fatalf("status = %d, want %d; body = %s", r.status, test.wantStatus, r.body)
				}
				if test.wantStatus == http.StatusAccepted && len(r.body) > 0 {
					t.Errorf("accepted notification returned body %q, want empty", r.body)
				}
			})
		})
	}
}

// TestConformanceStreamableStateful_AcceptsDiscover ports
// TestStreamableStateful_AcceptsDiscover: go-sdk's stateful handler
// answers server/discover of the sessionless revision with the
// session-based versions only. The adapter serves that revision on the
// same endpoint (row "both eras on one endpoint"): its answer lists
// 2026-07-28, as go-sdk's stateless handler's does.
func TestConformanceStreamableStateful_AcceptsDiscover(t *testing.T) {
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		tg := serve(t, w, conf{})
		body, err := json.Marshal(map[string]any{
			"jsonrpc": "2.0", "id": 1, "method": "server/discover",
			"params": map[string]any{"_meta": map[string]any{
				mcp.MetaKeyProtocolVersion:    v20260728,
				mcp.MetaKeyClientInfo:         map[string]any{"name": "new-proto-client", "version": "9.9"},
				mcp.MetaKeyClientCapabilities: map[string]any{"sampling": map[string]any{}},
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
		r := sendRaw(t, http.MethodPost, tg.URL, body, http.Header{hdrProtocolVersion: {v20260728}, hdrMethod: {"server/discover"}})
		if r.status != http.StatusOK {
			t.Fatalf("status = %d, want 200; body = %s", r.status, r.body)
		}
		var answer struct {
			Result *struct {
				SupportedVersions []string `json:"supportedVersions"`
			} `json:"result"`
			Error *jsonrpc.Error `json:"error"`
		}
		if err := json.Unmarshal(r.message(), &answer); err != nil {
			t.Fatalf("unmarshal response %q: %v", r.body, err)
		}
		if answer.Error != nil || answer.Result == nil || len(answer.Result.SupportedVersions) == 0 {
			t.Fatalf("discover: %s", r.body)
		}
		limit(t, w, limitBothEras)
		if slices.Contains(answer.Result.SupportedVersions, v20260728) {
			t.Errorf("supportedVersions = %v, must not include %q on a stateful transport", answer.Result.SupportedVersions, v20260728)
		}
	})
}

// TestConformanceStreamableStateful_DiscoverDoesNotLeakSession ports
// TestStreamableStateful_DiscoverDoesNotLeakSession: go-sdk's client at its
// defaults leaves exactly one session while connected, none once closed.
// On the adapter that client is served statelessly (row "both eras on one
// endpoint"): no session while connected.
func TestConformanceStreamableStateful_DiscoverDoesNotLeakSession(t *testing.T) {
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		tg := serve(t, w, conf{server: func() *mcp.Server {
			server := mcp.NewServer(testImpl, nil)
			mcp.AddTool(server, &mcp.Tool{Name: "noop", Description: "noop"}, func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
				return &mcp.CallToolResult{}, nil, nil
			})
			return server
		}})
		wantConnected := 1
		if !w.SDK() {
			wantConnected = 0 // row "both eras on one endpoint"
		}
		for i := 1; i <= 3; i++ {
			sess, err := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1.0.0"}, nil).Connect(t.Context(),
				&mcp.StreamableClientTransport{Endpoint: tg.URL, DisableStandaloneSSE: true, MaxRetries: -1}, nil)
			if err != nil {
				t.Fatalf("client %d Connect: %v", i, err)
			}
			if _, err := sess.ListTools(t.Context(), nil); err != nil {
				t.Fatalf("client %d ListTools: %v", i, err)
			}
			// go-sdk closes the discover probe's session once it has
			// answered: awaited, not read at once.
			tg.awaitSessions(t, wantConnected)
			if err := sess.Close(); err != nil {
				t.Fatalf("client %d Close: %v", i, err)
			}
			tg.awaitSessions(t, 0)
		}
	})
}

// TestConformanceStreamableHTTP_E2E_DiscoverSuccess ports
// TestStreamableHTTP_E2E_DiscoverSuccess: go-sdk's client on the
// sessionless revision, stateless.
func TestConformanceStreamableHTTP_E2E_DiscoverSuccess(t *testing.T) {
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		tg := serve(t, w, conf{opts: mcp.StreamableHTTPOptions{Stateless: true}, server: func() *mcp.Server {
			server := mcp.NewServer(&mcp.Implementation{Name: "e2e-server", Version: "v1"}, nil)
			mcp.AddTool(server, &mcp.Tool{Name: "echo", Description: "echoes its input"},
				func(_ context.Context, _ *mcp.CallToolRequest, args struct {
					Msg string `json:"msg"`
				}) (*mcp.CallToolResult, struct{}, error) {
					return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: args.Msg}}}, struct{}{}, nil
				})
			return server
		}})
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "e2e-client", Version: "v1"}, nil).Connect(t.Context(),
			&mcp.StreamableClientTransport{Endpoint: tg.URL}, &mcp.ClientSessionOptions{ProtocolVersion: v20260728})
		if err != nil {
			t.Fatalf("Connect: %v", err)
		}
		defer cs.Close()
		ir := cs.InitializeResult()
		if ir == nil || ir.ProtocolVersion != v20260728 || ir.ServerInfo == nil || ir.ServerInfo.Name != "e2e-server" {
			t.Fatalf("InitializeResult = %+v; want %s from e2e-server", ir, v20260728)
		}
		tools, err := cs.ListTools(t.Context(), nil)
		if err != nil {
			t.Fatalf("ListTools: %v", err)
		}
		if len(tools.Tools) != 1 || tools.Tools[0].Name != "echo" {
			t.Errorf("ListTools = %+v, want one tool named 'echo'", tools.Tools)
		}
		res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"msg": "hello"}})
		if err != nil {
			t.Fatalf("CallTool: %v", err)
		}
		if got := textOf(t, res); got != "hello" {
			t.Errorf("CallTool = %q, want hello", got)
		}
	})
}

// TestConformanceStreamableServerRejectsDuplicateInFlightRequestID ports
// TestStreamableServerRejectsDuplicateInFlightRequestID, which drives
// go-sdk's unexported connection; over HTTP: a second POST of a request id
// still in flight on the session is 400 with a JSON-RPC error -32600, and
// the first request is still answered.
func TestConformanceStreamableServerRejectsDuplicateInFlightRequestID(t *testing.T) {
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		limitReplicas(t, w, limitInFlightIDs)
		started := make(chan struct{}, 1)
		release := make(chan struct{})
		tg := serve(t, w, conf{server: func() *mcp.Server {
			server := mcp.NewServer(testImpl, nil)
			mcp.AddTool(server, &mcp.Tool{Name: "hold"}, func(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
				started <- struct{}{}
				select {
				case <-release:
				case <-ctx.Done():
				}
				return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "done"}}}, nil, nil
			})
			return server
		}})
		sid := initializeRaw(t, tg.URL, initBody(v20250618))
		h := http.Header{hdrSessionID: {sid}, hdrProtocolVersion: {v20250618}}
		if r := sendRaw(t, http.MethodPost, tg.URL, rpcRequest(0, "notifications/initialized", &mcp.InitializedParams{}), h); r.status != http.StatusAccepted {
			t.Fatalf("initialized: %d %s", r.status, r.body)
		}
		first := sendRawAsync(http.MethodPost, tg.URL, rpcRequest(1, "tools/call", &mcp.CallToolParams{Name: "hold", Arguments: map[string]any{}}), h)
		<-started
		dup := sendRaw(t, http.MethodPost, tg.URL, rpcRequest(1, "ping", &mcp.PingParams{}), h)
		close(release)
		if dup.status != http.StatusBadRequest {
			t.Errorf("duplicate id: status = %d, want %d; body = %s", dup.status, http.StatusBadRequest, dup.body)
		} else if code, _ := rpcError(t, dup.body); code != jsonrpc.CodeInvalidRequest {
			t.Errorf("duplicate id: error code = %d, want %d", code, jsonrpc.CodeInvalidRequest)
		}
		if r := <-first; r.err != nil || r.status != http.StatusOK || !strings.Contains(string(r.message()), "done") {
			t.Errorf("the first call: %d %s %v", r.status, r.body, r.err)
		}
	})
}

// TestConformanceStreamableServerPreservesSingleRequestBatchResponse ports
// TestStreamableServerPreservesSingleRequestBatchResponse: with
// JSONResponse, a batch of one request is answered with an array of one.
func TestConformanceStreamableServerPreservesSingleRequestBatchResponse(t *testing.T) {
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		tg := serve(t, w, conf{opts: mcp.StreamableHTTPOptions{JSONResponse: true}, server: func() *mcp.Server {
			return mcp.NewServer(&mcp.Implementation{Name: "testServer", Version: "v1.0.0"}, nil)
		}})
		body := `[{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"test-client","version":"1.0"}}}]`
		r := sendRaw(t, http.MethodPost, tg.URL, []byte(body), nil)
		if r.status != http.StatusOK {
			t.Fatalf("status = %d, want %d; body = %s", r.status, http.StatusOK, r.body)
		}
		var messages []json.RawMessage
		if err := json.Unmarshal(r.body, &messages); err != nil {
			t.Fatalf("response is not a JSON array: %v; body = %s", err, r.body)
		}
		if len(messages) != 1 {
			t.Fatalf("response contains %d messages, want 1; body = %s", len(messages), r.body)
		}
		if _, err := jsonrpc.DecodeMessage(messages[0]); err != nil {
			t.Fatalf("response item is not a JSON-RPC message: %v", err)
		}
	})
}

// TestConformanceStreamableMaxRequestBodyBytes ports
// TestStreamableMaxRequestBodyBytes: the body limit, whatever the transfer
// encoding.
func TestConformanceStreamableMaxRequestBodyBytes(t *testing.T) {
	validInit := []byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"v1"}}}`)
	oversized := func(n int) []byte {
		b := make([]byte, n)
		b[0] = '{'
		for i := 1; i < n-1; i++ {
			b[i] = ' '
		}
		b[n-1] = '}'
		return b
	}
	for _, tc := range []struct {
		name       string
		limit      int64
		body       []byte
		chunked    bool
		wantStatus int
	}{
		{"default limit rejects oversized", 0, oversized(mcp.DefaultMaxRequestBodyBytes + 1), false, http.StatusRequestEntityTooLarge},
		{"custom limit rejects oversized", 1024, oversized(2048), false, http.StatusRequestEntityTooLarge},
		{"chunked encoding does not bypass limit", 1024, oversized(4096), true, http.StatusRequestEntityTooLarge},
		{"negative limit disables the check", -1, oversized(2 * mcp.DefaultMaxRequestBodyBytes), false, http.StatusBadRequest}, // not JSON-RPC, but not too large
		{"under limit succeeds", 64 * 1024, validInit, false, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
				tg := serve(t, w, conf{opts: mcp.StreamableHTTPOptions{Stateless: true, MaxRequestBodyBytes: tc.limit}})
				var body io.Reader = strings.NewReader(string(tc.body))
				if tc.chunked {
					body = io.MultiReader(body) // no length known: sent chunked
				}
				req, err := http.NewRequest(http.MethodPost, tg.URL, body)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", "application/json, text/event-stream")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				got, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != tc.wantStatus {
					t.Fatalf("status = %d, want %d (body=%q)", resp.StatusCode, tc.wantStatus, got)
				}
			})
		})
	}
}

// TestConformanceStreamableSupportedProtocolVersions_Header ports
// TestStreamableSupportedProtocolVersions_Header: the MCP-Protocol-Version
// header is checked against ServerOptions.SupportedProtocolVersions.
func TestConformanceStreamableSupportedProtocolVersions_Header(t *testing.T) {
	body := initBody(v20251125)
	narrow := conf{server: func() *mcp.Server {
		return mcp.NewServer(testImpl, &mcp.ServerOptions{SupportedProtocolVersions: []string{v20251125}})
	}}
	post := func(t *testing.T, url, version, sid string) rawReply {
		h := http.Header{hdrProtocolVersion: {version}}
		if sid != "" {
			h.Set(hdrSessionID, sid)
		}
		return sendRaw(t, http.MethodPost, url, []byte(body), h)
	}
	for _, stateless := range []bool{false, true} {
		for _, test := range []struct {
			version    string
			wantStatus int
		}{
			{v20251125, http.StatusOK},
			{v20250618, http.StatusBadRequest}, // go-sdk has it; the server excludes it
			{"1999-01-01", http.StatusBadRequest},
		} {
			t.Run(fmt.Sprintf("stateless=%v/%s", stateless, test.version), func(t *testing.T) {
				t.Parallel()
				adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
					c := narrow
					c.opts.Stateless = stateless
					r := post(t, serve(t, w, c).URL, test.version, "")
					if r.status != test.wantStatus {
						t.Errorf("status = %d, want %d; body = %s", r.status, test.wantStatus, r.body)
					}
				})
			})
		}
	}
	t.Run("existing session", func(t *testing.T) {
		t.Parallel()
		adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
			tg := serve(t, w, narrow)
			r := post(t, tg.URL, v20251125, "")
			sid := r.header.Get(hdrSessionID)
			if sid == "" {
				t.Fatalf("initialize: %d %s, no session id", r.status, r.body)
			}
			if r := post(t, tg.URL, v20250618, sid); r.status != http.StatusBadRequest {
				t.Errorf("status = %d, want %d; body = %s", r.status, http.StatusBadRequest, r.body)
			}
		})
	})
}
