package mcpgo_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/mcpgo"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// Two replicas share one store; a client initializes on the first and
// counts on both.
func Example() {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, sqlite.Dialect(), "sqlite::memory:", sqlstore.WithAutoMigrate())
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

// countOn is a handle-based tool: without a handle it creates a counter
// and returns its handle; with one it counts on it, under the handle's
// lock, on any replica. An unknown, expired or another principal's handle
// is a tool error, not a protocol error.
func countOn(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	handle := req.GetString("handle", "")
	if handle == "" {
		h, err := mcpgo.CreateHandle(ctx, map[string]any{"counter": 1})
		if err != nil {
			return nil, err
		}
		return mcp.NewToolResultStructured(map[string]any{"count": 1, "handle": h}, "1"), nil
	}
	var n float64
	err := mcpgo.ModifyHandle(ctx, handle, func(state map[string]any) (map[string]any, error) {
		n, _ = state["counter"].(float64)
		n++
		state["counter"] = n
		return state, nil
	})
	switch {
	case errors.Is(err, mcpsession.ErrHandleNotFound):
		return mcp.NewToolResultError("no such counter: start a new one"), nil
	case err != nil:
		return nil, err
	}
	return mcp.NewToolResultStructured(map[string]any{"count": n, "handle": handle}, fmt.Sprint(n)), nil
}

// The sessionless revision keeps state in handles: mcp-go's client at its
// defaults starts a counter on one replica and counts on it on the other.
func Example_handles() {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, sqlite.Dialect(), "sqlite::memory:", sqlstore.WithAutoMigrate())
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	var urls []string
	for range 2 {
		sessions, err := mcpgo.New(store) // no WithPrincipal: anonymous, so a handle is a bearer token
		if err != nil {
			log.Fatal(err)
		}
		mcpServer := server.NewMCPServer("counter", "1.0.0", sessions.ServerOptions()...)
		mcpServer.AddTool(mcp.NewTool("count", mcp.WithString("handle", mcp.Description("a counter's handle; omit it to start one"))), countOn)
		streamable := server.NewStreamableHTTPServer(mcpServer, sessions.HTTPOptions()...)
		srv := httptest.NewServer(sessions.Handler(streamable))
		defer srv.Close()
		defer streamable.Shutdown(ctx)
		urls = append(urls, srv.URL+"/mcp")
	}
	call := func(url, handle string) *mcp.CallToolResult {
		c, err := client.NewStreamableHttpClient(url) // at its defaults: 2026-07-28, no session
		if err != nil {
			log.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Initialize(ctx, mcp.InitializeRequest{}); err != nil {
			log.Fatal(err)
		}
		res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "count", Arguments: map[string]any{"handle": handle}}})
		if err != nil {
			log.Fatal(err)
		}
		return res
	}
	handle := call(urls[0], "").StructuredContent.(map[string]any)["handle"].(string)
	var counts []string
	for _, url := range []string{urls[1], urls[0]} {
		counts = append(counts, call(url, handle).Content[0].(mcp.TextContent).Text)
	}
	fmt.Println("counts after 1:", strings.Join(counts, " "))
	fmt.Println("an unknown handle is a tool error:", call(urls[1], mcpsession.NewID()).IsError)
	// Output:
	// counts after 1: 2 3
	// an unknown handle is a tool error: true
}
