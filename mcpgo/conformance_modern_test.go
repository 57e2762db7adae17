package mcpgo

// Cases of mcp-go v1.6.0 server/streamable_http_modern_test.go: the
// sessionless revision (2026-07-28), which the adapter hands to mcp-go.

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
)

// modernMeta is the _meta every request carries from 2026-07-28 on.
func modernMeta() map[string]any {
	return map[string]any{
		mcp.MetaKeyProtocolVersion:    mcp.ProtocolVersion20260728,
		mcp.MetaKeyClientInfo:         map[string]any{"name": "test-client", "version": "1.0.0"},
		mcp.MetaKeyClientCapabilities: map[string]any{},
	}
}

// postModern sends a request of the revision with the headers SEP-2243
// asks for, and meta as its _meta (modernMeta when nil).
func (s *service) postModern(t testing.TB, method mcp.MCPMethod, params, meta map[string]any) *http.Response {
	t.Helper()
	if params == nil {
		params = map[string]any{}
	}
	if meta == nil {
		meta = modernMeta()
	}
	params["_meta"] = meta
	header := []string{"Accept", "application/json, text/event-stream", mcp.HeaderProtocolVersion, mcp.ProtocolVersion20260728, mcp.HeaderMethod, string(method)}
	raw, _ := json.Marshal(params)
	if name, ok := mcp.ExtractHeaderName(method, raw); ok {
		encoded, ok := mcp.EncodeHeaderValue(name)
		if !ok {
			t.Fatalf("cannot encode %v", name)
		}
		header = append(header, mcp.HeaderName, encoded)
	}
	return s.post(t, "", map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, header...)
}

// modernServer is newModernTestServer's: capabilities, instructions and
// the tool greet.
func modernServer(opts ...server.ServerOption) func(t *testing.T, r rig) *server.MCPServer {
	return func(t *testing.T, r rig) *server.MCPServer {
		base := []server.ServerOption{
			server.WithToolCapabilities(true),
			server.WithResourceCapabilities(true, true),
			server.WithPromptCapabilities(true),
			server.WithInstructions("be helpful"),
		}
		ms := server.NewMCPServer("modern-test", "1.0.0", r.options(nil, append(base, opts...)...)...)
		ms.AddTool(mcp.NewTool("greet", mcp.WithString("name", mcp.Description("who to greet"))),
			func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return mcp.NewToolResultText("hello " + req.GetString("name", "world")), nil
			})
		return ms
	}
}

// rpcError is the error of a JSON-RPC answer, failing t if there is none.
func rpcError(t testing.TB, resp *http.Response) (code int, message string, data json.RawMessage) {
	t.Helper()
	m := decode(t, []byte(body(t, resp)))
	if m.Error == nil {
		t.Fatalf("no JSON-RPC error in %s", m.Result)
	}
	return m.Error.Code, m.Error.Message, m.Error.Data
}

func TestConformanceModernDiscover(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{build: modernServer()})
		m := decode(t, []byte(wantStatus(t, s.postModern(t, mcp.MethodServerDiscover, nil, nil), http.StatusOK)))
		r := m.result(t)
		if v, _ := r["supportedVersions"].([]any); len(v) == 0 || v[0] != mcp.ProtocolVersion20260728 {
			t.Errorf("supportedVersions %v, want %s first", r["supportedVersions"], mcp.ProtocolVersion20260728)
		}
		if r["resultType"] != string(mcp.ResultTypeComplete) {
			t.Errorf("resultType %v", r["resultType"])
		}
		meta, _ := r["_meta"].(map[string]any)
		if info, _ := meta[mcp.MetaKeyServerInfo].(map[string]any); info["name"] != "modern-test" {
			t.Errorf("serverInfo %v", meta[mcp.MetaKeyServerInfo])
		}
		if _, ok := r["ttlMs"]; !ok {
			t.Error("no ttlMs")
		}
		if r["cacheScope"] != string(mcp.CacheScopePrivate) {
			t.Errorf("cacheScope %v", r["cacheScope"])
		}
		if r["instructions"] != "be helpful" {
			t.Errorf("instructions %v", r["instructions"])
		}
	})
}

func TestConformanceModernNoSessionID(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{build: modernServer()})
		resp := s.postModern(t, mcp.MethodServerDiscover, nil, nil)
		wantStatus(t, resp, http.StatusOK)
		if sid := resp.Header.Get(mcp.HeaderSessionID); sid != "" {
			t.Errorf("session id %q, want none", sid)
		}
	})
}

func TestConformanceModernToolsListIsCacheable(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{build: modernServer(server.WithCacheHints(60000, mcp.CacheScopePrivate))})
		r := decode(t, []byte(wantStatus(t, s.postModern(t, mcp.MethodToolsList, nil, nil), http.StatusOK))).result(t)
		if r["ttlMs"] != float64(60000) || r["cacheScope"] != string(mcp.CacheScopePrivate) || r["resultType"] != string(mcp.ResultTypeComplete) {
			t.Errorf("ttlMs %v cacheScope %v resultType %v", r["ttlMs"], r["cacheScope"], r["resultType"])
		}
	})
}

func TestConformanceModernToolCall(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{build: modernServer()})
		m := decode(t, []byte(wantStatus(t, s.postModern(t, mcp.MethodToolsCall, map[string]any{"name": "greet", "arguments": map[string]any{"name": "MCP"}}, nil), http.StatusOK)))
		if r := m.result(t); r["resultType"] != string(mcp.ResultTypeComplete) {
			t.Errorf("resultType %v", r["resultType"])
		}
		if got := m.text(t); got != "hello MCP" {
			t.Errorf("%q, want hello MCP", got)
		}
	})
}

func TestConformanceModernRemovedMethodsRejected(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{build: modernServer(server.WithLogging())})
		for _, method := range []mcp.MCPMethod{mcp.MethodInitialize, mcp.MethodPing, mcp.MethodSetLogLevel, mcp.MethodResourcesSubscribe, mcp.MethodResourcesUnsubscribe} {
			t.Run(string(method), func(t *testing.T) {
				resp := s.postModern(t, method, nil, nil)
				if resp.StatusCode != http.StatusNotFound {
					t.Errorf("status %d, want 404", resp.StatusCode)
				}
				code, msg, _ := rpcError(t, resp)
				if code != mcp.METHOD_NOT_FOUND {
					t.Errorf("code %d, want %d", code, mcp.METHOD_NOT_FOUND)
				}
				wantContains(t, msg, "removed in protocol version")
			})
		}
	})
}

func TestConformanceModernGetAndDeleteRejected(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{build: modernServer()})
		for _, method := range []string{http.MethodGet, http.MethodDelete} {
			t.Run(method, func(t *testing.T) {
				resp := s.send(t, method, "", nil, mcp.HeaderProtocolVersion, mcp.ProtocolVersion20260728)
				if resp.StatusCode != http.StatusMethodNotAllowed {
					t.Errorf("status %d, want 405", resp.StatusCode)
				}
				if allow := resp.Header.Get("Allow"); allow != http.MethodPost {
					t.Errorf("Allow %q, want POST", allow)
				}
			})
		}
	})
}

func TestConformanceModernHeaderValidation(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{build: modernServer()})
		call := func(t *testing.T, header ...string) *http.Response {
			t.Helper()
			base := []string{mcp.HeaderProtocolVersion, mcp.ProtocolVersion20260728, mcp.HeaderMethod, string(mcp.MethodToolsCall), mcp.HeaderName, "greet"}
			return s.post(t, "", map[string]any{"jsonrpc": "2.0", "id": 1, "method": mcp.MethodToolsCall, "params": map[string]any{
				"name": "greet", "arguments": map[string]any{}, "_meta": modernMeta(),
			}}, append(base, header...)...)
		}
		for _, tc := range []struct {
			name   string
			header []string
			status int // 0: not checked, as in the original
		}{
			{"missing Mcp-Method", []string{mcp.HeaderMethod, ""}, 0},
			{"Mcp-Method disagrees with body", []string{mcp.HeaderMethod, "tools/list"}, 0},
			{"Mcp-Name disagrees with body", []string{mcp.HeaderName, "farewell"}, 0},
			{"missing protocol version header", []string{mcp.HeaderProtocolVersion, ""}, http.StatusBadRequest},
			{"Last-Event-ID is refused", []string{mcp.HeaderLastEventID, "42"}, http.StatusBadRequest},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp := call(t, tc.header...)
				if tc.status != 0 && resp.StatusCode != tc.status {
					t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
				}
				if code, _, _ := rpcError(t, resp); code != mcp.HEADER_MISMATCH {
					t.Errorf("code %d, want %d", code, mcp.HEADER_MISMATCH)
				}
			})
		}
	})
}

func TestConformanceModernClientCapabilitiesRequired(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{build: modernServer()})
		for _, tc := range []struct {
			name         string
			capabilities any
		}{{"missing", nil}, {"not an object", "all"}} {
			t.Run(tc.name, func(t *testing.T) {
				meta := modernMeta()
				delete(meta, mcp.MetaKeyClientCapabilities)
				if tc.capabilities != nil {
					meta[mcp.MetaKeyClientCapabilities] = tc.capabilities
				}
				resp := s.postModern(t, mcp.MethodToolsList, nil, meta)
				if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("status %d, want 400", resp.StatusCode)
				}
				if code, _, _ := rpcError(t, resp); code != mcp.INVALID_PARAMS {
					t.Errorf("code %d, want %d", code, mcp.INVALID_PARAMS)
				}
			})
		}
	})
}

func TestConformanceModernUnsupportedVersionNegotiation(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{
			build: func(t *testing.T, r rig) *server.MCPServer {
				return server.NewMCPServer("modern-test", "1.0.0", r.options(nil, server.WithToolCapabilities(true))...)
			},
			http: []server.StreamableHTTPOption{server.WithStreamableHTTPProtocolVersions(mcp.LegacyProtocolVersions()...)},
		})
		resp := s.postModern(t, mcp.MethodToolsList, nil, nil)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", resp.StatusCode)
		}
		code, _, raw := rpcError(t, resp)
		if code != mcp.UNSUPPORTED_PROTOCOL_VERSION {
			t.Errorf("code %d, want %d", code, mcp.UNSUPPORTED_PROTOCOL_VERSION)
		}
		var data struct {
			Requested string   `json:"requested"`
			Supported []string `json:"supported"`
		}
		if err := json.Unmarshal(raw, &data); err != nil {
			t.Fatalf("data %s: %v", raw, err)
		}
		if data.Requested != mcp.ProtocolVersion20260728 || len(data.Supported) == 0 || data.Supported[0] != mcp.LATEST_LEGACY_PROTOCOL_VERSION {
			t.Errorf("data %+v", data)
		}
		for _, v := range data.Supported {
			if v == mcp.ProtocolVersion20260728 {
				t.Errorf("supported %v names %s", data.Supported, v)
			}
		}
	})
}

func TestConformanceModernLegacyClientsUnaffected(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{build: modernServer()})
		resp := s.post(t, "", map[string]any{"jsonrpc": "2.0", "id": 1, "method": mcp.MethodInitialize, "params": map[string]any{
			"protocolVersion": mcp.LATEST_LEGACY_PROTOCOL_VERSION,
			"clientInfo":      map[string]any{"name": "legacy", "version": "1.0.0"},
			"capabilities":    map[string]any{},
		}})
		r := decode(t, []byte(wantStatus(t, resp, http.StatusOK))).result(t)
		if r["protocolVersion"] != mcp.LATEST_LEGACY_PROTOCOL_VERSION {
			t.Errorf("protocolVersion %v", r["protocolVersion"])
		}
		if resp.Header.Get(mcp.HeaderSessionID) == "" {
			t.Error("no session minted")
		}
		for _, k := range []string{"resultType", "ttlMs"} {
			if _, ok := r[k]; ok {
				t.Errorf("a legacy result with %s", k)
			}
		}
	})
}

// listenMessage is a notification read off a subscriptions/listen stream.
type listenMessage struct {
	Method string `json:"method"`
	Params struct {
		Meta map[string]any `json:"_meta"`
	} `json:"params"`
}

// openListen opens a subscriptions/listen stream with id and filter; its
// notifications come on the channel until ctx ends.
func (s *service) openListen(ctx context.Context, t *testing.T, id int, notifications map[string]any) <-chan listenMessage {
	t.Helper()
	req := s.request(t, ctx, http.MethodPost, "", map[string]any{"jsonrpc": "2.0", "id": id, "method": mcp.MethodSubscriptionsListen,
		"params": map[string]any{"notifications": notifications, "_meta": modernMeta()}},
		"Accept", "application/json, text/event-stream", mcp.HeaderProtocolVersion, mcp.ProtocolVersion20260728, mcp.HeaderMethod, string(mcp.MethodSubscriptionsListen))
	resp := fetch(t, req)
	messages := make(chan listenMessage, 8)
	go func() {
		defer close(messages)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var m listenMessage
			if json.Unmarshal([]byte(data), &m) == nil {
				messages <- m
			}
		}
	}()
	return messages
}

func nextListen(t *testing.T, messages <-chan listenMessage) listenMessage {
	t.Helper()
	select {
	case m := <-messages:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("nothing arrived on the subscription stream")
	}
	return listenMessage{}
}

// The original also reads that mcp-go keeps no listen session once the
// streams close, and no registered session: the latter is what its
// register hook observes, on every replica here.
func TestConformanceModernListenStreamReceivesListChanged(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		var registered atomic.Int32
		s := serve(t, w, fixture{build: func(t *testing.T, r rig) *server.MCPServer {
			hooks := &server.Hooks{}
			hooks.AddOnRegisterSession(func(context.Context, server.ClientSession) { registered.Add(1) })
			return server.NewMCPServer("modern-test", "1.0.0", r.options(hooks, server.WithToolCapabilities(true), server.WithPromptCapabilities(true))...)
		}})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		everything := s.openListen(ctx, t, 7, map[string]any{"toolsListChanged": true, "promptsListChanged": true})
		promptsOnly := s.openListen(ctx, t, 8, map[string]any{"promptsListChanged": true})
		for stream, id := range map[<-chan listenMessage]float64{everything: 7, promptsOnly: 8} {
			ack := nextListen(t, stream)
			if ack.Method != mcp.MethodNotificationSubscriptionsAcknowledged || ack.Params.Meta[mcp.MetaKeySubscriptionID] != id {
				t.Fatalf("first message %+v, want the acknowledgement of %v", ack, id)
			}
		}
		s.each(func(ms *server.MCPServer) {
			ms.SendNotificationToAllClients("notifications/custom", nil)
			ms.AddTool(mcp.NewTool("added"), textTool("added"))
			ms.AddPrompt(mcp.NewPrompt("added"), func(context.Context, mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
				return mcp.NewGetPromptResult("added", nil), nil
			})
		})
		for _, want := range []struct {
			stream <-chan listenMessage
			method string
			id     float64
		}{
			{everything, mcp.MethodNotificationToolsListChanged, 7},
			{everything, mcp.MethodNotificationPromptsListChanged, 7},
			{promptsOnly, mcp.MethodNotificationPromptsListChanged, 8},
		} {
			m := nextListen(t, want.stream)
			if m.Method != want.method || m.Params.Meta[mcp.MetaKeySubscriptionID] != want.id {
				t.Errorf("%s %v, want %s tagged %v", m.Method, m.Params.Meta[mcp.MetaKeySubscriptionID], want.method, want.id)
			}
		}
		cancel()
		if n := registered.Load(); n != 0 {
			t.Errorf("%d client sessions registered by subscription streams", n)
		}
	})
}

func TestConformanceModernListenWithoutIDIsNotAStream(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{build: func(t *testing.T, r rig) *server.MCPServer {
			return server.NewMCPServer("modern-test", "1.0.0", r.options(nil, server.WithToolCapabilities(true))...)
		}})
		resp := s.post(t, "", map[string]any{"jsonrpc": "2.0", "method": mcp.MethodSubscriptionsListen,
			"params": map[string]any{"notifications": map[string]any{"toolsListChanged": true}, "_meta": modernMeta()}},
			"Accept", "application/json, text/event-stream", mcp.HeaderProtocolVersion, mcp.ProtocolVersion20260728, mcp.HeaderMethod, string(mcp.MethodSubscriptionsListen))
		wantStatus(t, resp, http.StatusAccepted)
	})
}

// embeddingResponseWriter is the original's: middleware that embeds the
// ResponseWriter without re-exposing http.Flusher.
type embeddingResponseWriter struct{ http.ResponseWriter }

func TestConformanceModernListenWithoutStreamingFailsPromptly(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{
			build: func(t *testing.T, r rig) *server.MCPServer {
				return server.NewMCPServer("modern-test", "1.0.0", r.options(nil, server.WithToolCapabilities(true))...)
			},
			wrap: func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(&embeddingResponseWriter{w}, r) })
			},
		})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		resp := fetch(t, s.request(t, ctx, http.MethodPost, "", map[string]any{"jsonrpc": "2.0", "id": 2, "method": mcp.MethodSubscriptionsListen,
			"params": map[string]any{"notifications": map[string]any{"toolsListChanged": true}, "_meta": modernMeta()}},
			"Accept", "application/json, text/event-stream", mcp.HeaderProtocolVersion, mcp.ProtocolVersion20260728, mcp.HeaderMethod, string(mcp.MethodSubscriptionsListen)))
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("status %d, want 500", resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
		m := decode(t, []byte(body(t, resp)))
		if m.idNumber() != 2 || m.Error == nil || m.Error.Code != mcp.INTERNAL_ERROR || !strings.Contains(m.Error.Message, "Streaming unsupported") {
			t.Errorf("answer %s %+v, want error %d Streaming unsupported for 2", m.ID, m.Error, mcp.INTERNAL_ERROR)
		}
	})
}

func TestConformanceClientToServerResponsesByProtocolEra(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		for _, tc := range []struct {
			name            string
			stateful        bool
			withSession     bool
			protocolVersion string
			wantRejected    bool
		}{
			{"a modern response replaying a valid session is rejected", true, true, mcp.ProtocolVersion20260728, true},
			{"a modern response without a session is rejected", false, false, mcp.ProtocolVersion20260728, true},
			{"a legacy response still reaches the delivery path", false, false, "", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var opts []server.StreamableHTTPOption
				if tc.stateful {
					opts = append(opts, server.WithStateful(true))
				}
				s := serve(t, w, fixture{build: func(t *testing.T, r rig) *server.MCPServer {
					return server.NewMCPServer("modern-test", "1.0.0", r.options(nil, server.WithToolCapabilities(true))...)
				}, http: opts})
				var sid string
				if tc.withSession {
					sid = s.legacySession(t)
				}
				resp := s.post(t, sid, map[string]any{"jsonrpc": "2.0", "id": 42, "result": map[string]any{"action": "accept"}},
					mcp.HeaderProtocolVersion, tc.protocolVersion)
				b := body(t, resp)
				if !tc.wantRejected {
					if strings.Contains(b, "not supported in protocol version") {
						t.Errorf("a legacy response refused as modern: %s", b)
					}
					return
				}
				if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("status %d, want 400", resp.StatusCode)
				}
				m := decode(t, []byte(b))
				if m.Error == nil || m.Error.Code != mcp.INVALID_REQUEST || !strings.Contains(m.Error.Message, "not supported in protocol version") {
					t.Errorf("answer %s, want invalid request, not supported in protocol version", b)
				}
			})
		}
	})
}
