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
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/mcpgo"
	"github.com/mcpsession/mcpsession/requeststate"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// confirm asks the user to confirm an action: the first call returns the
// question with a sealed, single-use state (SealState), and the retry
// opens it (OpenState) before it acts.
func confirm(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	action := req.GetString("action", "")
	if req.Params.RequestState == "" {
		state, err := mcpgo.SealState(ctx, []byte(action))
		if err != nil {
			return nil, err
		}
		return server.NewInputRequestBuilder(state).Elicit("ok", mcp.ElicitationParams{
			Message:         "Confirm " + action + "?",
			RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{"yes": map[string]any{"type": "boolean"}}},
		}).ToolResult(), nil
	}
	sealed, err := mcpgo.OpenState(ctx, req.Params.RequestState, true) // once: a confirmation counts once
	if errors.Is(err, requeststate.ErrRefused) {
		// Tampered, expired, another principal's or request's, or
		// replayed: never act on it. Returned as it is, it answers the
		// JSON-RPC error -32602 "invalid requestState".
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	answer := server.ElicitationResponse(req.Params.InputResponses, "ok")
	if content, _ := answer.Content.(map[string]any); answer == nil || content["yes"] != true {
		return mcp.NewToolResultText("declined"), nil
	}
	return mcp.NewToolResultText("confirmed " + string(sealed)), nil
}

// A multi round-trip request (MCP 2026-07-28): the tool seals its state
// with the Sealer given to WithSealer, whose keys are in the store, so
// that the retry opens on any replica, once. The client here retries by
// hand (mcp-go's client does it itself by default), and then replays.
func ExampleSealState() {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, sqlite.Dialect(), "sqlite::memory:", sqlstore.WithAutoMigrate())
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	sealer, err := requeststate.New(ctx, store) // one per process
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := mcpgo.New(store, mcpgo.WithSealer(sealer))
	if err != nil {
		log.Fatal(err)
	}
	mcpServer := server.NewMCPServer("confirm", "1.0.0", sessions.ServerOptions()...)
	mcpServer.AddTool(mcp.NewTool("confirm", mcp.WithString("action")), confirm)
	streamable := server.NewStreamableHTTPServer(mcpServer, sessions.HTTPOptions()...)
	srv := httptest.NewServer(sessions.Handler(streamable))
	defer srv.Close()
	defer streamable.Shutdown(ctx)

	tr, err := transport.NewStreamableHTTP(srv.URL + "/mcp")
	if err != nil {
		log.Fatal(err)
	}
	c := client.NewClient(tr, client.WithManualInputRoundTrips())
	defer c.Close()
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{}); err != nil {
		log.Fatal(err)
	}
	args := map[string]any{"action": "deploy"}
	first, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "confirm", Arguments: args}})
	if err != nil {
		log.Fatal(err)
	}
	retry := mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "confirm", Arguments: args, MultiRoundTripParams: mcp.MultiRoundTripParams{
		RequestState: first.RequestState,
		InputResponses: mcp.InputResponses{"ok": mcp.NewElicitationInputResponse(mcp.ElicitationResult{
			ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionAccept, Content: map[string]any{"yes": true}},
		})},
	}}}
	res, err := c.CallTool(ctx, retry)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Content[0].(mcp.TextContent).Text)
	_, err = c.CallTool(ctx, retry) // the same state again
	fmt.Println("replayed:", err != nil && strings.Contains(err.Error(), "invalid requestState"))
	// Output:
	// confirmed deploy
	// replayed: true
}
