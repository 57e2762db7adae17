//lint:file-ignore SA1019 the tests exercise the session-based revisions, whose sampling the sessionless one deprecates.

package gosdk

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestStreams runs the streams across replicas every adapter serves alike
// (adaptertest.RunStreams).
func TestStreams(t *testing.T) {
	t.Parallel()
	adaptertest.RunStreams(t, adaptertest.StreamsAdapter{Serve: serveStreams, DeleteStatus: http.StatusNoContent,
		CommentFirst: true, NumberedIDs: true, Asks: []string{"elicitation/create", "roots/list", "ping"}})
}

// serveStreams serves a replica with streams across replicas and the
// tools sample and notify.
func serveStreams(t *testing.T, name, dsn string) adaptertest.StreamsReplica {
	t.Helper()
	st := adaptertest.NewStreams(t, dsn)
	server := mcp.NewServer(&mcp.Implementation{Name: "test-" + name, Version: "1.0.0"}, nil)
	sessions, err := New(st.Store, server, WithStreams(st.Bus, st.Events))
	if err != nil {
		t.Fatal(err)
	}
	type args struct {
		Prompt  string `json:"prompt"`
		Message string `json:"message"`
	}
	read := func(req *mcp.CallToolRequest) args {
		var a args
		_ = json.Unmarshal(req.Params.Arguments, &a)
		return a
	}
	server.AddTool(tool("sample"), func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		res, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{
			Messages:  []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: read(req).Prompt}}},
			MaxTokens: 100,
		})
		if err != nil {
			return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: err.Error()}}}, nil
		}
		sampled, _ := res.Content.(*mcp.TextContent)
		if sampled == nil {
			return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "no text sampled"}}}, nil
		}
		return text(sampled.Text), nil
	})
	server.AddTool(tool("notify"), func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if err := sessions.Notify(ctx, req.Session.ID(), "notifications/message", map[string]any{"level": "info", "data": read(req).Message}); err != nil {
			return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: err.Error()}}}, nil
		}
		return text("sent"), nil
	})
	server.AddTool(tool("ask"), func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var method struct {
			Method string `json:"method"`
		}
		_ = json.Unmarshal(req.Params.Arguments, &method)
		var out string
		var err error
		switch method.Method {
		case "elicitation/create":
			var res *mcp.ElicitResult
			res, err = req.Session.Elicit(ctx, &mcp.ElicitParams{Message: "ok?",
				RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{}}})
			if err == nil {
				out = res.Action
			}
		case "roots/list":
			var res *mcp.ListRootsResult
			res, err = req.Session.ListRoots(ctx, nil)
			if err == nil && len(res.Roots) > 0 {
				out = res.Roots[0].URI
			}
		case "ping":
			if err = req.Session.Ping(ctx, nil); err == nil {
				out = "pong"
			}
		}
		if err != nil {
			return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: err.Error()}}}, nil
		}
		return text(out), nil
	})
	srv := httptest.NewServer(sessions)
	t.Cleanup(func() {
		_ = sessions.Shutdown(context.Background())
		srv.CloseClientConnections()
		srv.Close()
	})
	return adaptertest.StreamsReplica{URL: srv.URL + "/mcp", Broadcast: sessions.Broadcast}
}

// WithStreams needs a bus and an event store; without it, Notify and
// Broadcast say so.
func TestStreamsOptions(t *testing.T) {
	t.Parallel()
	st := adaptertest.NewStreams(t, testdb.SQLiteFile(t))
	for _, opts := range [][]Option{{WithStreams(st.Bus, nil)}, {WithStreams(nil, st.Events)}, {WithStreams(nil, nil)}} {
		if _, err := New(st.Store, mcp.NewServer(&mcp.Implementation{Name: "x", Version: "1"}, nil), opts...); !errors.Is(err, mcpsession.ErrInvalidOption) {
			t.Errorf("New with %d options: %v; want mcpsession.ErrInvalidOption", len(opts), err)
		}
	}
	plain, err := New(st.Store, mcp.NewServer(&mcp.Implementation{Name: "x", Version: "1"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(st.Store, mcp.NewServer(&mcp.Implementation{Name: "x", Version: "1"}, nil), WithStreams(st.Bus, st.Events))
	if err != nil {
		t.Fatal(err)
	}
	adaptertest.NotifyRefusals(t, plain, s)
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// With streams, initialize on a replica whose store is down is still 503
// with no session id: go-sdk's priming event (2025-11-25) is held back with
// the status until the session is stored or not.
func TestStreamsInitializeOutage(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		st := adaptertest.NewStreams(t, dsn)
		server := mcp.NewServer(&mcp.Implementation{Name: "down", Version: "1"}, nil)
		sessions, err := New(st.Store, server, WithStreams(st.Bus, st.Events))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(sessions)
		t.Cleanup(func() {
			_ = sessions.Shutdown(context.Background())
			srv.Close()
		})
		url := srv.URL + "/mcp"
		if sid := adaptertest.Initialize(t, url, "c", adaptertest.LegacyVersion); sid == "" {
			t.Fatal("no session while the store is up")
		}
		if err := st.Store.Close(); err != nil {
			t.Fatal(err)
		}
		r := adaptertest.Post(t, url, "", map[string]any{
			"jsonrpc": "2.0", "id": 1, "method": "initialize",
			"params": map[string]any{"protocolVersion": adaptertest.LegacyVersion, "clientInfo": map[string]any{"name": "x", "version": "1"}, "capabilities": map[string]any{}},
		})
		if r.Status != http.StatusServiceUnavailable || r.Header.Get(adaptertest.HeaderSessionID) != "" {
			t.Errorf("initialize with the store down: %d, session %q, %s; want 503 and none", r.Status, r.Header.Get(adaptertest.HeaderSessionID), r.Body)
		}
	})
}
