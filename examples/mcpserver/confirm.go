package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	gomcp "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession/gosdk"
	"github.com/mcpsession/mcpsession/mcpgo"
	"github.com/mcpsession/mcpsession/requeststate"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// The confirm tool (issue 22): a multi round-trip request (MCP
// 2026-07-28, SEP-2322). The first call returns an InputRequiredResult
// that elicits a yes or no, with a sealed, single-use requestState; the
// client retries with the answer and the state, on whichever replica, and
// "yes" confirms. A state replayed, tampered with, expired, or sent by
// another principal or with another action is refused with the JSON-RPC
// error the adapter gives (-32602, "invalid requestState"): never a second
// confirmation. A client of an earlier revision is asked by the SDK itself
// (elicitation/create), which then calls the tool again with the answer.
const (
	confirmTool        = "confirm"
	confirmDescription = "Asks the user to confirm action (yes or no) and answers \"confirmed <action>\" on yes. " +
		"From protocol 2026-07-28 on, it returns an InputRequiredResult with a sealed, single-use requestState: " +
		"retry on any replica with the answer."
	// confirmInput is the key of the elicitation in inputRequests and
	// inputResponses.
	confirmInput = "confirm"
)

type confirmArgs struct {
	Action string `json:"action" jsonschema:"What the user is asked to confirm."`
}

// confirmSchema is the elicitation's requested schema: one answer, yes or
// no.
var confirmSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"answer": map[string]any{"type": "string", "enum": []string{"yes", "no"}, "description": "yes to go ahead"},
	},
	"required": []string{"answer"},
}

func confirmMessage(action string) string { return "Confirm " + action + "?" }

// confirmState is what the sealed state carries: the action asked about.
type confirmState struct {
	Action string `json:"action"`
}

// confirmHelpers are the adapter's sealed-state helpers, so that one
// confirm serves both SDKs.
type confirmHelpers struct {
	seal func(ctx context.Context, state []byte) (string, error)
	open func(ctx context.Context, token string, once bool) ([]byte, error)
}

// confirmAnswer is the client's answer to the elicitation, if it sent
// one.
type confirmAnswer struct {
	given   bool
	action  string // accept, decline or cancel
	content map[string]any
}

// step is confirm: with no state, or a state but no answer (the spec asks
// again rather than fail), it seals a new state to ask with (ask); with a
// state and an answer, it opens the state once and returns the text.
// A state the Sealer refused is its error, which the SDK's file returns as
// it is, for the adapter's JSON-RPC error.
func (h confirmHelpers) step(ctx context.Context, args confirmArgs, token string, answer confirmAnswer) (ask, text string, err error) {
	if args.Action == "" {
		return "", "", fmt.Errorf("%w: action is empty", errArguments)
	}
	if token != "" {
		raw, err := h.open(ctx, token, true) // single use: a confirmation counts once
		if err != nil {
			return "", "", err
		}
		var st confirmState
		if err := json.Unmarshal(raw, &st); err != nil || st.Action != args.Action {
			// Not reachable while the state is bound to the arguments.
			return "", "", errors.New("confirm: the state names another action")
		}
	}
	if token == "" || !answer.given {
		raw, _ := json.Marshal(confirmState(args))
		ask, err := h.seal(ctx, raw)
		return ask, "", err
	}
	switch {
	case answer.action == "accept" && answer.content["answer"] == "yes":
		return "", "confirmed " + args.Action, nil
	case answer.action == "accept":
		return "", "declined " + args.Action, nil
	default:
		return "", "cancelled " + args.Action, nil
	}
}

// newSealer is the replicas' Sealer: its keys in the store's database, so
// that every replica opens what any sealed. ttl and rotation 0 are
// requeststate's defaults.
func newSealer(ctx context.Context, store *sqlstore.Store, ttl, rotation time.Duration) (*requeststate.Sealer, error) {
	var opts []requeststate.Option
	if ttl > 0 {
		opts = append(opts, requeststate.WithTTL(ttl))
	}
	if rotation > 0 {
		opts = append(opts, requeststate.WithRotation(rotation))
	}
	return requeststate.New(ctx, store, opts...)
}

// ---- mcp-go ----

var mcpgoConfirmHelpers = confirmHelpers{seal: mcpgo.SealState, open: mcpgo.OpenState}

func mcpgoConfirmTool() mcp.Tool {
	return mcp.NewTool(confirmTool, mcp.WithDescription(confirmDescription), mcp.WithInputSchema[confirmArgs]())
}

func mcpgoConfirm(logger *slog.Logger) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args confirmArgs
		if err := req.BindArguments(&args); err != nil {
			return mcp.NewToolResultError(toolError(ctx, logger, confirmTool, fmt.Errorf("%w: %v", errArguments, err))), nil
		}
		var answer confirmAnswer
		if r := server.ElicitationResponse(req.Params.InputResponses, confirmInput); r != nil {
			content, _ := r.Content.(map[string]any)
			answer = confirmAnswer{given: true, action: string(r.Action), content: content}
		}
		ask, text, err := mcpgoConfirmHelpers.step(ctx, args, req.Params.RequestState, answer)
		switch {
		case errors.Is(err, requeststate.ErrRefused):
			return nil, err // the adapter's JSON-RPC error; the reason is in its log
		case err != nil:
			return mcp.NewToolResultError(toolError(ctx, logger, confirmTool, err)), nil
		case ask != "":
			return server.NewInputRequestBuilder(ask).Elicit(confirmInput, mcp.ElicitationParams{
				Message: confirmMessage(args.Action), RequestedSchema: confirmSchema,
			}).ToolResult(), nil
		}
		return mcp.NewToolResultText(text), nil
	}
}

// ---- go-sdk ----

var gosdkConfirmHelpers = confirmHelpers{seal: gosdk.SealState, open: gosdk.OpenState}

func gosdkConfirm(logger *slog.Logger) gomcp.ToolHandlerFor[confirmArgs, any] {
	return func(ctx context.Context, req *gomcp.CallToolRequest, args confirmArgs) (*gomcp.CallToolResult, any, error) {
		var answer confirmAnswer
		if r, ok := req.Params.InputResponses[confirmInput].(*gomcp.ElicitResult); ok {
			answer = confirmAnswer{given: true, action: r.Action, content: r.Content}
		}
		ask, text, err := gosdkConfirmHelpers.step(ctx, args, req.Params.RequestState, answer)
		switch {
		case errors.Is(err, requeststate.ErrRefused):
			return nil, nil, err // the adapter's JSON-RPC error; the reason is in its log
		case err != nil:
			return nil, nil, errors.New(toolError(ctx, logger, confirmTool, err))
		case ask != "":
			return &gomcp.CallToolResult{
				InputRequests: gomcp.InputRequestMap{confirmInput: &gomcp.ElicitParams{
					Mode: "form", Message: confirmMessage(args.Action), RequestedSchema: confirmSchema,
				}},
				RequestState: ask,
			}, nil, nil
		}
		return &gomcp.CallToolResult{Content: []gomcp.Content{&gomcp.TextContent{Text: text}}}, nil, nil
	}
}
