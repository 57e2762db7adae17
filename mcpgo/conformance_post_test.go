package mcpgo

// Cases of mcp-go v1.6.0 server/streamable_http_test.go.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
)

// addSSETool is the original's sseTool: ten notifications 10 ms apart on
// the call's stream, then "done".
func addSSETool(ms *server.MCPServer) {
	ms.AddTool(mcp.Tool{Name: "sseTool"}, func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		srv := server.ServerFromContext(ctx)
		for i := range 10 {
			_ = srv.SendNotificationToClient(ctx, "test/notification", map[string]any{"value": i})
			time.Sleep(10 * time.Millisecond) // the tool's pace, as the original's
		}
		return mcp.NewToolResultText("done"), nil
	})
}

// sseServer is the server of several cases: "test-mcp-server" with sseTool.
func sseServer(opts ...server.ServerOption) func(t *testing.T, r rig) *server.MCPServer {
	return func(t *testing.T, r rig) *server.MCPServer {
		ms := server.NewMCPServer("test-mcp-server", "1.0", r.options(nil, opts...)...)
		addSSETool(ms)
		return ms
	}
}

// wantStatus fails t unless resp has status want, showing the body.
func wantStatus(t testing.TB, resp *http.Response, want int) string {
	t.Helper()
	b := body(t, resp)
	if resp.StatusCode != want {
		t.Fatalf("status %d, want %d; body %q", resp.StatusCode, want, b)
	}
	return b
}

// refusedGET sends a GET that must be refused with status, and returns
// the answer's body; a stream opened instead fails t without waiting for
// its end.
func (s *service) refusedGET(t testing.TB, sid string, status int, header ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	resp := fetch(t, s.request(t, ctx, http.MethodGet, sid, nil, header...))
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("status 200 (a stream), want %d", status)
	}
	return wantStatus(t, resp, status)
}

// wantContains fails t unless s contains each of subs.
func wantContains(t testing.TB, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%q does not contain %q", s, sub)
		}
	}
}

func TestConformancePOSTInvalidContent(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{build: sseServer()})
		t.Run("Invalid content type", func(t *testing.T) {
			b := wantStatus(t, s.post(t, "", "{}", "Content-Type", "text/plain"), http.StatusBadRequest)
			wantContains(t, b, "Invalid content type")
		})
		t.Run("Invalid JSON", func(t *testing.T) {
			b := wantStatus(t, s.post(t, "", "{invalid json"), http.StatusBadRequest)
			wantContains(t, b, "jsonrpc", "not valid json")
		})
	})
}

func TestConformancePOSTSendAndReceive(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{build: sseServer(), http: []server.StreamableHTTPOption{server.WithStateful(true)}})
		var sid string
		t.Run("initialize", func(t *testing.T) {
			resp := s.post(t, "", initRequest)
			m := decode(t, []byte(wantStatus(t, resp, http.StatusOK)))
			if v := m.result(t)["protocolVersion"]; v != mcp.LATEST_LEGACY_PROTOCOL_VERSION {
				t.Errorf("protocolVersion %v, want %s", v, mcp.LATEST_LEGACY_PROTOCOL_VERSION)
			}
			if sid = resp.Header.Get(server.HeaderKeySessionID); sid == "" {
				t.Fatal("no session id in the initialize answer")
			}
		})
		if sid == "" {
			t.FailNow()
		}
		ping := map[string]any{"jsonrpc": "2.0", "id": 123, "method": "ping", "params": map[string]any{}}
		t.Run("Send and receive message", func(t *testing.T) {
			resp := s.post(t, sid, ping)
			b := wantStatus(t, resp, http.StatusOK)
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if id := decode(t, []byte(b)).idNumber(); id != 123 {
				t.Errorf("id %d, want 123", id)
			}
		})
		t.Run("Send notification", func(t *testing.T) {
			b := wantStatus(t, s.post(t, sid, `{"jsonrpc":"2.0","method":"testNotification","params":{"param1":"value1"}}`), http.StatusAccepted)
			if b != "" {
				t.Errorf("body %q, want none", b)
			}
		})
		t.Run("Invalid session id", func(t *testing.T) {
			wantStatus(t, s.post(t, "dummy-session-id", ping), http.StatusNotFound)
		})
		t.Run("response with sse", func(t *testing.T) {
			resp := s.post(t, sid, map[string]any{"jsonrpc": "2.0", "id": 123, "method": "tools/call", "params": map[string]any{"name": "sseTool"}})
			b := wantStatus(t, resp, http.StatusOK)
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Errorf("Content-Type %q, want text/event-stream", ct)
			}
			wantContains(t, b, "data:")
			if n := strings.Count(b, "test/notification"); n != 10 {
				t.Errorf("%d test/notification, want 10", n)
			}
			for i := range 10 {
				wantContains(t, b, fmt.Sprintf(`{"value":%d}`, i))
			}
			lines := strings.Split(strings.TrimSpace(b), "\n")
			if last := lines[len(lines)-1]; !strings.Contains(last, "id") || !strings.Contains(last, "done") {
				t.Errorf("last line %q, want the response with id and done", last)
			}
		})
	})
}

// The original sends the broadcast from a goroutine 10 ms after starting
// the GET; here it is sent once the GET's headers came, when the stream is
// listening.
func TestConformanceGET(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{build: sseServer()})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		resp := fetch(t, s.request(t, ctx, http.MethodGet, "", nil, "Content-Type", "text/event-stream"))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, want 200", resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Errorf("Content-Type %q, want text/event-stream", ct)
		}
		s.each(func(ms *server.MCPServer) {
			ms.SendNotificationToAllClients("test/notification", map[string]any{"value": "all clients"})
		})
		st := newStream(resp)
		_, _ = st.br.ReadBytes('\n') // the event line
		line, err := st.br.ReadBytes('\n')
		if err != nil {
			t.Fatalf("reading: %v (%q)", err, line)
		}
		wantContains(t, string(line), "all clients")
	})
}

func TestConformanceHTTPHandler(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{
			build: func(t *testing.T, r rig) *server.MCPServer {
				return server.NewMCPServer("test", "1.0.0", r.options(nil)...)
			},
			wrap: func(h http.Handler) http.Handler {
				mux := http.NewServeMux()
				mux.Handle("/mypath", h)
				return mux
			},
		})
		req := s.request(t, t.Context(), http.MethodPost, "", initRequest)
		req.URL.Path = "/mypath"
		m := decode(t, []byte(wantStatus(t, fetch(t, req), http.StatusOK)))
		if v := m.result(t)["protocolVersion"]; v != mcp.LATEST_LEGACY_PROTOCOL_VERSION {
			t.Errorf("protocolVersion %v, want %s", v, mcp.LATEST_LEGACY_PROTOCOL_VERSION)
		}
	})
}

func TestConformanceResourceGet(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{
			build: func(t *testing.T, r rig) *server.MCPServer {
				return server.NewMCPServer("test-mcp-server", "1.0", r.options(nil, server.WithResourceCapabilities(true, true))...)
			},
			http: []server.StreamableHTTPOption{server.WithStateful(true)},
			contextFunc: func(ctx context.Context, _ *http.Request) context.Context {
				st, ok := server.ClientSessionFromContext(ctx).(server.SessionWithResources)
				if !ok {
					t.Error("the session does not support resources")
					return ctx
				}
				if _, ok := st.GetSessionResources()["file://test_resource"]; !ok {
					st.SetSessionResources(map[string]server.ServerResource{"file://test_resource": {
						Resource: mcp.Resource{URI: "file://test_resource", Name: "test_resource", Description: "A test resource", MIMEType: "text/plain"},
						Handler: func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
							return []mcp.ResourceContents{mcp.TextResourceContents{URI: "file://test_resource", Text: "test content", MIMEType: "text/plain"}}, nil
						},
					}})
				}
				return ctx
			},
		})
		sid := s.initialize(t, nil)
		list := decode(t, []byte(wantStatus(t, s.post(t, sid, map[string]any{"jsonrpc": "2.0", "id": 2, "method": "resources/list", "params": map[string]any{}}), http.StatusOK)))
		items, _ := list.result(t)["resources"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["uri"] != "file://test_resource" {
			t.Fatalf("resources %v, want file://test_resource alone", items)
		}
		read := decode(t, []byte(body(t, s.post(t, sid, map[string]any{"jsonrpc": "2.0", "id": 2, "method": "resources/read", "params": map[string]any{"uri": "file://test_resource"}}))))
		contents, _ := read.result(t)["contents"].([]any)
		if len(contents) != 1 || contents[0].(map[string]any)["uri"] != "file://test_resource" {
			t.Fatalf("contents %v, want file://test_resource alone", contents)
		}
	})
}

// The original keeps the session object its hook saw and asks it for its
// level; here the hook asks it, on whichever replica served the call.
func TestConformanceSessionWithLogging(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		var mu sync.Mutex
		var level mcp.LoggingLevel
		var seen bool
		s := serve(t, w, fixture{
			build: func(t *testing.T, r rig) *server.MCPServer {
				hooks := &server.Hooks{}
				hooks.AddAfterSetLevel(func(ctx context.Context, _ any, _ *mcp.SetLevelRequest, _ *mcp.EmptyResult) {
					if cs, ok := server.ClientSessionFromContext(ctx).(server.SessionWithLogging); ok {
						mu.Lock()
						level, seen = cs.GetLogLevel(), true
						mu.Unlock()
					}
				})
				return server.NewMCPServer("test", "1.0.0", r.options(hooks, server.WithLogging())...)
			},
			http: []server.StreamableHTTPOption{server.WithStateful(true)},
		})
		sid := s.initialize(t, nil)
		wantStatus(t, s.post(t, sid, map[string]any{"jsonrpc": "2.0", "id": 1, "method": "logging/setLevel", "params": map[string]any{"level": mcp.LoggingLevelCritical}}), http.StatusOK)
		mu.Lock()
		defer mu.Unlock()
		if !seen {
			t.Fatal("the session was not captured")
		}
		if level != mcp.LoggingLevelCritical {
			t.Errorf("level %v, want critical", level)
		}
	})
}

func TestConformanceHeaderPassthrough(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		var mu sync.Mutex
		var contentType, custom string
		s := serve(t, w, fixture{build: func(t *testing.T, r rig) *server.MCPServer {
			ms := server.NewMCPServer("test-mcp-server", "1.0", r.options(nil)...)
			ms.AddTool(mcp.NewTool("check-headers"), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				mu.Lock()
				contentType, custom = req.Header.Get("Content-Type"), req.Header.Get("X-Custom-Header")
				mu.Unlock()
				return mcp.NewToolResultText("ok"), nil
			})
			return ms
		}})
		sid := s.initialize(t, nil)
		_ = body(t, s.post(t, sid, map[string]any{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": map[string]any{"name": "check-headers"}},
			"X-Custom-Header", "test-value"))
		mu.Lock()
		defer mu.Unlock()
		if contentType != "application/json" {
			t.Errorf("Content-Type %q, want application/json", contentType)
		}
		if custom != "test-value" {
			t.Errorf("X-Custom-Header %q, want test-value", custom)
		}
	})
}

func TestConformancePongResponseHandling(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{build: func(t *testing.T, r rig) *server.MCPServer {
			return server.NewMCPServer("test-mcp-server", "1.0", r.options(nil)...)
		}})
		for name, msg := range map[string]map[string]any{
			"Pong response with empty result should return 202 and not be treated as sampling response":   {"jsonrpc": "2.0", "id": 123, "result": map[string]any{}},
			"Pong response with omitted result should return 202 and not be treated as sampling response": {"jsonrpc": "2.0", "id": 124},
			"Response with empty error should return 202 and not be treated as sampling response":         {"jsonrpc": "2.0", "id": 125, "error": map[string]any{}},
		} {
			t.Run(name, func(t *testing.T) {
				resp := s.post(t, "", msg)
				b := body(t, resp)
				if strings.Contains(b, "Missing session ID for sampling response") || strings.Contains(b, "Failed to handle sampling response") {
					t.Errorf("taken for a sampling response: %q", b)
				}
				if resp.StatusCode != http.StatusAccepted {
					t.Errorf("status %d, want 202; body %q", resp.StatusCode, b)
				}
			})
		}
	})
}

func TestConformanceWithDisableStreaming(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		build := func(t *testing.T, r rig) *server.MCPServer {
			return server.NewMCPServer("test-mcp-server", "1.0.0", r.options(nil)...)
		}
		disabled := fixture{build: build, http: []server.StreamableHTTPOption{server.WithDisableStreaming(true)}}
		t.Run("WithDisableStreaming blocks GET requests", func(t *testing.T) {
			s := serve(t, w, disabled)
			wantContains(t, s.refusedGET(t, "", http.StatusMethodNotAllowed, "Content-Type", "text/event-stream"), "Streaming is disabled on this server")
		})
		// Not in mcp-go's tests: the same GET naming a live session
		// (issue 20, item 9), which mcp-go refuses alike.
		t.Run("WithDisableStreaming blocks GET requests of a session", func(t *testing.T) {
			s := serve(t, w, fixture{build: build, http: []server.StreamableHTTPOption{server.WithDisableStreaming(true), server.WithStateful(true)}})
			sid := s.initialize(t, nil)
			wantContains(t, s.refusedGET(t, sid, http.StatusMethodNotAllowed, "Content-Type", "text/event-stream"), "Streaming is disabled on this server")
		})
		t.Run("POST requests still work with WithDisableStreaming", func(t *testing.T) {
			s := serve(t, w, disabled)
			m := decode(t, []byte(wantStatus(t, s.post(t, "", initRequest), http.StatusOK)))
			if v := m.result(t)["protocolVersion"]; v != mcp.LATEST_LEGACY_PROTOCOL_VERSION {
				t.Errorf("protocolVersion %v, want %s", v, mcp.LATEST_LEGACY_PROTOCOL_VERSION)
			}
		})
		t.Run("Streaming works when WithDisableStreaming is false", func(t *testing.T) {
			s := serve(t, w, fixture{build: build, http: []server.StreamableHTTPOption{server.WithDisableStreaming(false)}})
			resp, cancel := s.open(t, "", "", "Content-Type", "text/event-stream")
			defer cancel()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status %d, want 200", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Errorf("Content-Type %q, want text/event-stream", ct)
			}
		})
	})
}

// Of TestStreamableHTTP_SessionValidation, the cases that do not depend on
// mcp-go's default manager accepting ids it never issued (see the suite's
// doc).
func TestConformanceSessionValidation(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		build := func(t *testing.T, r rig) *server.MCPServer {
			ms := server.NewMCPServer("test-server", "1.0.0", r.options(nil)...)
			ms.AddTool(mcp.NewTool("time", mcp.WithDescription("Get the current time")), textTool("2024-01-01T00:00:00Z"))
			return ms
		}
		s := serve(t, w, fixture{build: build})
		t.Run("Reject tool call with malformed session ID", func(t *testing.T) {
			b := wantStatus(t, s.post(t, "invalid-session-id", toolCall(1, "time", nil)), http.StatusNotFound)
			wantContains(t, b, "Invalid session ID")
		})
		t.Run("Accept tool call with valid session ID from initialize", func(t *testing.T) {
			sid := s.initialize(t, nil)
			wantStatus(t, s.post(t, sid, toolCall(2, "time", nil)), http.StatusOK)
		})
		t.Run("Reject tool call with terminated session ID (stateful mode)", func(t *testing.T) {
			s := serve(t, w, fixture{build: func(t *testing.T, r rig) *server.MCPServer {
				return server.NewMCPServer("test-server", "1.0.0", r.options(nil)...)
			}, http: []server.StreamableHTTPOption{server.WithStateful(true)}})
			sid := s.initialize(t, map[string]any{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": map[string]any{
				"protocolVersion": "2025-03-26", "capabilities": map[string]any{"tools": map[string]any{}},
				"clientInfo": map[string]any{"name": "test-client", "version": "1.0.0"},
			}})
			wantStatus(t, s.send(t, http.MethodDelete, sid, nil), http.StatusOK)
			wantStatus(t, s.post(t, sid, toolCall(2, "time", nil)), http.StatusNotFound)
		})
	})
}

func TestConformanceProtocolVersionHeader(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{
			build: func(t *testing.T, r rig) *server.MCPServer {
				return server.NewMCPServer("test-server", "1.0.0", r.options(nil, server.WithToolCapabilities(true))...)
			},
			http: []server.StreamableHTTPOption{server.WithStateful(true)},
		})
		sid := s.legacySession(t)
		send := func(t *testing.T, method string, msg any, version string) (int, string) {
			t.Helper()
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			req := s.request(t, ctx, method, sid, msg, "Content-Type", "application/json", mcp.HeaderProtocolVersion, version)
			resp := fetch(t, req)
			if method == http.MethodGet && resp.StatusCode == http.StatusOK {
				return resp.StatusCode, "" // a stream: nothing to read to its end
			}
			return resp.StatusCode, body(t, resp)
		}
		listTools := map[string]any{"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
		t.Run("unsupported version is rejected", func(t *testing.T) {
			for _, method := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
				t.Run(method, func(t *testing.T) {
					var msg any
					if method == http.MethodPost {
						msg = listTools
					}
					status, b := send(t, method, msg, "2025-01-01")
					if status != http.StatusBadRequest {
						t.Errorf("status %d, want 400", status)
					}
					wantContains(t, b, "Unsupported protocol version: 2025-01-01")
				})
			}
		})
		t.Run("unsupported version is rejected on responses", func(t *testing.T) {
			for name, msg := range map[string]map[string]any{
				"ping":  {"jsonrpc": "2.0", "id": 1, "result": map[string]any{}},
				"empty": {"jsonrpc": "2.0", "id": 1},
			} {
				t.Run(name, func(t *testing.T) {
					status, b := send(t, http.MethodPost, msg, "2025-01-01")
					if status != http.StatusBadRequest {
						t.Errorf("status %d, want 400", status)
					}
					wantContains(t, b, "Unsupported protocol version: 2025-01-01")
				})
			}
		})
		t.Run("supported version is accepted", func(t *testing.T) {
			if status, b := send(t, http.MethodPost, listTools, mcp.LATEST_LEGACY_PROTOCOL_VERSION); status != http.StatusOK {
				t.Errorf("status %d, want 200: %s", status, b)
			}
		})
		t.Run("missing header is accepted", func(t *testing.T) {
			if status, b := send(t, http.MethodPost, listTools, ""); status != http.StatusOK {
				t.Errorf("status %d, want 200: %s", status, b)
			}
		})
		t.Run("initialize is not checked", func(t *testing.T) {
			status, b := send(t, http.MethodPost, map[string]any{"jsonrpc": "2.0", "id": 3, "method": mcp.MethodInitialize, "params": map[string]any{
				"protocolVersion": mcp.LATEST_LEGACY_PROTOCOL_VERSION,
				"clientInfo":      map[string]any{"name": "test-client", "version": "1.0.0"},
				"capabilities":    map[string]any{},
			}}, "2025-01-01")
			if status != http.StatusOK {
				t.Errorf("status %d, want 200: %s", status, b)
			}
		})
	})
}

// registrations collects the sessions mcp-go registers on any replica, as
// the original's OnRegisterSession hook does on its one server.
type registrations chan string

func (r registrations) hooks() *server.Hooks {
	h := &server.Hooks{}
	h.AddOnRegisterSession(func(_ context.Context, cs server.ClientSession) {
		select {
		case r <- cs.SessionID():
		default:
		}
	})
	return h
}

// await waits for sid's registration on some replica.
func (r registrations) await(t testing.TB, sid string) {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case got := <-r:
			if got == sid {
				return
			}
		case <-deadline:
			t.Fatalf("session %s not registered in time", sid)
		}
	}
}

func TestConformanceSendNotificationToSpecificClient(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		t.Run("POST session registration enables SendNotificationToSpecificClient", func(t *testing.T) {
			reg := make(registrations, 16)
			s := serve(t, w, fixture{
				build: func(t *testing.T, r rig) *server.MCPServer {
					return server.NewMCPServer("test", "1.0.0", r.options(reg.hooks())...)
				},
				http: []server.StreamableHTTPOption{server.WithStateful(true)},
			})
			sid := s.initialize(t, nil)
			reg.await(t, sid)
			if err := s.server().SendNotificationToSpecificClient(sid, "test/notification", map[string]any{"message": "test notification"}); err != nil {
				t.Errorf("SendNotificationToSpecificClient: %v", err)
			}
		})
		// The original sleeps 100 ms for the registration after initialize;
		// here the test waits for it.
		t.Run("Session reuse for non-initialize requests", func(t *testing.T) {
			reg := make(registrations, 16)
			s := serve(t, w, fixture{
				build: func(t *testing.T, r rig) *server.MCPServer {
					ms := server.NewMCPServer("test", "1.0.0", r.options(reg.hooks())...)
					ms.AddTool(mcp.NewTool("notify_tool"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
						cs := server.ClientSessionFromContext(ctx)
						if cs == nil {
							return mcp.NewToolResultError("no session in context"), nil
						}
						if err := server.ServerFromContext(ctx).SendNotificationToSpecificClient(cs.SessionID(), "tool/notification", map[string]any{"from": "tool"}); err != nil {
							return mcp.NewToolResultError(fmt.Sprintf("notification failed: %v", err)), nil
						}
						return mcp.NewToolResultText("notification sent"), nil
					})
					return ms
				},
				http: []server.StreamableHTTPOption{server.WithStateful(true)},
			})
			sid := s.initialize(t, nil)
			reg.await(t, sid)
			m := answer(t, s.post(t, sid, toolCall(2, "notify_tool", nil)))
			if m.Error != nil {
				t.Fatalf("tool call failed: %+v", m.Error)
			}
			if got := m.text(t); got != "notification sent" {
				t.Errorf("%q, want notification sent", got)
			}
		})
	})
}

// The original's slow tool sleeps 100 ms and the test adds a tool 50 ms
// into it; here the tool waits until the test has added it.
func TestConformanceAddToolDuringToolCall(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		entered, release := make(chan struct{}, 1), make(chan struct{})
		s := serve(t, w, fixture{
			build: func(t *testing.T, r rig) *server.MCPServer {
				ms := server.NewMCPServer("test-mcp-server", "1.0", r.options(nil, server.WithToolCapabilities(true))...)
				ms.AddTool(mcp.NewTool("slow_tool", mcp.WithDescription("A tool that takes time to complete")), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
					entered <- struct{}{}
					select {
					case <-release:
					case <-ctx.Done():
					}
					return mcp.NewToolResultText("done"), nil
				})
				return ms
			},
			http: []server.StreamableHTTPOption{server.WithStateful(true)},
		})
		sid := s.initialize(t, nil)
		type result struct {
			status int
			body   string
		}
		done := make(chan result, 1)
		req := s.request(t, t.Context(), http.MethodPost, sid, toolCall(1, "slow_tool", nil))
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- result{body: err.Error()}
				return
			}
			defer resp.Body.Close()
			b, _ := readAll(resp)
			done <- result{resp.StatusCode, b}
		}()
		select {
		case <-entered:
		case <-time.After(waitTimeout):
			t.Fatal("the tool did not start")
		}
		s.each(func(ms *server.MCPServer) {
			ms.AddTool(mcp.NewTool("new_tool", mcp.WithDescription("A new tool added during execution")), textTool("new tool result"))
		})
		close(release)
		r := <-done
		if r.status != http.StatusOK {
			t.Errorf("status %d, want 200: %s", r.status, r.body)
		}
		wantContains(t, r.body, "done")
	})
}

// readAll reads an answer's body, for goroutines that must not call t.
func readAll(resp *http.Response) (string, error) {
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// Of TestStreamableHTTP_GET_NonFlusherReturns405, the case over HTTP.
func TestConformanceGETWithFlusher(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{build: func(t *testing.T, r rig) *server.MCPServer {
			return server.NewMCPServer("test-mcp-server", "1.0", r.options(nil)...)
		}})
		resp, cancel := s.open(t, "", "", "Content-Type", "text/event-stream")
		defer cancel()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status %d, want 200", resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Errorf("Content-Type %q, want text/event-stream", ct)
		}
	})
}

// The original also reads that mcp-go's session maps no longer hold the
// session; over HTTP, the unregister hook says so. It fires on the replica
// that served the DELETE if that one held the session, and on the others
// once the session's end reaches them: the port waits for it.
func TestConformanceDelete(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		unregistered := make(chan string, 16)
		s := serve(t, w, fixture{
			build: func(t *testing.T, r rig) *server.MCPServer {
				hooks := &server.Hooks{}
				hooks.AddOnUnregisterSession(func(_ context.Context, cs server.ClientSession) {
					select {
					case unregistered <- cs.SessionID():
					default:
					}
				})
				return server.NewMCPServer("test-mcp-server", "1.0", r.options(hooks)...)
			},
			http: []server.StreamableHTTPOption{server.WithStateful(true)},
		})
		sid := s.initialize(t, nil)
		wantStatus(t, s.send(t, http.MethodDelete, sid, nil), http.StatusOK)
		select {
		case got := <-unregistered:
			if got != sid {
				t.Errorf("unregistered %s, want %s", got, sid)
			}
		case <-time.After(waitTimeout):
			t.Fatal("the unregister hook was not called")
		}
	})
}

func TestConformanceHeadReturns200(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{build: func(t *testing.T, r rig) *server.MCPServer {
			return server.NewMCPServer("test-mcp-server", "1.0", r.options(nil)...)
		}})
		wantStatus(t, s.send(t, http.MethodHead, "", nil), http.StatusOK)
	})
}

func TestConformanceDrainNotifications(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{build: func(t *testing.T, r rig) *server.MCPServer {
			ms := server.NewMCPServer("test-mcp-server", "1.0", r.options(nil)...)
			ms.AddTool(mcp.Tool{Name: "drainTestTool"}, func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				srv := server.ServerFromContext(ctx)
				for i := range 10 {
					_ = srv.SendNotificationToClient(ctx, "test/drain", map[string]any{"index": i})
				}
				return mcp.NewToolResultText("drain test done"), nil
			})
			return ms
		}})
		sid := s.initialize(t, nil)
		resp := s.post(t, sid, toolCall(1, "drainTestTool", nil))
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Errorf("Content-Type %q, want text/event-stream", ct)
		}
		wantContains(t, body(t, resp), "drain test done", "event: message")
	})
}

// The original runs twenty servers in parallel, one call each; here one
// service takes the twenty sessions and calls one after another.
func TestConformanceNotificationUpgradeDoesNotCorruptResponse(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{build: func(t *testing.T, r rig) *server.MCPServer {
			ms := server.NewMCPServer("test-mcp-server", "1.0", r.options(nil, server.WithToolCapabilities(true))...)
			ms.AddTool(mcp.NewTool("notifying_tool"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				_ = server.ServerFromContext(ctx).SendNotificationToClient(ctx, "test/raceNotification", map[string]any{"info": "this triggers the SSE upgrade"})
				return mcp.NewToolResultText("tool result ok"), nil
			})
			return ms
		}})
		for i := range 20 {
			t.Run(fmt.Sprintf("iteration_%d", i), func(t *testing.T) {
				sid := s.initialize(t, nil)
				resp := s.post(t, sid, toolCall(1, "notifying_tool", nil))
				b := wantStatus(t, resp, http.StatusOK)
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
					t.Fatalf("Content-Type %q, want text/event-stream", ct)
				}
				wantContains(t, b, "event: message", "tool result ok")
				for line := range strings.SplitSeq(strings.TrimSpace(b), "\n") {
					if line == "" {
						continue
					}
					if !strings.HasPrefix(line, "event:") && !strings.HasPrefix(line, "data:") && !strings.HasPrefix(line, "id:") &&
						!strings.HasPrefix(line, "retry:") && !strings.HasPrefix(line, ":") {
						t.Errorf("not an SSE line: %q", line)
					}
				}
			})
		}
	})
}

func TestConformanceSamplingResponseErrors(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{
			build: func(t *testing.T, r rig) *server.MCPServer {
				return server.NewMCPServer("test", "1.0", r.options(nil)...)
			},
			http: []server.StreamableHTTPOption{server.WithStateful(true)},
		})
		sid := s.initialize(t, nil)
		sampling := map[string]any{"jsonrpc": "2.0", "id": 42, "result": map[string]any{
			"model": "test-model", "role": "assistant", "content": map[string]any{"type": "text", "text": "hello"},
		}}
		t.Run("missing session ID returns 400", func(t *testing.T) {
			wantContains(t, wantStatus(t, s.post(t, "", sampling), http.StatusBadRequest), "Missing session ID")
		})
		t.Run("invalid session ID returns 404", func(t *testing.T) {
			wantStatus(t, s.post(t, "bogus-session-id", sampling), http.StatusNotFound)
		})
		t.Run("valid session but no pending sampling request returns 400", func(t *testing.T) {
			wantContains(t, wantStatus(t, s.post(t, sid, sampling), http.StatusBadRequest), "No pending sampling request")
		})
	})
}
