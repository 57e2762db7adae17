//lint:file-ignore SA1019 the ported cases exercise the session-based revisions, whose roots, sampling and logging the sessionless one deprecates.

package gosdk

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// objectSchema is the input schema of go-sdk's test tools.
var objectSchema = map[string]any{"type": "object"}

// TestConformanceStreamableServerTransport ports TestStreamableServerTransport:
// a client faked with a sequence of HTTP requests.
func TestConformanceStreamableServerTransport(t *testing.T) {
	testServer := &mcp.Implementation{Name: "testServer", Version: "v1.0.0"}
	caps := &mcp.ServerCapabilities{Logging: &mcp.LoggingCapabilities{}, Tools: &mcp.ToolCapabilities{ListChanged: true}}
	initialize := step{
		method:        "POST",
		messages:      msgs(rpcRequest(1, "initialize", &mcp.InitializeParams{ProtocolVersion: v20250618})),
		wantStatus:    http.StatusOK,
		wantMessages:  msgs(rpcResponse(1, &mcp.InitializeResult{Capabilities: caps, ProtocolVersion: v20250618, ServerInfo: testServer}, nil)),
		wantSessionID: true,
	}
	initializedMsg := rpcRequest(0, "notifications/initialized", &mcp.InitializedParams{})
	initialized := step{method: "POST", messages: msgs(initializedMsg), wantStatus: http.StatusAccepted}
	// 2025-11-25, for the priming and close events (SEP-1699).
	initialize20251125 := step{
		method:        "POST",
		messages:      msgs(rpcRequest(1, "initialize", &mcp.InitializeParams{ProtocolVersion: v20251125})),
		wantStatus:    http.StatusOK,
		wantMessages:  msgs(rpcResponse(1, &mcp.InitializeResult{Capabilities: caps, ProtocolVersion: v20251125, ServerInfo: testServer}, nil)),
		wantSessionID: true,
	}
	initialized20251125 := step{
		method:     "POST",
		headers:    http.Header{hdrProtocolVersion: {v20251125}},
		messages:   msgs(initializedMsg),
		wantStatus: http.StatusAccepted,
	}
	callTool := func(id int64) json.RawMessage {
		return rpcRequest(id, "tools/call", &mcp.CallToolParams{Name: "tool"})
	}
	emptyResult := func(id int64) json.RawMessage {
		return rpcResponse(id, &mcp.CallToolResult{Content: []mcp.Content{}}, nil)
	}

	tests := []struct {
		name         string
		replay       bool
		tool         func(*testing.T, context.Context, *mcp.CallToolRequest)
		steps        []step
		wantSessions int
		limit        string // the adapter's limit that skips it there
	}{
		{
			name: "basic",
			steps: []step{initialize, initialized, {
				method: "POST", messages: msgs(callTool(2)),
				wantStatus: http.StatusOK, wantMessages: msgs(emptyResult(2)),
			}},
			wantSessions: 1,
		},
		{
			name: "uninitialized",
			steps: []step{{
				method: "POST", messages: msgs(callTool(2)),
				wantStatus: http.StatusOK, wantBodyContaining: "invalid during session initialization",
			}},
			wantSessions: 0,
		},
		{
			name: "content type headers",
			steps: []step{initialize, initialized,
				{method: "POST", headers: http.Header{"Content-Type": {"text/plain"}}, messages: msgs(callTool(3)), wantStatus: http.StatusUnsupportedMediaType},
				{method: "POST", headers: http.Header{"Content-Type": {""}}, messages: msgs(callTool(4)), wantStatus: http.StatusUnsupportedMediaType},
				{method: "POST", headers: http.Header{"Content-Type": {"application/json"}}, messages: msgs(callTool(5)), wantStatus: http.StatusOK, wantMessages: msgs(emptyResult(5))},
				{method: "POST", headers: http.Header{"Content-Type": {"application/json; charset=utf-8"}}, messages: msgs(callTool(5)), wantStatus: http.StatusOK, wantMessages: msgs(emptyResult(5))},
			},
			wantSessions: 1,
		},
		{
			name: "accept headers",
			steps: []step{initialize, initialized,
				{method: "POST", headers: http.Header{"Accept": {"text/plain", "application/*"}}, messages: msgs(callTool(3)), wantStatus: http.StatusBadRequest},
				{method: "POST", headers: http.Header{"Accept": {"text/event-stream"}}, messages: msgs(callTool(3)), wantStatus: http.StatusBadRequest},
				{method: "POST", headers: http.Header{"Accept": {"text/plain", "*/*"}}, messages: msgs(callTool(4)), wantStatus: http.StatusOK, wantMessages: msgs(emptyResult(4))},
				{method: "POST", headers: http.Header{"Accept": {"application/json;charset=utf-8, text/event-stream"}}, messages: msgs(callTool(5)), wantStatus: http.StatusOK, wantMessages: msgs(emptyResult(5))},
				{method: "POST", headers: http.Header{"Accept": {"application/json;charset=utf-8", "text/event-stream"}}, messages: msgs(callTool(6)), wantStatus: http.StatusOK, wantMessages: msgs(emptyResult(6))},
				{method: "POST", headers: http.Header{"Accept": {"text/*, application/*"}}, messages: msgs(callTool(7)), wantStatus: http.StatusOK, wantMessages: msgs(emptyResult(7))},
			},
			wantSessions: 1,
		},
		{
			name: "protocol version headers",
			steps: []step{initialize, initialized, {
				method: "POST", headers: http.Header{"mcp-protocol-version": {"2025-01-01"}}, // not a version
				messages:   msgs(rpcRequest(2, "tools/call", &mcp.CallToolParams{Name: "tool"})),
				wantStatus: http.StatusBadRequest, wantBodyContaining: v20250326, // a supported one
			}},
			wantSessions: 1,
		},
		{
			name: "batch rejected on 2025-06-18",
			steps: []step{initialize, initialized, {
				method: "POST", headers: http.Header{"MCP-Protocol-Version": {v20250618}},
				messages:   msgs(callTool(101), callTool(102)),
				wantStatus: http.StatusBadRequest, wantBodyContaining: "batch",
			}},
			wantSessions: 1,
		},
		{
			name: "batch accepted on 2025-03-26",
			steps: []step{initialize, initialized, {
				method: "POST", headers: http.Header{"MCP-Protocol-Version": {v20250326}},
				// One request only: the answers of several need not come in order.
				messages:     msgs(callTool(201), rpcRequest(0, "notifications/roots/list_changed", &mcp.RootsListChangedParams{})),
				wantStatus:   http.StatusOK,
				wantMessages: msgs(emptyResult(201)),
			}},
			wantSessions: 1,
		},
		{
			name: "tool notification",
			tool: func(t *testing.T, ctx context.Context, req *mcp.CallToolRequest) {
				if err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{}); err != nil {
					t.Errorf("Notify failed: %v", err)
				}
			},
			steps: []step{initialize, initialized, {
				method: "POST", messages: msgs(callTool(2)),
				wantStatus:   http.StatusOK,
				wantMessages: msgs(rpcRequest(0, "notifications/progress", &mcp.ProgressNotificationParams{}), emptyResult(2)),
			}},
			wantSessions: 1,
		},
		{
			name: "tool upcall",
			tool: func(t *testing.T, ctx context.Context, req *mcp.CallToolRequest) {
				if _, err := req.Session.ListRoots(ctx, &mcp.ListRootsParams{}); err != nil {
					t.Errorf("Call failed: %v", err)
				}
			},
			steps: []step{initialize, initialized,
				{method: "POST", onRequest: 1, messages: msgs(rpcResponse(1, &mcp.ListRootsResult{}, nil)), wantStatus: http.StatusAccepted},
				{method: "POST", messages: msgs(callTool(2)), wantStatus: http.StatusOK,
					wantMessages: msgs(rpcRequest(1, "roots/list", &mcp.ListRootsParams{}), emptyResult(2))},
			},
			wantSessions: 1,
		},
		{
			name: "background",
			// Replay: the standalone GET is asynchronous, and only replay
			// guarantees it the messages.
			replay: true,
			tool: func(t *testing.T, _ context.Context, req *mcp.CallToolRequest) {
				ctx, cancel := context.WithTimeout(context.Background(), 1*time.Second)
				defer cancel()
				if err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{}); err != nil {
					t.Errorf("Notify failed: %v", err)
				}
				if _, err := req.Session.ListRoots(ctx, &mcp.ListRootsParams{}); err != nil {
					t.Errorf("ListRoots failed: %v", err)
				}
			},
			steps: []step{initialize, initialized,
				{method: "POST", onRequest: 1, messages: msgs(rpcResponse(1, &mcp.ListRootsResult{}, nil)), wantStatus: http.StatusAccepted},
				{method: "GET", async: true, wantStatus: http.StatusOK, closeAfter: 2,
					wantMessages: msgs(rpcRequest(0, "notifications/progress", &mcp.ProgressNotificationParams{}), rpcRequest(1, "roots/list", &mcp.ListRootsParams{}))},
				{method: "POST", messages: msgs(callTool(2)), wantStatus: http.StatusOK, wantMessages: msgs(emptyResult(2))},
				// DELETE answers 204 with no body: no Accept.
				{method: "DELETE", wantStatus: http.StatusNoContent, headers: map[string][]string{"Accept": nil}},
			},
			wantSessions: 0,
		},
		{
			name:   "no priming message on old protocol",
			replay: true,
			steps: []step{initialize, initialized, {
				method: "POST", messages: msgs(callTool(2)),
				wantStatus: http.StatusOK, wantMessages: msgs(emptyResult(2)), wantBodyNotContaining: "prime",
			}},
			wantSessions: 1,
		},
		{
			name:   "no close message on old protocol",
			replay: true,
			tool: func(t *testing.T, _ context.Context, req *mcp.CallToolRequest) {
				req.Extra.CloseSSEStream(mcp.CloseSSEStreamArgs{RetryAfter: time.Millisecond})
			},
			steps: []step{initialize, initialized, {
				method: "POST", messages: msgs(callTool(2)),
				wantStatus: http.StatusOK, wantMessages: msgs(emptyResult(2)), wantBodyNotContaining: "close",
			}},
			wantSessions: 1,
		},
		{
			name:   "priming message on 2025-11-25",
			replay: true,
			steps: []step{initialize20251125, initialized20251125, {
				method: "POST", headers: http.Header{hdrProtocolVersion: {v20251125}}, messages: msgs(callTool(2)),
				wantStatus: http.StatusOK, wantMessages: msgs(emptyResult(2)), wantBodyContaining: "prime",
			}},
			wantSessions: 1,
		},
		{
			name:   "close message on 2025-11-25",
			replay: true,
			tool: func(t *testing.T, _ context.Context, req *mcp.CallToolRequest) {
				req.Extra.CloseSSEStream(mcp.CloseSSEStreamArgs{RetryAfter: time.Millisecond})
			},
			steps: []step{initialize20251125, initialized20251125, {
				method: "POST", headers: http.Header{hdrProtocolVersion: {v20251125}}, messages: msgs(callTool(2)),
				wantStatus: http.StatusOK, wantMessages: msgs(emptyResult(2)),
				wantBodyContaining: "close", wantBodyNotContaining: "result",
			}},
			wantSessions: 1,
		},
		{
			name:   "no close message",
			replay: true,
			tool: func(t *testing.T, _ context.Context, req *mcp.CallToolRequest) {
				req.Extra.CloseSSEStream(mcp.CloseSSEStreamArgs{})
			},
			steps: []step{initialize, initialized, {
				method: "POST", messages: msgs(callTool(2)),
				wantStatus: http.StatusOK, wantMessages: msgs(emptyResult(2)), wantBodyNotContaining: "close",
			}},
			wantSessions: 1,
		},
		{
			name: "errors",
			steps: []step{
				{method: "PUT", wantStatus: http.StatusMethodNotAllowed},
				{method: "DELETE", wantStatus: http.StatusBadRequest},
				{method: "POST", messages: msgs(rpcRequest(1, "notamethod", nil)), wantStatus: http.StatusBadRequest},
				{method: "POST", messages: msgs(rpcRequest(0, "tools/call", &mcp.CallToolParams{Name: "tool"})), wantStatus: http.StatusBadRequest}, // a call needs an id
				{method: "POST", messages: msgs(callTool(2)), wantStatus: http.StatusOK,
					wantMessages: msgs(rpcResponse(2, nil, &jsonrpc.Error{Message: `method "tools/call" is invalid during session initialization`}))},
			},
			wantSessions: 0,
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
				if test.limit != "" {
					limit(t, w, test.limit)
				}
				tg := serve(t, w, conf{replay: test.replay, server: func() *mcp.Server {
					server := mcp.NewServer(testServer, nil)
					server.AddTool(&mcp.Tool{Name: "tool", InputSchema: objectSchema},
						func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
							if test.tool != nil {
								test.tool(t, ctx, req)
							}
							return &mcp.CallToolResult{}, nil
						})
					return server
				}})
				runSteps(t, tg.URL, test.steps)
				tg.awaitSessions(t, test.wantSessions)
			})
		})
	}
}

// msgs lists messages, as a step sends or expects them.
func msgs(ms ...json.RawMessage) []json.RawMessage { return ms }
