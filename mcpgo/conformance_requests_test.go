package mcpgo

// Cases of mcp-go v1.6.0 server/streamable_http_{elicitation,roots_post,
// overlapping_post,sampling_error_label,notification_drop,
// request_scoped_notification,envelope,body_limit}_test.go: server-to-client
// requests and notifications on a POST's own stream, and what mcp-go
// checks of a POST before anything else.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
)

// elicitationSession is the original's initializeSession: initialize with
// the elicitation capability, and nothing more.
func (s *service) elicitationSession(t testing.TB) string {
	t.Helper()
	return s.initialize(t, map[string]any{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": map[string]any{
		"protocolVersion": mcp.LATEST_PROTOCOL_VERSION,
		"clientInfo":      map[string]any{"name": "test-client", "version": "1.0.0"},
		"capabilities":    map[string]any{"elicitation": map[string]any{}},
	}}, "Accept", "application/json, text/event-stream")
}

// toolStream is postToolCall: tools/call name as request 7, whose answer
// must be a stream.
func (s *service) toolStream(t testing.TB, sid, name string) *stream {
	t.Helper()
	resp := s.post(t, sid, toolCall(7, name, nil), "Accept", "application/json, text/event-stream")
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q, want text/event-stream (%d %s)", ct, resp.StatusCode, body(t, resp))
	}
	return newStream(resp)
}

// answerRequest is answerServerRequest: result as the client's answer to
// the server's request id, which must be 202.
func (s *service) answerRequest(t testing.TB, sid string, id json.RawMessage, result any) {
	t.Helper()
	resp := s.post(t, sid, map[string]any{"jsonrpc": "2.0", "id": id, "result": result}, "Accept", "application/json, text/event-stream")
	wantStatus(t, resp, http.StatusAccepted)
}

// finalText reads the final answer to request 7 and returns its text.
func finalText(t testing.TB, st *stream) string {
	t.Helper()
	m := st.message(t)
	if m.idNumber() != 7 {
		t.Fatalf("answer to %s, want 7: %s", m.ID, m.Result)
	}
	return m.text(t)
}

func TestConformanceElicitationOnOriginatingPOSTStream(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{build: func(t *testing.T, r rig) *server.MCPServer {
			ms := server.NewMCPServer("test-server", "1.0.0", r.options(nil)...)
			ms.AddTool(mcp.NewTool("confirm"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				res, err := ms.RequestElicitation(ctx, mcp.ElicitationRequest{Params: mcp.ElicitationParams{
					Message: "Proceed?", RequestedSchema: map[string]any{"type": "object"},
				}})
				if err != nil {
					return nil, err
				}
				return mcp.NewToolResultText("action=" + string(res.Action)), nil
			})
			return ms
		}})
		sid := s.elicitationSession(t)
		st := s.toolStream(t, sid, "confirm")
		m := st.message(t)
		var params struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(m.Params, &params)
		if m.Method != string(mcp.MethodElicitationCreate) || params.Message != "Proceed?" {
			t.Fatalf("first event %s %s, want the elicitation", m.Method, m.Params)
		}
		s.answerRequest(t, sid, m.ID, map[string]any{"action": "accept", "content": map[string]any{"confirmed": true}})
		if got := finalText(t, st); got != "action=accept" {
			t.Errorf("%q, want action=accept", got)
		}
	})
}

func TestConformanceListRootsOnOriginatingPOSTStream(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{build: func(t *testing.T, r rig) *server.MCPServer {
			ms := server.NewMCPServer("test-server", "1.0.0", r.options(nil, server.WithRoots())...)
			ms.AddTool(mcp.NewTool("workspace"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				res, err := ms.RequestRoots(ctx, mcp.ListRootsRequest{})
				if err != nil {
					return nil, err
				}
				var uris []string
				for _, root := range res.Roots {
					uris = append(uris, root.URI)
				}
				return mcp.NewToolResultText(strings.Join(uris, ",")), nil
			})
			return ms
		}})
		sid := s.elicitationSession(t)
		st := s.toolStream(t, sid, "workspace")
		m := st.message(t)
		if m.Method != string(mcp.MethodListRoots) {
			t.Fatalf("first event %s, want %s", m.Method, mcp.MethodListRoots)
		}
		s.answerRequest(t, sid, m.ID, map[string]any{"roots": []map[string]any{{"uri": "file:///w", "name": "w"}}})
		if got := finalText(t, st); got != "file:///w" {
			t.Errorf("%q, want file:///w", got)
		}
	})
}

func TestConformanceSamplingOnOriginatingPOSTStream(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{build: func(t *testing.T, r rig) *server.MCPServer {
			ms := server.NewMCPServer("test-server", "1.0.0", r.options(nil)...)
			ms.EnableSampling()
			ms.AddTool(mcp.NewTool("summarize"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				//lint:ignore SA1019 sampling is deprecated from the sessionless revision on; sessions still use it.
				res, err := ms.RequestSampling(ctx, mcp.CreateMessageRequest{CreateMessageParams: mcp.CreateMessageParams{
					Messages: []mcp.SamplingMessage{{Role: mcp.RoleUser, Content: mcp.NewTextContent("hi")}}, MaxTokens: 10,
				}})
				if err != nil {
					return nil, err
				}
				return mcp.NewToolResultText("model=" + res.Model), nil
			})
			return ms
		}})
		sid := s.elicitationSession(t)
		st := s.toolStream(t, sid, "summarize")
		m := st.message(t)
		if m.Method != string(mcp.MethodSamplingCreateMessage) {
			t.Fatalf("first event %s, want %s", m.Method, mcp.MethodSamplingCreateMessage)
		}
		s.answerRequest(t, sid, m.ID, map[string]any{"role": "assistant", "model": "m1", "content": map[string]any{"type": "text", "text": "ok"}})
		if got := finalText(t, st); got != "model=m1" {
			t.Errorf("%q, want model=m1", got)
		}
	})
}

func TestConformanceRequestQueuedAsPOSTEndsFallsBackToGET(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		const calls, tasksPerCall = 20, 8
		roots := map[string]any{"roots": []map[string]any{{"uri": "file:///w", "name": "w"}}}
		results := make(chan error, calls*tasksPerCall)
		s := serve(t, w, fixture{build: func(t *testing.T, r rig) *server.MCPServer {
			ms := server.NewMCPServer("test-server", "1.0.0", r.options(nil, server.WithRoots())...)
			ms.AddTool(mcp.NewTool("spawn"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				for range tasksPerCall {
					go func() {
						taskCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
						defer cancel()
						_, err := ms.RequestRoots(taskCtx, mcp.ListRootsRequest{})
						results <- err
					}()
				}
				return mcp.NewToolResultText("spawned"), nil
			})
			return ms
		}})
		sid := s.elicitationSession(t)

		get, stopGet := s.open(t, sid, "", "Accept", "text/event-stream")
		defer stopGet()
		getErr := make(chan error, 1)
		go func() {
			st := newStream(get)
			for {
				ev, err := st.read()
				if err != nil {
					return
				}
				var m rpc
				if json.Unmarshal(ev.data, &m) != nil || m.Method == "" {
					continue
				}
				if err := s.postAnswer(sid, m.ID, roots); err != nil {
					select {
					case getErr <- err:
					default:
					}
				}
			}
		}()

		for range calls {
			resp := s.post(t, sid, toolCall(7, "spawn", nil), "Accept", "application/json, text/event-stream")
			if resp.Header.Get("Content-Type") == "text/event-stream" {
				st := newStream(resp)
				for {
					m := st.message(t)
					if m.Method == "" {
						break // the tools/call answer ends the POST's stream
					}
					s.answerRequest(t, sid, m.ID, roots)
				}
			} else {
				_ = body(t, resp)
			}
			// The call's tasks are answered before the next call: mcp-go
			// queues ten requests for the GET stream at most, and the
			// original's calls, one right after another, overflow it on a
			// busy machine (mcp-go's own handler, 11 runs in 40 here).
			for range tasksPerCall {
				select {
				case err := <-results:
					if err != nil {
						t.Fatalf("a roots/list issued as its POST ended got no answer: %v", err)
					}
				case <-time.After(waitTimeout):
					t.Fatal("a roots/list issued as its POST ended never returned")
				}
			}
		}
		select {
		case err := <-getErr:
			t.Fatalf("answering a roots/list of the GET stream: %v", err)
		default:
		}
	})
}

// postAnswer answers a server request from a goroutine: it fails nothing,
// and returns a status other than 202 as an error.
func (s *service) postAnswer(sid string, id json.RawMessage, result any) error {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "result": result})
	req, err := http.NewRequest(http.MethodPost, s.url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(server.HeaderKeySessionID, sid)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return nil
}

// serverRequestKind is a server request a tool handler issues and waits on.
type serverRequestKind struct {
	name   string
	method mcp.MCPMethod
	ask    func(ctx context.Context, ms *server.MCPServer) (string, error)
	answer func(tag string) any
	want   func(tag string) string
}

var serverRequestKinds = []serverRequestKind{
	{
		name: "roots", method: mcp.MethodListRoots,
		ask: func(ctx context.Context, ms *server.MCPServer) (string, error) {
			res, err := ms.RequestRoots(ctx, mcp.ListRootsRequest{})
			if err != nil {
				return "", err
			}
			if len(res.Roots) != 1 {
				return "", fmt.Errorf("expected one root, got %d", len(res.Roots))
			}
			return res.Roots[0].URI, nil
		},
		answer: func(tag string) any {
			return map[string]any{"roots": []map[string]any{{"uri": "file:///" + tag, "name": tag}}}
		},
		want: func(tag string) string { return "file:///" + tag },
	},
	{
		name: "sampling", method: mcp.MethodSamplingCreateMessage,
		ask: func(ctx context.Context, ms *server.MCPServer) (string, error) {
			//lint:ignore SA1019 sampling is deprecated from the sessionless revision on; sessions still use it.
			res, err := ms.RequestSampling(ctx, mcp.CreateMessageRequest{CreateMessageParams: mcp.CreateMessageParams{
				Messages: []mcp.SamplingMessage{{Role: mcp.RoleUser, Content: mcp.NewTextContent("hi")}}, MaxTokens: 10,
			}})
			if err != nil {
				return "", err
			}
			return "model=" + res.Model, nil
		},
		answer: func(tag string) any {
			return map[string]any{"role": "assistant", "model": tag, "content": map[string]any{"type": "text", "text": "ok"}}
		},
		want: func(tag string) string { return "model=" + tag },
	},
	{
		name: "elicitation", method: mcp.MethodElicitationCreate,
		ask: func(ctx context.Context, ms *server.MCPServer) (string, error) {
			res, err := ms.RequestElicitation(ctx, mcp.ElicitationRequest{Params: mcp.ElicitationParams{
				Message: "Which?", RequestedSchema: map[string]any{"type": "object"},
			}})
			if err != nil {
				return "", err
			}
			content, _ := res.Content.(map[string]any)
			return fmt.Sprintf("choice=%v", content["choice"]), nil
		},
		answer: func(tag string) any {
			return map[string]any{"action": "accept", "content": map[string]any{"choice": tag}}
		},
		want: func(tag string) string { return "choice=" + tag },
	},
}

// overlap is the original's overlapFixture, in its "stateful" session mode
// (the other two modes are session id managers the adapter replaces).
type overlap struct {
	s                   *service
	kind                serverRequestKind
	sessionID, otherSID string
	entered, release    chan struct{}
}

func newOverlap(t *testing.T, w adaptertest.Way, kind serverRequestKind) *overlap {
	t.Helper()
	o := &overlap{kind: kind, entered: make(chan struct{}, 2), release: make(chan struct{})}
	o.s = serve(t, w, fixture{
		build: func(t *testing.T, r rig) *server.MCPServer {
			ms := server.NewMCPServer("test-server", "1.0.0", r.options(nil, server.WithRoots())...)
			ms.EnableSampling()
			ms.AddTool(mcp.NewTool("ask"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				o.entered <- struct{}{}
				select {
				case <-o.release:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				text, err := kind.ask(ctx, ms)
				if err != nil {
					return nil, err
				}
				return mcp.NewToolResultText(text), nil
			})
			return ms
		},
		http: []server.StreamableHTTPOption{server.WithStateful(true)},
	})
	o.sessionID = o.s.elicitationSession(t)
	o.otherSID = o.s.elicitationSession(t)
	return o
}

// askCall is a tools/call of ask and its stream.
type askCall struct {
	id     int
	resp   *http.Response
	stream *stream
}

// post sends tools/call ask as request id and returns once its stream
// started; it does not use t, to run from goroutines.
func (o *overlap) post(id int) (*askCall, error) {
	b, _ := json.Marshal(toolCall(id, "ask", nil))
	req, _ := http.NewRequest(http.MethodPost, o.s.url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(server.HeaderKeySessionID, o.sessionID)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("tools/call %d: %w", id, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return nil, fmt.Errorf("tools/call %d: status %d, Content-Type %q, body %q", id, resp.StatusCode, ct, raw)
	}
	return &askCall{id: id, resp: resp, stream: newStream(resp)}, nil
}

// serverRequest reads the request the call's handler sent on its stream.
func (o *overlap) serverRequest(t *testing.T, c *askCall) json.RawMessage {
	t.Helper()
	m := c.stream.message(t)
	if m.Method != string(o.kind.method) {
		t.Fatalf("call %d: first event %q, want %s", c.id, m.Method, o.kind.method)
	}
	return m.ID
}

// answerOn posts the kind's answer tagged tag to request id on sid and
// returns the status.
func (o *overlap) answerOn(t *testing.T, sid string, id json.RawMessage, tag string) int {
	t.Helper()
	resp := o.s.post(t, sid, map[string]any{"jsonrpc": "2.0", "id": id, "result": o.kind.answer(tag)}, "Accept", "application/json, text/event-stream")
	_ = body(t, resp)
	return resp.StatusCode
}

// finish reads the call's result, which must carry tag's answer, and its
// stream to the end.
func (o *overlap) finish(t *testing.T, c *askCall, tag string) {
	t.Helper()
	m := c.stream.message(t)
	if int(m.idNumber()) != c.id {
		t.Fatalf("final answer of %s, want %d", m.ID, c.id)
	}
	var r struct {
		IsError bool `json:"isError"`
	}
	_ = json.Unmarshal(m.Result, &r)
	if r.IsError || m.Error != nil {
		t.Fatalf("call %d: tool error %s %+v", c.id, m.Result, m.Error)
	}
	if got := m.text(t); got != o.kind.want(tag) {
		t.Fatalf("call %d: %q, want %q", c.id, got, o.kind.want(tag))
	}
	if _, err := io.Copy(io.Discard, c.stream.br); err != nil {
		t.Fatalf("call %d: reading its stream to the end: %v", c.id, err)
	}
	c.resp.Body.Close()
}

// forEachKind runs fn for every server request kind.
func forEachKind(t *testing.T, fn func(t *testing.T, o *overlap)) {
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		for _, kind := range serverRequestKinds {
			t.Run(kind.name+"/stateful", func(t *testing.T) { fn(t, newOverlap(t, w, kind)) })
		}
	})
}

func TestConformanceOverlappingPOSTsRouteServerRequestResponses(t *testing.T) {
	t.Parallel()
	forEachKind(t, func(t *testing.T, o *overlap) {
		type posted struct {
			call *askCall
			err  error
		}
		results := map[int]chan posted{1: make(chan posted, 1), 2: make(chan posted, 1)}
		for id, result := range results {
			go func() {
				c, err := o.post(id)
				result <- posted{c, err}
			}()
		}
		for range results {
			select {
			case <-o.entered:
			case <-time.After(10 * time.Second):
				t.Fatal("the tool handlers did not both start")
			}
		}
		close(o.release)
		calls := map[int]*askCall{}
		for id, result := range results {
			p := <-result
			if p.err != nil {
				t.Fatal(p.err)
			}
			defer p.call.resp.Body.Close()
			calls[id] = p.call
		}
		first, second := calls[1], calls[2]
		firstRequest, secondRequest := o.serverRequest(t, first), o.serverRequest(t, second)
		if got := o.answerOn(t, o.sessionID, secondRequest, "second"); got != http.StatusAccepted {
			t.Fatalf("answer to the second POST's request: %d, want 202", got)
		}
		if got := o.answerOn(t, o.sessionID, firstRequest, "first"); got != http.StatusAccepted {
			t.Fatalf("answer to the first POST's request: %d, want 202", got)
		}
		o.finish(t, first, "first")
		o.finish(t, second, "second")
	})
}

func TestConformancePOSTFinishingBeforePeerKeepsPeerRoutable(t *testing.T) {
	t.Parallel()
	forEachKind(t, func(t *testing.T, o *overlap) {
		close(o.release)
		first, err := o.post(1)
		if err != nil {
			t.Fatal(err)
		}
		defer first.resp.Body.Close()
		firstRequest := o.serverRequest(t, first)
		peer, err := o.post(2)
		if err != nil {
			t.Fatal(err)
		}
		defer peer.resp.Body.Close()
		peerRequest := o.serverRequest(t, peer)

		if got := o.answerOn(t, o.sessionID, firstRequest, "first"); got != http.StatusAccepted {
			t.Fatalf("answer to the first POST's request: %d, want 202", got)
		}
		o.finish(t, first, "first")
		if got := o.answerOn(t, o.sessionID, peerRequest, "peer"); got != http.StatusAccepted {
			t.Fatalf("answer to the peer's request after the first finished: %d, want 202", got)
		}
		o.finish(t, peer, "peer")
		for _, settled := range []json.RawMessage{firstRequest, peerRequest} {
			if got := o.answerOn(t, o.sessionID, settled, "late"); got == http.StatusAccepted {
				t.Errorf("a second answer to settled request %s: 202, want a refusal", settled)
			}
		}
	})
}

func TestConformanceServerRequestResponseConfinedToItsSession(t *testing.T) {
	t.Parallel()
	forEachKind(t, func(t *testing.T, o *overlap) {
		close(o.release)
		c, err := o.post(1)
		if err != nil {
			t.Fatal(err)
		}
		defer c.resp.Body.Close()
		request := o.serverRequest(t, c)
		if got := o.answerOn(t, o.otherSID, request, "intruder"); got == http.StatusAccepted {
			t.Fatalf("an answer on another session: 202, want a refusal")
		}
		if got := o.answerOn(t, o.sessionID, request, "owner"); got != http.StatusAccepted {
			t.Fatalf("the answer on its own session: %d, want 202", got)
		}
		o.finish(t, c, "owner")
	})
}

// The original hands handleSamplingResponse a client's error for a pending
// request by hand; over HTTP, a tool sends each request, the client answers
// with that error, and the tool reports the error it got.
func TestConformanceClientErrorLabeledByMethod(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		for _, tc := range []struct {
			name    string
			kind    serverRequestKind
			wantErr string
		}{
			{"sampling", serverRequestKinds[1], "sampling/createMessage error -32601: Method not found"},
			{"elicitation", serverRequestKinds[2], "elicitation/create error -32601: Method not found"},
			{"roots", serverRequestKinds[0], "roots/list error -32601: Method not found"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := serve(t, w, fixture{build: func(t *testing.T, r rig) *server.MCPServer {
					ms := server.NewMCPServer("test-server", "1.0.0", r.options(nil, server.WithRoots())...)
					ms.EnableSampling()
					ms.AddTool(mcp.NewTool("ask"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
						if _, err := tc.kind.ask(ctx, ms); err != nil {
							return mcp.NewToolResultError(err.Error()), nil
						}
						return mcp.NewToolResultText("no error"), nil
					})
					return ms
				}})
				sid := s.elicitationSession(t)
				st := s.toolStream(t, sid, "ask")
				m := st.message(t)
				if m.Method != string(tc.kind.method) {
					t.Fatalf("first event %s, want %s", m.Method, tc.kind.method)
				}
				wantStatus(t, s.post(t, sid, map[string]any{"jsonrpc": "2.0", "id": m.ID, "error": map[string]any{"code": -32601, "message": "Method not found"}}), http.StatusAccepted)
				if got := finalText(t, st); got != tc.wantErr {
					t.Errorf("%q, want %q", got, tc.wantErr)
				}
			})
		}
	})
}

// Of TestStreamableHTTP_NotificationNotDroppedWithoutEventStore, the half
// with an event store (the adapter always has one).
func TestConformanceNotificationNotDropped(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		const iterations, method = 30, "test/single"
		s := serve(t, w, fixture{
			build: func(t *testing.T, r rig) *server.MCPServer {
				ms := server.NewMCPServer("test-mcp-server", "1.0", r.options(nil)...)
				ms.AddTool(mcp.Tool{Name: "notifyOnce"}, func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
					if srv := server.ServerFromContext(ctx); srv != nil {
						_ = srv.SendNotificationToClient(ctx, method, map[string]any{"n": 1})
					}
					return mcp.NewToolResultText("ok"), nil
				})
				return ms
			},
			eventStore: true,
		})
		sid := s.initialize(t, nil)
		for i := range iterations {
			b := body(t, s.post(t, sid, toolCall(1, "notifyOnce", nil), "Accept", "application/json, text/event-stream"))
			if got := countNotifications(b, method); got != 1 {
				t.Errorf("iteration %d: %d %s notifications, want exactly one", i, got, method)
			}
		}
	})
}

func TestConformanceRequestNotificationsStayOnThePOSTStream(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		const iterations, perCall, method = 30, 5, "test/progress"
		s := serve(t, w, fixture{build: func(t *testing.T, r rig) *server.MCPServer {
			ms := server.NewMCPServer("test-mcp-server", "1.0", r.options(nil)...)
			ms.AddTool(mcp.Tool{Name: "notifyMany"}, func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				srv := server.ServerFromContext(ctx)
				for i := range perCall {
					if err := srv.SendNotificationToClient(ctx, method, map[string]any{"n": i}); err != nil {
						return nil, err
					}
				}
				return mcp.NewToolResultText("ok"), nil
			})
			return ms
		}})
		sid := s.initialize(t, nil)
		ctx, cancel := context.WithCancel(t.Context())
		get := fetch(t, s.request(t, ctx, http.MethodGet, sid, nil, "Accept", "text/event-stream"))
		if get.StatusCode != http.StatusOK {
			t.Fatalf("GET: status %d, want 200", get.StatusCode)
		}
		var getBody bytes.Buffer
		getRead := make(chan struct{})
		go func() {
			defer close(getRead)
			_, _ = io.Copy(&getBody, get.Body)
		}()
		for i := range iterations {
			b := body(t, s.post(t, sid, toolCall(1, "notifyMany", nil), "Accept", "application/json, text/event-stream"))
			if got := countNotifications(b, method); got != perCall {
				t.Errorf("iteration %d: %d notifications on the POST's stream, want %d", i, got, perCall)
			}
		}
		cancel()
		<-getRead
		if got := countNotifications(getBody.String(), method); got != 0 {
			t.Errorf("%d of the calls' notifications on the GET stream, want none", got)
		}
	})
}

func TestConformanceNotificationHandlerNotificationsReachThePOSTStream(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		const iterations, perCall, trigger, method = 30, 5, "notifications/test", "test/progress"
		s := serve(t, w, fixture{build: func(t *testing.T, r rig) *server.MCPServer {
			ms := server.NewMCPServer("test-mcp-server", "1.0", r.options(nil)...)
			ms.AddNotificationHandler(trigger, func(ctx context.Context, _ mcp.JSONRPCNotification) {
				srv := server.ServerFromContext(ctx)
				for i := range perCall {
					_ = srv.SendNotificationToClient(ctx, method, map[string]any{"n": i})
				}
			})
			return ms
		}})
		sid := s.initialize(t, nil)
		for i := range iterations {
			b := body(t, s.post(t, sid, map[string]any{"jsonrpc": "2.0", "method": trigger}, "Accept", "application/json, text/event-stream"))
			if got := countNotifications(b, method); got != perCall {
				t.Errorf("iteration %d: %d notifications on the POST's stream, want %d", i, got, perCall)
			}
		}
	})
}

// Of TestStreamableHTTP_PostEnvelopeAndEra, the requests whose answer does
// not hang on the server being stateless (a session-based request with no
// session id is refused by a server that keeps sessions).
func TestConformancePostEnvelopeAndEra(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{build: func(t *testing.T, r rig) *server.MCPServer {
			ms := server.NewMCPServer("bench", "1.0.0", r.options(nil, server.WithToolCapabilities(false))...)
			ms.AddTool(mcp.NewTool("echo", mcp.WithString("text")), textTool("ok"))
			return ms
		}})
		for _, tc := range []struct {
			name, body, version string
			status              int
			want                string
		}{
			{"modern version in _meta is detected", `{"jsonrpc":"2.0","id":4,"method":"ping","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`, "", http.StatusBadRequest, `"code":-32020`},
			{"modern version in header is detected", `{"jsonrpc":"2.0","id":5,"method":"ping"}`, "2026-07-28", http.StatusBadRequest, `"code":-32602`},
			{"invalid json", `{"jsonrpc":"2.0","id":6,`, "", http.StatusBadRequest, `"code":-32700`},
			{"client response", `{"jsonrpc":"2.0","id":7,"result":{}}`, "", http.StatusAccepted, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp := s.post(t, "", tc.body, "Accept", "application/json, text/event-stream", "MCP-Protocol-Version", tc.version)
				wantContains(t, wantStatus(t, resp, tc.status), tc.want)
			})
		}
	})
}

func TestConformanceRequestBodyIsBounded(t *testing.T) {
	t.Parallel()
	initialize := func(padding int) []byte {
		return []byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","clientInfo":{"name":"c","version":"1"},"capabilities":{},"_pad":"` + strings.Repeat("x", padding) + `"}}`)
	}
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		for name, tc := range map[string]struct {
			opts    []server.StreamableHTTPOption
			body    []byte
			chunked bool
			status  int
		}{
			"under the bound":           {opts: []server.StreamableHTTPOption{server.WithMaxRequestBodyBytes(1024)}, body: initialize(100), status: http.StatusOK},
			"over the bound":            {opts: []server.StreamableHTTPOption{server.WithMaxRequestBodyBytes(1024)}, body: initialize(2048), status: http.StatusRequestEntityTooLarge},
			"chunked under the bound":   {opts: []server.StreamableHTTPOption{server.WithMaxRequestBodyBytes(1024)}, body: initialize(100), chunked: true, status: http.StatusOK},
			"chunked over the bound":    {opts: []server.StreamableHTTPOption{server.WithMaxRequestBodyBytes(1024)}, body: initialize(2048), chunked: true, status: http.StatusRequestEntityTooLarge},
			"over the default bound":    {body: initialize(server.DefaultMaxRequestBodyBytes), status: http.StatusRequestEntityTooLarge},
			"no bound when disabled":    {opts: []server.StreamableHTTPOption{server.WithMaxRequestBodyBytes(0)}, body: initialize(server.DefaultMaxRequestBodyBytes), status: http.StatusOK},
			"unreadable over the bound": {opts: []server.StreamableHTTPOption{server.WithMaxRequestBodyBytes(1024)}, body: bytes.Repeat([]byte("x"), 2048), status: http.StatusRequestEntityTooLarge},
		} {
			t.Run(name, func(t *testing.T) {
				s := serve(t, w, fixture{build: func(t *testing.T, r rig) *server.MCPServer {
					return server.NewMCPServer("t", "1", r.options(nil)...)
				}, http: tc.opts})
				var reader io.Reader = bytes.NewReader(tc.body)
				if tc.chunked {
					reader = io.NopCloser(reader) // a reader NewRequest cannot size goes chunked
				}
				req, err := http.NewRequest(http.MethodPost, s.url+"/mcp", reader)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				resp := fetch(t, req)
				b := body(t, resp)
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
				}
				if tc.status == http.StatusRequestEntityTooLarge {
					if m := decode(t, []byte(b)); m.Error == nil || m.Error.Code != mcp.INVALID_REQUEST {
						t.Errorf("answer %s, want an invalid request error", b)
					}
				}
			})
		}
	})
}

// The original hands the handler a request whose Content-Length lies,
// with a recorder; so does the port, to each replica's whole handler.
func TestConformanceRequestBodyBoundDoesNotTrustContentLength(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		s := serve(t, w, fixture{build: func(t *testing.T, r rig) *server.MCPServer {
			return server.NewMCPServer("t", "1", r.options(nil)...)
		}, http: []server.StreamableHTTPOption{server.WithMaxRequestBodyBytes(1024)}})
		for i, h := range s.handlers {
			req := httptest.NewRequest(http.MethodPost, "/mcp", io.NopCloser(bytes.NewReader(bytes.Repeat([]byte("x"), 2048))))
			req.ContentLength = 10
			req.Header.Set("Content-Type", "application/json")
			rr := httptest.NewRecorder()
			h.ServeHTTP(rr, req)
			if rr.Code != http.StatusRequestEntityTooLarge {
				t.Errorf("replica %d: status %d, want 413", i, rr.Code)
			}
		}
	})
}
