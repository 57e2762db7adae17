package main

import (
	"context"
	"errors"
	"github.com/mcpsession/mcpsession"
	"log/slog"
	"net/http"

	"github.com/mcpsession/mcpsession/gosdk"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// withGoSDK serves the tools with the official go-sdk
// (github.com/modelcontextprotocol/go-sdk), its sessions kept in store by
// package gosdk.
func withGoSDK(store mcpsession.Store, cfg replicaConfig) (http.Handler, func(context.Context) error, error) {
	server := mcp.NewServer(&mcp.Implementation{Name: serverName, Version: serverVersion}, nil)
	noArgs := map[string]any{"type": "object"}
	server.AddTool(&mcp.Tool{Name: whoamiTool, Description: whoamiDescription, InputSchema: noArgs,
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true}},
		gosdkWhoami)
	mcp.AddTool(server, &mcp.Tool{Name: counterTool, Description: counterDescription}, gosdkCounter(cfg.logger))
	mcp.AddTool(server, &mcp.Tool{Name: sampleTool, Description: sampleDescription}, gosdkSample(cfg.logger))
	addGoSDKResearch(server)
	mcp.AddTool(server, &mcp.Tool{Name: confirmTool, Description: confirmDescription}, gosdkConfirm(cfg.logger))
	sessions, err := gosdk.New(store, server, gosdk.WithLogger(cfg.logger), gosdk.WithPrincipal(bearerPrincipal),
		gosdk.WithStreams(cfg.bus, cfg.events), gosdk.WithSealer(cfg.sealer))
	if err != nil {
		return nil, nil, err
	}
	mcp.AddTool(server, &mcp.Tool{Name: notifyTool, Description: notifyDescription}, gosdkNotify(sessions, cfg.logger))
	shutdown := func(ctx context.Context) error {
		// Ends the GET streams first, which would hold the HTTP server's
		// Shutdown open.
		err := sessions.Shutdown(ctx)
		if cfg.httpServer != nil {
			err = errors.Join(err, cfg.httpServer.Shutdown(ctx))
		}
		return err
	}
	return sessions, shutdown, nil
}

func gosdkWhoami(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	var w whoami
	if p := req.Session.InitializeParams(); p != nil {
		w.ProtocolVersion = p.ProtocolVersion
		if p.ClientInfo != nil {
			w.Client = p.ClientInfo.Name
		}
	}
	if level, err := gosdk.LogLevel(ctx); err == nil {
		w.LogLevel = level
	} else {
		// The sessionless revision: each request names its level.
		//lint:ignore SA1019 whoami reports the level the SDK applies, deprecated or not.
		w.LogLevel, _ = req.Params.GetMeta()[mcp.MetaKeyLogLevel].(string)
	}
	text, err := w.text()
	if err != nil {
		return nil, err
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}, nil
}

// gosdkCounterHelpers are package gosdk's helpers, for counter.
var gosdkCounterHelpers = counterHelpers{
	modifyState:  gosdk.ModifyState,
	createHandle: gosdk.CreateHandle,
	modifyHandle: gosdk.ModifyHandle,
	errNoSession: gosdk.ErrNoSession,
}

// gosdkCounter is typed: go-sdk derives the schemas from counterArgs and
// counterOutput, puts out in structuredContent, and makes an error a tool
// error (isError), never a protocol error.
func gosdkCounter(logger *slog.Logger) mcp.ToolHandlerFor[counterArgs, counterOutput] {
	return func(ctx context.Context, _ *mcp.CallToolRequest, args counterArgs) (*mcp.CallToolResult, counterOutput, error) {
		out, err := gosdkCounterHelpers.count(ctx, args)
		if err != nil {
			return nil, counterOutput{}, errors.New(toolError(ctx, logger, counterTool, err))
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: counterText(out.Count)}}}, out, nil
	}
}

// gosdkSample asks the client with go-sdk's CreateMessage, which go-sdk
// sends on the tools/call's own stream; the client may POST the answer to
// any replica, and the adapter brings it back here.
func gosdkSample(logger *slog.Logger) mcp.ToolHandlerFor[sampleArgs, any] {
	return func(ctx context.Context, req *mcp.CallToolRequest, args sampleArgs) (*mcp.CallToolResult, any, error) {
		if _, err := gosdk.SessionID(ctx); err != nil {
			return nil, nil, errors.New(needsSession(sampleTool))
		}
		//lint:ignore SA1019 sampling is deprecated from the sessionless revision on; sessions still have it.
		messages := []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: args.Prompt}}}
		//lint:ignore SA1019 as above.
		res, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{Messages: messages, MaxTokens: sampleMaxTokens})
		if err != nil {
			return nil, nil, errors.New(toolError(ctx, logger, sampleTool, err))
		}
		text, ok := res.Content.(*mcp.TextContent)
		if !ok {
			return nil, nil, errors.New(sampleTool + ": the client sampled no text")
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text.Text}}}, nil, nil
	}
}

// gosdkNotify sends notify's notification through the adapter.
func gosdkNotify(sessions *gosdk.Sessions, logger *slog.Logger) mcp.ToolHandlerFor[notifyArgs, any] {
	return func(ctx context.Context, _ *mcp.CallToolRequest, args notifyArgs) (*mcp.CallToolResult, any, error) {
		id, err := gosdk.SessionID(ctx)
		if err != nil {
			return nil, nil, errors.New(needsSession(notifyTool))
		}
		if err := sessions.Notify(ctx, id, "notifications/message", notifyParams(args.Message)); err != nil {
			return nil, nil, errors.New(toolError(ctx, logger, notifyTool, err))
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: notifySent}}}, nil, nil
	}
}
