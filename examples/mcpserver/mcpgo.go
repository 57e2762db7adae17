package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/mcpsession/mcpsession"
	"log/slog"
	"net/http"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession/mcpgo"
)

// withMCPGo serves the tools with mcp-go (github.com/mark3labs/mcp-go), its
// sessions kept in store by package mcpgo.
func withMCPGo(store mcpsession.Store, cfg replicaConfig) (http.Handler, func(context.Context) error, error) {
	taskOpts, taskServerOpts := mcpgoTaskOptions(cfg.tasks)
	sessions, err := mcpgo.New(store, append([]mcpgo.Option{mcpgo.WithLogger(cfg.logger), mcpgo.WithPrincipal(bearerPrincipal),
		mcpgo.WithStreams(cfg.bus, cfg.events), mcpgo.WithSealer(cfg.sealer)}, taskOpts...)...)
	if err != nil {
		return nil, nil, err
	}
	mcpServer := server.NewMCPServer(serverName, serverVersion,
		append(append(sessions.ServerOptions(), server.WithLogging(), server.WithToolCapabilities(false)), taskServerOpts...)...)
	addMCPGoResearch(mcpServer)
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
	mcpServer.AddTool(mcp.NewTool(sampleTool,
		mcp.WithDescription(sampleDescription),
		mcp.WithInputSchema[sampleArgs]()),
		mcpgoSample(mcpServer, cfg.logger))
	mcpServer.AddTool(mcp.NewTool(notifyTool,
		mcp.WithDescription(notifyDescription),
		mcp.WithInputSchema[notifyArgs]()),
		mcpgoNotify(sessions, cfg.logger))
	mcpServer.AddTool(mcpgoConfirmTool(), mcpgoConfirm(cfg.logger))

	// mcp-go logs session ids at Info; its lines go through a redacting
	// logger.
	opts := []server.StreamableHTTPOption{server.WithStreamableHTTPLogger(mcpgo.RedactedLogger(cfg.logger))}
	if cfg.httpServer != nil {
		// Then Shutdown shuts the HTTP server down too, once mcp-go has
		// ended its GET streams (which would otherwise hold it open).
		opts = append(opts, server.WithStreamableHTTPServer(cfg.httpServer))
	}
	streamable := server.NewStreamableHTTPServer(mcpServer, append(opts, sessions.HTTPOptions()...)...)
	shutdown := func(ctx context.Context) error {
		// The adapter's streams end first (GET streams, served from the
		// event store, would hold the HTTP server's Shutdown open).
		return errors.Join(sessions.Shutdown(ctx), streamable.Shutdown(ctx))
	}
	return sessions.Handler(streamable), shutdown, nil
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

// mcpgoSample asks the client with mcp-go's RequestSampling, which mcp-go
// (v1.6) sends on the tools/call's own stream: the adapter carries the
// answer back from whichever replica the client POSTs it to.
func mcpgoSample(mcpServer *server.MCPServer, logger *slog.Logger) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if _, err := mcpgo.SessionID(ctx); err != nil {
			return mcp.NewToolResultError(needsSession(sampleTool)), nil
		}
		var args sampleArgs
		if err := req.BindArguments(&args); err != nil {
			return mcp.NewToolResultError(toolError(ctx, logger, sampleTool, fmt.Errorf("%w: %v", errArguments, err))), nil
		}
		//lint:ignore SA1019 sampling is deprecated from the sessionless revision on; sessions still have it.
		res, err := mcpServer.RequestSampling(ctx, mcp.CreateMessageRequest{CreateMessageParams: mcp.CreateMessageParams{
			Messages:  []mcp.SamplingMessage{{Role: mcp.RoleUser, Content: mcp.NewTextContent(args.Prompt)}},
			MaxTokens: sampleMaxTokens,
		}})
		if err != nil {
			return mcp.NewToolResultError(toolError(ctx, logger, sampleTool, err)), nil
		}
		text, ok := res.Content.(mcp.TextContent)
		if !ok {
			return mcp.NewToolResultError(sampleTool + ": the client sampled no text"), nil
		}
		return mcp.NewToolResultText(text.Text), nil
	}
}

// mcpgoNotify sends notify's notification through the adapter.
func mcpgoNotify(sessions *mcpgo.Sessions, logger *slog.Logger) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		id, err := mcpgo.SessionID(ctx)
		if err != nil {
			return mcp.NewToolResultError(needsSession(notifyTool)), nil
		}
		var args notifyArgs
		if err := req.BindArguments(&args); err != nil {
			return mcp.NewToolResultError(toolError(ctx, logger, notifyTool, fmt.Errorf("%w: %v", errArguments, err))), nil
		}
		if err := sessions.Notify(ctx, id, "notifications/message", notifyParams(args.Message)); err != nil {
			return mcp.NewToolResultError(toolError(ctx, logger, notifyTool, err)), nil
		}
		return mcp.NewToolResultText(notifySent), nil
	}
}
