package mcpgo_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession/mcpgo"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// Two replicas share one store; a client initializes on the first and
// counts on both.
func Example() {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, "sqlite::memory:", sqlstore.WithAutoMigrate())
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	// Each replica: its own MCPServer, StreamableHTTPServer and Sessions.
	newReplica := func() (url string, stop func()) {
		sessions, err := mcpgo.New(store)
		if err != nil {
			log.Fatal(err)
		}
		mcpServer := server.NewMCPServer("counter", "1.0.0", sessions.ServerOptions()...)
		mcpServer.AddTool(mcp.NewTool("counter"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			var n float64
			err := mcpgo.ModifyState(ctx, func(state map[string]any) (map[string]any, error) {
				n, _ = state["counter"].(float64)
				n++
				state["counter"] = n
				return state, nil
			})
			if err != nil {
				return nil, err
			}
			return mcp.NewToolResultText(fmt.Sprint(n)), nil
		})
		streamable := server.NewStreamableHTTPServer(mcpServer, sessions.HTTPOptions()...)
		srv := httptest.NewServer(sessions.Handler(streamable))
		return srv.URL + "/mcp", func() {
			_ = streamable.Shutdown(ctx) // ends its GET streams and its sweeper; the sessions stay in the store
			srv.Close()
		}
	}
	a, stopA := newReplica()
	defer stopA()
	b, stopB := newReplica()
	defer stopB()

	// mcp-go's client speaks the sessionless revision unless pinned.
	tr, err := transport.NewStreamableHTTP(a)
	if err != nil {
		log.Fatal(err)
	}
	c := client.NewClient(tr, client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
	defer c.Close() // sends DELETE: the session ends for every replica
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{
		ClientInfo: mcp.Implementation{Name: "example", Version: "1.0.0"},
	}}); err != nil {
		log.Fatal(err)
	}
	onB, err := client.NewStreamableHttpClient(b, transport.WithSession(c.GetSessionId()))
	if err != nil {
		log.Fatal(err)
	}
	var counts []string
	for _, cl := range []*client.Client{c, onB, c, onB} {
		res, err := cl.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "counter"}})
		if err != nil {
			log.Fatal(err)
		}
		counts = append(counts, res.Content[0].(mcp.TextContent).Text)
	}
	fmt.Println(strings.Join(counts, " "))
	// Output: 1 2 3 4
}
