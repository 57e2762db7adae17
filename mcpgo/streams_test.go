package mcpgo

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
)

// TestStreams runs the streams across replicas every adapter serves alike
// (adaptertest.RunStreams).
func TestStreams(t *testing.T) {
	t.Parallel()
	adaptertest.RunStreams(t, adaptertest.StreamsAdapter{Serve: serveStreams, DeleteStatus: http.StatusOK})
}

// serveStreams serves a replica with streams across replicas and the
// tools sample and notify.
func serveStreams(t *testing.T, name string, st adaptertest.Streams) adaptertest.StreamsReplica {
	t.Helper()
	sessions, err := New(st.Store, WithBus(st.Bus), WithEventStore(st.Events), WithLogger(quiet))
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
	h := server.NewStreamableHTTPServer(ms, append([]server.StreamableHTTPOption{server.WithStreamableHTTPLogger(quiet)}, sessions.HTTPOptions()...)...)
	srv := httptest.NewServer(sessions.Handler(h))
	t.Cleanup(func() {
		_ = sessions.Shutdown(context.Background())
		srv.CloseClientConnections()
		_ = h.Shutdown(context.Background())
		srv.Close()
	})
	return adaptertest.StreamsReplica{URL: srv.URL + "/mcp", Broadcast: sessions.Broadcast}
}
