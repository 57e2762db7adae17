package mcpgo

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/mcpsession/mcpsession/internal/testdb"
)

// TestStreams runs the streams across replicas every adapter serves alike
// (adaptertest.RunStreams).
func TestStreams(t *testing.T) {
	t.Parallel()
	adaptertest.RunStreams(t, adaptertest.StreamsAdapter{Serve: serveStreams, DeleteStatus: http.StatusOK, QuietGET: true,
		Asks: []string{"elicitation/create", "roots/list"}}) // mcp-go has no server-to-client ping of a handler's
}

// serveStreams serves a replica with streams across replicas and the
// tools sample and notify.
func serveStreams(t *testing.T, name, dsn string) adaptertest.StreamsReplica {
	t.Helper()
	st := adaptertest.NewStreams(t, dsn)
	sessions, err := New(st.Store, WithStreams(st.Bus, st.Events), WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	ms := server.NewMCPServer("test-"+name, "1.0.0",
		append(sessions.ServerOptions(), server.WithLogging(), server.WithToolCapabilities(true))...)
	ms.AddTool(mcp.NewTool("sample", mcp.WithString("prompt")), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		//lint:ignore SA1019 sampling is deprecated only from the sessionless revision on; sessions still use it.
		res, err := ms.RequestSampling(ctx, mcp.CreateMessageRequest{CreateMessageParams: mcp.CreateMessageParams{
			Messages:  []mcp.SamplingMessage{{Role: mcp.RoleUser, Content: mcp.NewTextContent(req.GetString("prompt", ""))}},
			MaxTokens: 100,
		}})
		if err != nil {
			return mcp.NewToolResultError(err.Error()), nil
		}
		text, _ := res.Content.(mcp.TextContent)
		return mcp.NewToolResultText(text.Text), nil
	})
	ms.AddTool(mcp.NewTool("notify", mcp.WithString("message")), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		id, err := SessionID(ctx)
		if err == nil {
			err = sessions.Notify(ctx, id, "notifications/message", map[string]any{"level": "info", "data": req.GetString("message", "")})
		}
		if err != nil {
			return mcp.NewToolResultError(err.Error()), nil
		}
		return mcp.NewToolResultText("sent"), nil
	})
	ms.AddTool(mcp.NewTool("ask", mcp.WithString("method")), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var text string
		var err error
		switch req.GetString("method", "") {
		case "elicitation/create": // mcp-go's own path: the POST's stream
			var res *mcp.ElicitationResult
			res, err = ms.RequestElicitation(ctx, mcp.ElicitationRequest{Params: mcp.ElicitationParams{
				Message: "ok?", RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{}}}})
			if err == nil {
				text = string(res.Action)
			}
		case "roots/list":
			var res *mcp.ListRootsResult
			res, err = ms.RequestRoots(ctx, mcp.ListRootsRequest{})
			if err == nil && len(res.Roots) > 0 {
				text = res.Roots[0].URI
			}
		}
		if err != nil {
			return mcp.NewToolResultError(err.Error()), nil
		}
		return mcp.NewToolResultText(text), nil
	})
	return adaptertest.StreamsReplica{URL: serveHTTP(t, sessions, ms), Broadcast: sessions.Broadcast}
}

// serveHTTP serves ms behind sessions' Handler until t ends, stopping as
// a replica does (Sessions.Shutdown first), and returns the MCP endpoint.
func serveHTTP(t *testing.T, sessions *Sessions, ms *server.MCPServer) string {
	t.Helper()
	h := server.NewStreamableHTTPServer(ms, append([]server.StreamableHTTPOption{server.WithStreamableHTTPLogger(quiet)}, sessions.HTTPOptions()...)...)
	srv := httptest.NewServer(sessions.Handler(h))
	t.Cleanup(func() {
		_ = sessions.Shutdown(context.Background())
		srv.CloseClientConnections()
		_ = h.Shutdown(context.Background())
		srv.Close()
	})
	return srv.URL + "/mcp"
}

// WithStreams needs a bus and an event store; without it, Notify and
// Broadcast say so.
func TestStreamsOptions(t *testing.T) {
	t.Parallel()
	st := adaptertest.NewStreams(t, testdb.SQLiteFile(t))
	for _, opts := range [][]Option{{WithStreams(st.Bus, nil)}, {WithStreams(nil, st.Events)}, {WithStreams(nil, nil)}} {
		if _, err := New(st.Store, opts...); !errors.Is(err, mcpsession.ErrInvalidOption) {
			t.Errorf("New with %d options: %v; want mcpsession.ErrInvalidOption", len(opts), err)
		}
	}
	plain, err := New(st.Store)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(st.Store, WithStreams(st.Bus, st.Events))
	if err != nil {
		t.Fatal(err)
	}
	adaptertest.NotifyRefusals(t, plain, s)
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
}
