package mcpgo

import (
	"context"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession/internal/adapter"
	"github.com/mcpsession/mcpsession/requeststate"
)

// The sealed-state helpers: the requestState of a multi round-trip request
// (MCP 2026-07-28, SEP-2322; mcp-go's server.NewInputRequestBuilder),
// sealed with the Sealer given to WithSealer so that the client's retry
// opens on any replica, and at most once where it matters. They act for
// the principal of ctx's request and bind the state to its method and
// params (but for inputResponses, requestState and _meta), which the
// tool handler middleware of ServerOptions puts in ctx; for a client of
// an earlier revision, mcp-go asks the client itself and calls the
// handler again with the answers, and the state opens the same way.

// WithSealer gives the sealed-state helpers (SealState, OpenState) their
// Sealer, which is usually made once per process over the store's
// database (requeststate.New); every replica then opens what any sealed.
// It must not be nil.
func WithSealer(s *requeststate.Sealer) Option {
	return adapter.Share[config](adapter.WithSealer(s))
}

// SealState seals state (at most 64 KiB; keep what is big in a handle)
// for the retry of ctx's request, bound to its principal, method and
// params and to the Sealer's TTL: the token to return as the
// InputRequiredResult's requestState. Without WithSealer it is an error
// matching mcpsession.ErrUnsupported; outside a tool handler served
// through ServerOptions, one matching mcpsession.ErrInvalidArgument.
func SealState(ctx context.Context, state []byte) (string, error) {
	return adapter.SealState(ctx, state)
}

// OpenState returns the state sealed in token, the requestState of ctx's
// request (request.Params.RequestState), if it was sealed for this
// principal, method and params and has not expired. With once, it is also
// single use: its first open, on any replica, records it until it
// expires, and every later one is refused. A refused state is an error
// matching requeststate.ErrRefused (and the reason's sentinel, such as
// requeststate.ErrReplayed) whose message says no more than "invalid
// requestState"; the reason is logged (WithLogger) at Warn. Return it from
// the handler as it is, or wrapped: mcp-go answers the JSON-RPC error
// -32602 (Invalid params) with that message, as the spec wants a state
// that fails verification rejected. Never act on a refused state.
func OpenState(ctx context.Context, token string, once bool) ([]byte, error) {
	return adapter.OpenState(ctx, token, once)
}

// refusedState is mcp-go's JSON-RPC error for a refused state.
var refusedState = server.NewHandlerError(refusal{})

type refusal struct{}

func (refusal) Error() string { return adapter.RefusedStateMessage }

func (refusal) JSONRPCError() mcp.JSONRPCError {
	return mcp.JSONRPCError{
		JSONRPC: mcp.JSONRPC_VERSION,
		Error:   mcp.NewJSONRPCErrorDetails(adapter.RefusedStateCode, adapter.RefusedStateMessage, nil),
	}
}

// bindCall is the tool handler middleware of ServerOptions: it puts the
// call's method and params in ctx for the sealed-state helpers, on every
// invocation, mcp-go's retries for clients of earlier revisions included.
func bindCall(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, request mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return next(adapter.WithRequest(ctx, string(mcp.MethodToolsCall), request.Params), request)
	}
}
