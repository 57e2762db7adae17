package main

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession/mcpgo"
)

func addTools(s *server.MCPServer) {
	s.AddTool(mcp.NewTool("whoami",
		mcp.WithDescription("The session's client name, protocol version and log level, as JSON."),
		mcp.WithReadOnlyHintAnnotation(true)),
		whoami)
	s.AddTool(mcp.NewTool("counter",
		mcp.WithDescription("Increments this session's counter and returns the new value."),
		mcp.WithIdempotentHintAnnotation(false)),
		counter)
}

// whoamiResult is what whoami answers.
type whoamiResult struct {
	Client          string `json:"client"`
	ProtocolVersion string `json:"protocolVersion"`
	LogLevel        string `json:"logLevel"`
}

// whoami reads what the session negotiated from mcp-go's session object,
// as any handler would: on a replica that did not serve initialize, mcpgo
// has restored it from the database.
func whoami(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	res := whoamiResult{ProtocolVersion: server.RequestProtocolVersion(ctx)}
	cs := server.ClientSessionFromContext(ctx)
	if s, ok := cs.(server.SessionWithClientInfo); ok {
		res.Client = s.GetClientInfo().Name
	}
	if s, ok := cs.(server.SessionWithLogging); ok {
		res.LogLevel = string(s.GetLogLevel())
	}
	b, err := json.Marshal(res)
	if err != nil {
		return nil, err
	}
	return mcp.NewToolResultText(string(b)), nil
}

// counter increments the "counter" key of the session's state. ModifyState
// makes the read and the write one step under the session's lock, so
// concurrent calls on any replicas never lose an increment.
func counter(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	var n int64
	err := mcpgo.ModifyState(ctx, func(state map[string]any) (map[string]any, error) {
		f, _ := state["counter"].(float64) // JSON numbers come back as float64
		n = int64(f) + 1
		state["counter"] = n
		return state, nil
	})
	if err != nil {
		return mcp.NewToolResultErrorFromErr("counter", err), nil
	}
	return mcp.NewToolResultText(strconv.FormatInt(n, 10)), nil
}
