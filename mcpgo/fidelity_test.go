package mcpgo

// Two replicas behave as mcp-go's one server where issue 20 found they did
// not: cancellation, answers, redelivery, notifications to a session. The
// tests use what the adapter offered before (adaptertest's raw HTTP, one
// replica each over a database), so that they run against it too.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/mcpsession/mcpsession/internal/testdb"
)

// fidelityReplica is one replica with streams across replicas and the
// tools of these tests.
type fidelityReplica struct {
	url      string
	server   *server.MCPServer
	sessions *Sessions
}

// fidelityTools are what the tools of both replicas report to the test.
type fidelityTools struct {
	started   chan string   // block: the replica it runs on
	cancelled chan struct{} // block: its context ended
	release   chan struct{} // later: issue roots/list now
	roots     chan error    // later: roots/list's outcome
}

func newFidelityTools() *fidelityTools {
	return &fidelityTools{started: make(chan string, 4), cancelled: make(chan struct{}, 4), release: make(chan struct{}), roots: make(chan error, 4)}
}

func serveFidelity(t *testing.T, name, dsn string, tools *fidelityTools) fidelityReplica {
	t.Helper()
	st := adaptertest.NewStreams(t, dsn)
	sessions, err := New(st.Store, WithStreams(st.Bus, st.Events), WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	ms := server.NewMCPServer("fidelity-"+name, "1.0.0", append(sessions.ServerOptions(), server.WithRoots())...)
	ms.AddTool(mcp.NewTool("block"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		tools.started <- name
		<-ctx.Done()
		tools.cancelled <- struct{}{}
		return mcp.NewToolResultText("cancelled"), nil
	})
	ms.AddTool(mcp.NewTool("notify_specific", mcp.WithString("message")), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		cs := server.ClientSessionFromContext(ctx)
		if err := server.ServerFromContext(ctx).SendNotificationToSpecificClient(cs.SessionID(), "notifications/message",
			map[string]any{"level": "info", "data": req.GetString("message", "")}); err != nil {
			return mcp.NewToolResultError(err.Error()), nil
		}
		return mcp.NewToolResultText("sent"), nil
	})
	ms.AddTool(mcp.NewTool("later"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		go func() {
			<-tools.release
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
			defer cancel()
			_, err := ms.RequestRoots(rctx, mcp.ListRootsRequest{})
			tools.roots <- err
		}()
		return mcp.NewToolResultText("later"), nil
	})
	h := server.NewStreamableHTTPServer(ms, append([]server.StreamableHTTPOption{server.WithStreamableHTTPLogger(quiet)}, sessions.HTTPOptions()...)...)
	srv := httptest.NewServer(sessions.Handler(h))
	t.Cleanup(func() {
		_ = sessions.Shutdown(context.Background())
		srv.CloseClientConnections()
		_ = h.Shutdown(context.Background())
		srv.Close()
	})
	return fidelityReplica{url: srv.URL + "/mcp", server: ms, sessions: sessions}
}

// cancelWithin fails t unless a block call's handler sees its context end
// within a second of the cancellation's answer.
func cancelWithin(t *testing.T, tools *fidelityTools, answered time.Time) {
	t.Helper()
	select {
	case <-tools.cancelled:
		t.Logf("the handler's context ended %v after the cancellation was answered", time.Since(answered).Round(time.Millisecond))
	case <-time.After(time.Second):
		t.Fatal("the handler's context did not end within 1s of notifications/cancelled on the other replica")
	}
}

// notifications/cancelled POSTed to the replica that does not run the call
// cancels the handler's context on the one that does (issue 20, item 1).
func TestCancelledOnTheOtherReplica(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		tools := newFidelityTools()
		a, b := serveFidelity(t, "a", dsn, tools), serveFidelity(t, "b", dsn, tools)
		sid := adaptertest.Initialize(t, a.url, "c", adaptertest.LegacyVersion)
		call := adaptertest.PostSSE(t, a.url, sid, nil, map[string]any{"jsonrpc": "2.0", "id": 41, "method": "tools/call",
			"params": map[string]any{"name": "block", "arguments": map[string]any{}}})
		select {
		case <-tools.started:
		case <-time.After(adaptertest.Timeout):
			t.Fatal("the tool did not start")
		}
		r := adaptertest.Post(t, b.url, sid, map[string]any{"jsonrpc": "2.0", "method": "notifications/cancelled",
			"params": map[string]any{"requestId": 41, "reason": "the user changed their mind"}})
		if r.Status != http.StatusAccepted {
			t.Fatalf("notifications/cancelled on b: %d %s", r.Status, r.Body)
		}
		cancelWithin(t, tools, time.Now())
		_ = call
	})
}

// The same for a call of the sessionless revision, which mcp-go cancels by
// its request id alone.
func TestCancelledOnTheOtherReplicaSessionless(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		tools := newFidelityTools()
		a, b := serveFidelity(t, "a", dsn, tools), serveFidelity(t, "b", dsn, tools)
		meta := map[string]any{
			"io.modelcontextprotocol/protocolVersion":    adaptertest.ModernVersion,
			"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "modern", "version": "1.0"},
			"io.modelcontextprotocol/clientCapabilities": map[string]any{},
		}
		header := func(method, name string) http.Header {
			h := http.Header{adaptertest.HeaderProtocolVersion: {adaptertest.ModernVersion}, "Mcp-Method": {method}}
			if name != "" {
				h.Set("Mcp-Name", name)
			}
			return h
		}
		call := adaptertest.PostSSE(t, a.url, "", header("tools/call", "block"), map[string]any{"jsonrpc": "2.0", "id": "call-42", "method": "tools/call",
			"params": map[string]any{"name": "block", "arguments": map[string]any{}, "_meta": meta}})
		select {
		case <-tools.started:
		case <-time.After(adaptertest.Timeout):
			t.Fatal("the tool did not start")
		}
		r := adaptertest.PostWith(t, b.url, "", header("notifications/cancelled", ""), map[string]any{"jsonrpc": "2.0", "method": "notifications/cancelled",
			"params": map[string]any{"requestId": "call-42", "reason": "the user changed their mind", "_meta": meta}})
		if r.Status != http.StatusAccepted {
			t.Fatalf("notifications/cancelled on b: %d %s", r.Status, r.Body)
		}
		cancelWithin(t, tools, time.Now())
		_ = call
	})
}

// A client's answer that no request waits for, POSTed to the replica that
// did not serve initialize, is refused as mcp-go refuses it, 400, not 404,
// which would tell the client its session is gone (issue 20, item 8).
func TestStrayAnswerOnEitherReplica(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		tools := newFidelityTools()
		a, b := serveFidelity(t, "a", dsn, tools), serveFidelity(t, "b", dsn, tools)
		sid := adaptertest.InitializeSampling(t, a.url)
		for name, url := range map[string]string{"b, which did not serve initialize": b.url, "a": a.url} {
			r := adaptertest.Post(t, url, sid, adaptertest.SamplingAnswer(json.RawMessage("42"), "nobody asked"))
			if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "No pending sampling request") {
				t.Errorf("a stray answer on %s: %d %q; want 400 No pending sampling request", name, r.Status, r.Body)
			}
		}
	})
}

// A fresh GET stream (no Last-Event-ID) sends what no stream sent, never
// what one did; Last-Event-ID still replays what its stream missed (issue
// 20, item 2).
func TestFreshGETSendsOnlyWhatNoStreamSent(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		tools := newFidelityTools()
		a, b := serveFidelity(t, "a", dsn, tools), serveFidelity(t, "b", dsn, tools)
		sid := adaptertest.Initialize(t, a.url, "c", adaptertest.LegacyVersion)
		notify := func(msg string) {
			t.Helper()
			if err := a.sessions.Notify(t.Context(), sid, "notifications/message", map[string]any{"level": "info", "data": msg}); err != nil {
				t.Fatal(err)
			}
		}
		onB := adaptertest.GetSSE(t, b.url, sid, "")
		if onB.Status(t) != http.StatusOK {
			t.Fatalf("GET on b: %d", onB.Status(t))
		}
		notify("m1")
		m1 := adaptertest.ExpectNotification(t, onB, "m1")
		onB.Close()

		onA := adaptertest.GetSSE(t, a.url, sid, "")
		if onA.Status(t) != http.StatusOK {
			t.Fatalf("GET on a: %d", onA.Status(t))
		}
		notify("m2")
		adaptertest.ExpectNotification(t, onA, "m2") // not m1 again
		onA.Close()
		// A stream its client closed is served until the replica notices;
		// what it writes meanwhile counts as sent.
		adaptertest.Eventually(t, 10*time.Second, "a's GET stream ended", func() bool {
			return a.sessions.streams.relay.Following(sid) == 0
		})

		notify("m3") // while no stream is open
		again := adaptertest.GetSSE(t, b.url, sid, "")
		if again.Status(t) != http.StatusOK {
			t.Fatalf("GET on b: %d", again.Status(t))
		}
		adaptertest.ExpectNotification(t, again, "m3")
		again.Close()

		resumed := adaptertest.GetSSE(t, a.url, sid, m1.ID)
		if resumed.Status(t) != http.StatusOK {
			t.Fatalf("GET with Last-Event-ID on a: %d", resumed.Status(t))
		}
		adaptertest.ExpectNotification(t, resumed, "m2")
		adaptertest.ExpectNotification(t, resumed, "m3")
	})
}

// The issue's own case: a server-to-client request on the session's GET
// stream (here roots/list of a handler's task that outlives its call),
// answered by the client, is not sent again on a fresh GET stream on the
// replica that asked.
func TestAnsweredRequestNotSentAgain(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		tools := newFidelityTools()
		a, b := serveFidelity(t, "a", dsn, tools), serveFidelity(t, "b", dsn, tools)
		sid := adaptertest.InitializeSampling(t, a.url)
		onB := adaptertest.GetSSE(t, b.url, sid, "")
		if onB.Status(t) != http.StatusOK {
			t.Fatalf("GET on b: %d", onB.Status(t))
		}
		if got := adaptertest.Tool(t, a.url, sid, "later", nil); got != "later" {
			t.Fatalf("later: %q", got)
		}
		close(tools.release)
		ev := onB.NextMessage(t)
		req := ev.Message(t)
		if req.Method != "roots/list" {
			t.Fatalf("on b's GET stream: %s %s; want roots/list", req.Method, ev.Data)
		}
		if r := adaptertest.Post(t, b.url, sid, map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": adaptertest.AskAnswers["roots/list"].Result}); r.Status != http.StatusAccepted {
			t.Fatalf("the answer on b: %d %s", r.Status, r.Body)
		}
		select {
		case err := <-tools.roots:
			if err != nil {
				t.Fatalf("roots/list: %v", err)
			}
		case <-time.After(adaptertest.Timeout):
			t.Fatal("roots/list never returned")
		}
		onB.Close()

		onA := adaptertest.GetSSE(t, a.url, sid, "")
		if onA.Status(t) != http.StatusOK {
			t.Fatalf("GET on a: %d", onA.Status(t))
		}
		if err := a.sessions.Notify(t.Context(), sid, "notifications/message", map[string]any{"level": "info", "data": "after"}); err != nil {
			t.Fatal(err)
		}
		if got := onA.NextMessage(t); !strings.Contains(got.Data, `"after"`) {
			t.Fatalf("a fresh GET on a sent %s first; want the notification sent after it opened, not the answered request again", got.Data)
		}
	})
}

// SendNotificationToSpecificClient from a tool on the replica that does
// not hold the session's GET stream reaches that stream (issue 20, item
// 13).
func TestSendNotificationToSpecificClientReachesTheStream(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		tools := newFidelityTools()
		a, b := serveFidelity(t, "a", dsn, tools), serveFidelity(t, "b", dsn, tools)
		sid := adaptertest.Initialize(t, a.url, "c", adaptertest.LegacyVersion)
		get := adaptertest.GetSSE(t, a.url, sid, "")
		if get.Status(t) != http.StatusOK {
			t.Fatalf("GET on a: %d", get.Status(t))
		}
		// One call: a later one on b reuses the session mcp-go registered
		// there, whose notifications the call's own stream may take too, as
		// on mcp-go's one server.
		if got := adaptertest.Tool(t, b.url, sid, "notify_specific", map[string]any{"message": "to the client"}); got != "sent" {
			t.Fatalf("notify_specific on b: %q", got)
		}
		adaptertest.ExpectNotification(t, get, "to the client")
	})
}
