package gosdk_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/gosdk"
	"github.com/mcpsession/mcpsession/requeststate"
	"github.com/mcpsession/mcpsession/sqlstore"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type confirmArgs struct {
	Action string `json:"action"`
}

// confirm asks the user to confirm an action: the first call returns the
// question with a sealed, single-use state (SealState), and the retry
// opens it (OpenState) before it acts.
func confirm(ctx context.Context, req *mcp.CallToolRequest, args confirmArgs) (*mcp.CallToolResult, any, error) {
	if req.Params.RequestState == "" {
		state, err := gosdk.SealState(ctx, []byte(args.Action))
		if err != nil {
			return nil, nil, err
		}
		return &mcp.CallToolResult{
			InputRequests: mcp.InputRequestMap{"ok": &mcp.ElicitParams{Mode: "form", Message: "Confirm " + args.Action + "?",
				RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{"yes": map[string]any{"type": "boolean"}}}}},
			RequestState: state,
		}, nil, nil
	}
	action, err := gosdk.OpenState(ctx, req.Params.RequestState, true) // once: a confirmation counts once
	if errors.Is(err, requeststate.ErrRefused) {
		// Tampered, expired, another principal's or request's, or
		// replayed: never act on it. Returned as it is, it answers the
		// JSON-RPC error -32602 "invalid requestState".
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, err
	}
	answer, _ := req.Params.InputResponses["ok"].(*mcp.ElicitResult)
	if answer == nil || answer.Content["yes"] != true {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "declined"}}}, nil, nil
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "confirmed " + string(action)}}}, nil, nil
}

// A multi round-trip request (MCP 2026-07-28): the tool seals its state
// with the Sealer given to WithSealer, whose keys are in the store, so
// that the retry opens on any replica, once. The client here retries by
// hand (go-sdk's client does it itself by default), and then replays.
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
	server := mcp.NewServer(&mcp.Implementation{Name: "confirm", Version: "1.0.0"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "confirm"}, confirm)
	sessions, err := gosdk.New(store, server, gosdk.WithSealer(sealer))
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(sessions)
	defer srv.Close()

	client := mcp.NewClient(&mcp.Implementation{Name: "example", Version: "1.0.0"},
		&mcp.ClientOptions{MultiRoundTrip: &mcp.MultiRoundTripOptions{Disabled: true}})
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer session.Close()
	first, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "confirm", Arguments: confirmArgs{Action: "deploy"}})
	if err != nil {
		log.Fatal(err)
	}
	retry := &mcp.CallToolParams{Name: "confirm", Arguments: confirmArgs{Action: "deploy"}, RequestState: first.RequestState,
		InputResponses: mcp.InputResponseMap{"ok": &mcp.ElicitResult{Action: "accept", Content: map[string]any{"yes": true}}}}
	res, err := session.CallTool(ctx, retry)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Content[0].(*mcp.TextContent).Text)
	_, err = session.CallTool(ctx, retry) // the same state again
	var refused *jsonrpc.Error
	if errors.As(err, &refused) {
		fmt.Println("replayed:", refused.Code, refused.Message)
	}
	// Output:
	// confirmed deploy
	// replayed: -32602 invalid requestState
}
