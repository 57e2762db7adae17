//lint:file-ignore SA1019 the tests exercise the session-based revisions, whose roots the sessionless one deprecates.

package gosdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// serveWith serves a replica with streams across replicas over dsn, its
// server built by build, until t ends.
func serveWith(t *testing.T, dsn string, build func(*mcp.Server)) string {
	t.Helper()
	st := adaptertest.NewStreams(t, dsn)
	server := mcp.NewServer(&mcp.Implementation{Name: "fidelity", Version: "1"}, nil)
	build(server)
	s, err := New(st.Store, server, WithStreams(st.Bus, st.Events))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		_ = s.Shutdown(context.Background())
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv.URL
}

// A client's notifications/cancelled, POSTed to the replica that is not
// running the request, cancels the handler's context on the one that is,
// within a second, as go-sdk cancels it on its one server.
func TestCancelledOnAnyReplica(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		started := make(chan struct{}, 1)
		done := make(chan struct{}, 1)
		block := func(s *mcp.Server) {
			s.AddTool(&mcp.Tool{Name: "block", InputSchema: objectSchema}, func(ctx context.Context, _ *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				started <- struct{}{}
				select {
				case <-ctx.Done():
					done <- struct{}{}
				case <-time.After(adaptertest.Timeout):
				}
				return &mcp.CallToolResult{}, nil
			})
		}
		a, b := serveWith(t, dsn, block), serveWith(t, dsn, block)
		sid := adaptertest.Initialize(t, a, "c", adaptertest.LegacyVersion)
		h := http.Header{hdrSessionID: {sid}, hdrProtocolVersion: {adaptertest.LegacyVersion}}
		// go-sdk answers no request it cancelled: the POST hangs until the
		// test ends.
		sendRawAsync(http.MethodPost, a, rpcRequest(7, "tools/call", &mcp.CallToolParams{Name: "block", Arguments: map[string]any{}}), h)
		select {
		case <-started:
		case <-time.After(adaptertest.Timeout):
			t.Fatal("the call did not start")
		}
		cancel, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": "notifications/cancelled",
			"params": map[string]any{"requestId": 7, "reason": "the user gave up"}})
		if r := sendRaw(t, http.MethodPost, b, cancel, h); r.status != http.StatusAccepted {
			t.Fatalf("notifications/cancelled on the other replica: %d %s", r.status, r.body)
		}
		sent := time.Now()
		select {
		case <-done:
			t.Logf("cancelled %v after the notification reached the other replica", time.Since(sent))
		case <-time.After(time.Second):
			t.Fatal("the handler's context was still alive a second after the cancellation")
		}
	})
}

// A client that sends, on every POST, the last SSE event id it saw (as
// trpc-mcp-go does at its default revision, 2025-03-26) is served as by
// go-sdk's handler, which writes no event ids without an event store: the
// id means nothing on a POST. The adapter, whose streams carry ids, used
// to answer 400 "can't send Last-Event-ID for POST request".
func TestLastEventIDOnPOST(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		tg := serve(t, w, conf{server: func() *mcp.Server {
			server := mcp.NewServer(testImpl, nil)
			mcp.AddTool(server, &mcp.Tool{Name: "noop"}, noop)
			return server
		}})
		var lastID string
		seen := func(r rawReply) {
			for ev, err := range readEvents(bytes.NewReader(r.body)) {
				if err == nil && ev.id != "" {
					lastID = ev.id
				}
			}
		}
		post := func(msg json.RawMessage, sid string) rawReply {
			h := http.Header{}
			if sid != "" {
				h.Set(hdrSessionID, sid)
			}
			if lastID != "" {
				h.Set("Last-Event-ID", lastID)
			}
			r := sendRaw(t, http.MethodPost, tg.URL, msg, h)
			seen(r)
			return r
		}
		ini := post(json.RawMessage(initBody(v20250326)), "")
		sid := ini.header.Get(hdrSessionID)
		if ini.status != http.StatusOK || sid == "" {
			t.Fatalf("initialize: %d %s", ini.status, ini.body)
		}
		t.Logf("event id after initialize: %q", lastID)
		if r := post(rpcRequest(0, "notifications/initialized", &mcp.InitializedParams{}), sid); r.status != http.StatusAccepted {
			t.Fatalf("notifications/initialized with Last-Event-ID %q: %d %s", lastID, r.status, r.body)
		}
		for i := range 2 {
			if r := post(rpcRequest(int64(2+i), "tools/call", &mcp.CallToolParams{Name: "noop", Arguments: map[string]any{}}), sid); r.status != http.StatusOK {
				t.Fatalf("tools/call with Last-Event-ID %q: %d %s", lastID, r.status, r.body)
			}
		}
	})
}

// Two replicas asking the client at once give their requests distinct
// ids, the session's 1 and 2, as go-sdk's one session would; each answer,
// POSTed to the other replica, reaches the go-sdk session that asked.
func TestRequestIDsAcrossReplicas(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		roots := func(s *mcp.Server) {
			s.AddTool(&mcp.Tool{Name: "roots", InputSchema: objectSchema}, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				res, err := req.Session.ListRoots(ctx, nil)
				if err != nil {
					return nil, err
				}
				if len(res.Roots) != 1 {
					return nil, fmt.Errorf("%d roots", len(res.Roots))
				}
				return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: res.Roots[0].URI}}}, nil
			})
		}
		replicas := []string{serveWith(t, dsn, roots), serveWith(t, dsn, roots)}
		sid := adaptertest.InitializeSampling(t, replicas[0])
		calls := make([]*adaptertest.SSE, 2)
		ids := make([]json.RawMessage, 2)
		for i, url := range replicas {
			calls[i] = adaptertest.PostSSE(t, url, sid, nil, map[string]any{"jsonrpc": "2.0", "id": 10 + i, "method": "tools/call",
				"params": map[string]any{"name": "roots", "arguments": map[string]any{}}})
			req := calls[i].NextMessage(t).Message(t)
			if req.Method != "roots/list" {
				t.Fatalf("replica %d asked %s", i, req.Method)
			}
			ids[i] = req.ID
		}
		if got := fmt.Sprintf("%s %s", ids[0], ids[1]); got != "1 2" {
			t.Errorf("request ids %s; want 1 2, the session's numbers", got)
		}
		for i := range replicas {
			other := replicas[1-i]
			uri := fmt.Sprintf("file:///%d", i)
			answer := map[string]any{"jsonrpc": "2.0", "id": ids[i], "result": map[string]any{"roots": []any{map[string]any{"uri": uri}}}}
			if r := adaptertest.Post(t, other, sid, answer); r.Status != http.StatusAccepted {
				t.Fatalf("the answer on the other replica: %d %s", r.Status, r.Body)
			}
			for {
				m := calls[i].NextMessage(t).Message(t)
				if m.Result == nil && m.Error == nil {
					continue
				}
				if !strings.Contains(string(m.Result), uri) {
					t.Errorf("replica %d's call: %s %s; want %s", i, m.Result, m.Error, uri)
				}
				break
			}
		}
	})
}

// The adapter's error answers are go-sdk's, word for word (go-sdk's
// handler with an event store, which the adapter has with streams).
func TestErrorBodies(t *testing.T) {
	t.Parallel()
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		tg := serve(t, w, conf{replay: true})
		sid := initializeRaw(t, tg.URL, initBody(v20251125))
		unknown := http.Header{hdrSessionID: {"no-such-session"}}
		live := func(last string) http.Header {
			return http.Header{hdrSessionID: {sid}, "Accept": {"text/event-stream"}, "Last-Event-ID": {last}}
		}
		for _, c := range []struct {
			name, method string
			body         []byte
			header       http.Header
			status       int
			want         string
		}{
			{"DELETE without a session", http.MethodDelete, nil, nil, http.StatusBadRequest, "Bad Request: DELETE requires an Mcp-Session-Id header"},
			{"POST of an unknown session", http.MethodPost, rpcRequest(2, "tools/list", nil), unknown, http.StatusNotFound, "session not found"},
			{"GET of an unknown session", http.MethodGet, nil, unknown, http.StatusNotFound, "session not found"},
			{"DELETE of an unknown session", http.MethodDelete, nil, unknown, http.StatusNotFound, "session not found"},
			{"GET with a malformed Last-Event-ID", http.MethodGet, nil, live("nope"), http.StatusBadRequest, `malformed Last-Event-ID "nope"`},
			{"GET with an unknown Last-Event-ID", http.MethodGet, nil, live("ABC_3"), http.StatusBadRequest, "failed to replay events"},
		} {
			r := sendRaw(t, c.method, tg.URL, c.body, c.header)
			if got := strings.TrimSpace(string(r.body)); r.status != c.status || got != c.want {
				t.Errorf("%s: %d %q; want %d %q", c.name, r.status, got, c.status, c.want)
			}
		}
	})
}
