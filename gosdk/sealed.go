package gosdk

import (
	"context"
	"errors"

	"github.com/mcpsession/mcpsession/internal/adapter"
	"github.com/mcpsession/mcpsession/requeststate"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The sealed-state helpers: the requestState of a multi round-trip request
// (MCP 2026-07-28, SEP-2322; go-sdk's InputRequests and RequestState in
// CallToolResult), sealed with the Sealer given to WithSealer so that the
// client's retry opens on any replica, and at most once where it matters.
// They act for the principal of ctx's request and bind the state to its
// method and params (but for inputResponses, requestState and _meta),
// which the adapter's receiving middleware puts in ctx; for a client of an
// earlier revision, go-sdk asks the client itself and calls the handler
// again with the answers, and the state opens the same way.

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
// CallToolResult's RequestState. Without WithSealer it is an error
// matching mcpsession.ErrUnsupported; outside a handler of a server
// served through Sessions, one matching mcpsession.ErrInvalidArgument.
func SealState(ctx context.Context, state []byte) (string, error) {
	return adapter.SealState(ctx, state)
}

// OpenState returns the state sealed in token, the requestState of ctx's
// request (req.Params.RequestState), if it was sealed for this principal,
// method and params and has not expired. With once, it is also single
// use: its first open, on any replica, records it until it expires, and
// every later one is refused. A refused state is an error matching
// requeststate.ErrRefused (and the reason's sentinel, such as
// requeststate.ErrReplayed) whose message says no more than "invalid
// requestState"; the reason is logged (WithLogger) at Warn. Return it from
// the handler as it is, or wrapped, from a typed handler (mcp.AddTool) as
// from a ToolHandler: the adapter answers the JSON-RPC error -32602
// (Invalid params) with that message, not a tool error, as the spec wants
// a state that fails verification rejected. Never act on a refused state.
func OpenState(ctx context.Context, token string, once bool) ([]byte, error) {
	return adapter.OpenState(ctx, token, once)
}

// refusedState is go-sdk's JSON-RPC error for a refused state.
var refusedState = &jsonrpc.Error{Code: adapter.RefusedStateCode, Message: adapter.RefusedStateMessage}

// sealedCall is the receiving middleware's part for the sealed-state
// helpers: it puts the call's method and params in ctx, and answers a
// refused state that a typed handler returned (which go-sdk makes a tool
// error) with the JSON-RPC error.
func sealedCall(ctx context.Context, method string, req mcp.Request, next mcp.MethodHandler) (mcp.Result, error) {
	res, err := next(adapter.WithRequest(ctx, method, req.GetParams()), method, req)
	if r, ok := res.(*mcp.CallToolResult); ok && err == nil && r != nil {
		var refused *adapter.RefusedState
		if errors.As(r.GetError(), &refused) {
			return nil, refusedState
		}
	}
	return res, err
}
