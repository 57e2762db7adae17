package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession/mcpgo"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// withMCPGo serves the tools with mcp-go (github.com/mark3labs/mcp-go), its
// sessions kept in store by package mcpgo.
func withMCPGo(store *sqlstore.Store, cfg replicaConfig) (http.Handler, func(context.Context) error, error) {
	sessions, err := mcpgo.New(store, mcpgo.WithLogger(cfg.logger), mcpgo.WithPrincipal(bearerPrincipal))
	if err != nil {
		return nil, nil, err
	}
	mcpServer := server.NewMCPServer(serverName, serverVersion,
		append(sessions.ServerOptions(), server.WithLogging(), server.WithToolCapabilities(false))...)
	mcpServer.AddTool(mcp.NewTool(whoamiTool,
		mcp.WithDescription(whoamiDescription),
		mcp.WithReadOnlyHintAnnotation(true)),
		mcpgoWhoami)
	mcpServer.AddTool(mcp.NewTool(counterTool,
		mcp.WithDescription(counterDescription),
		mcp.WithInputSchema[counterArgs](),
		mcp.WithOutputSchema[counterOutput](),
		mcp.WithIdempotentHintAnnotation(false)),
		mcpgoCounter(cfg.logger))

	// mcp-go logs session ids at Info; its lines go through a redacting
	// logger.
	opts := []server.StreamableHTTPOption{server.WithStreamableHTTPLogger(mcpgo.RedactedLogger(cfg.logger))}
	if cfg.httpServer != nil {
		// Then Shutdown shuts the HTTP server down too, once mcp-go has
		// ended its GET streams (which would otherwise hold it open).
		opts = append(opts, server.WithStreamableHTTPServer(cfg.httpServer))
	}
	streamable := server.NewStreamableHTTPServer(mcpServer, append(opts, sessions.HTTPOptions()...)...)
	return sessions.Handler(streamable), streamable.Shutdown, nil
}

func mcpgoWhoami(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	w := whoami{ProtocolVersion: server.RequestProtocolVersion(ctx)}
	cs := server.ClientSessionFromContext(ctx)
	if s, ok := cs.(server.SessionWithClientInfo); ok {
		w.Client = s.GetClientInfo().Name
	}
	if s, ok := cs.(server.SessionWithLogging); ok {
		w.LogLevel = string(s.GetLogLevel())
	}
	text, err := w.text()
	if err != nil {
		return nil, err
	}
	return mcp.NewToolResultText(text), nil
}

// mcpgoCounterHelpers are package mcpgo's helpers, for counter.
var mcpgoCounterHelpers = counterHelpers{
	modifyState:  mcpgo.ModifyState,
	createHandle: mcpgo.CreateHandle,
	modifyHandle: mcpgo.ModifyHandle,
	errNoSession: mcpgo.ErrNoSession,
}

func mcpgoCounter(logger *slog.Logger) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args counterArgs
		if err := req.BindArguments(&args); err != nil {
			return mcp.NewToolResultError(toolError(ctx, logger, counterTool, fmt.Errorf("%w: %v", errArguments, err))), nil
		}
		out, err := mcpgoCounterHelpers.count(ctx, args)
		if err != nil {
			return mcp.NewToolResultError(toolError(ctx, logger, counterTool, err)), nil // a tool error, never a protocol error
		}
		return mcp.NewToolResultStructured(out, counterText(out.Count)), nil
	}
}
