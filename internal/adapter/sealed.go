package adapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/principal"
	"github.com/mcpsession/mcpsession/requeststate"
)

// The sealed-state helpers: the requestState of a multi round-trip request
// (MCP 2026-07-28, SEP-2322), sealed and opened by the adapter's
// requeststate.Sealer (WithSealer) for the principal, method and params of
// the handler's request. Each adapter re-exports them under the same
// names, and puts the request's method and params in the handler's
// context (WithRequest) from a middleware of its SDK, so that the state is
// bound to what the SDK decoded, retries of its legacy bridge included.

// RefusedStateMessage is the one message a client reads for a refused
// state, whatever the reason: the spec wants state that fails verification
// rejected, and the reason (tampered, expired, another principal or
// request, replayed) is for the server's log alone.
const RefusedStateMessage = "invalid requestState"

// RefusedStateCode is the JSON-RPC code of that answer: Invalid params
// (-32602), since the state is a parameter the client sent.
const RefusedStateCode = -32602

// WithSealer gives the adapter the Sealer of its sealed-state helpers.
func WithSealer(s *requeststate.Sealer) Setting {
	return func(st *Settings) error {
		if s == nil {
			return fmt.Errorf("%w: WithSealer(nil)", mcpsession.ErrInvalidOption)
		}
		st.Sealer = s
		return nil
	}
}

type requestKey struct{}

// boundRequest is the method and params of the request a handler serves,
// the params as the SDK decoded them, marshalled only when a helper needs
// them.
type boundRequest struct {
	method string
	params any
}

// WithRequest returns ctx carrying the method and params of the request
// its handler serves: params are JSON-marshalled when a sealed-state
// helper runs.
func WithRequest(ctx context.Context, method string, params any) context.Context {
	return context.WithValue(ctx, requestKey{}, &boundRequest{method: method, params: params})
}

// RefusedState is the error OpenState returns for a state it refused. Its
// message is RefusedStateMessage alone; it matches requeststate.ErrRefused
// and the reason's sentinel (requeststate.ErrReplayed, …), and the SDK's
// JSON-RPC error that answers it (Config.RefusedState), so that a handler
// that returns it answers RefusedStateCode.
type RefusedState struct {
	reason error
	wire   error // nil: the adapter gave none
}

func (e *RefusedState) Error() string { return RefusedStateMessage }

func (e *RefusedState) Unwrap() []error {
	if e.wire == nil {
		return []error{e.reason}
	}
	return []error{e.reason, e.wire}
}

// noSealer is the helpers' error without WithSealer: it matches
// mcpsession.ErrUnsupported, whose own text speaks of the store, and says
// what is missing instead.
type noSealer struct{ adapter string }

func (e noSealer) Error() string {
	return e.adapter + ": no requeststate.Sealer to seal or open requestState: give the adapter WithSealer"
}

func (noSealer) Unwrap() error { return mcpsession.ErrUnsupported }

// sealing returns the Sealer and the requeststate.Request of ctx's
// request.
func sealing(ctx context.Context) (*Core, *requeststate.Sealer, requeststate.Request, error) {
	c, err := serving(ctx)
	if err != nil {
		return nil, nil, requeststate.Request{}, err
	}
	if c.sealer == nil {
		return nil, nil, requeststate.Request{}, noSealer{adapter: c.name}
	}
	b, _ := ctx.Value(requestKey{}).(*boundRequest)
	if b == nil {
		return nil, nil, requeststate.Request{}, fmt.Errorf("%w: no tool call in the context: seal and open requestState in a tool handler", mcpsession.ErrInvalidArgument)
	}
	p, err := principal.Of(ctx)
	if err != nil {
		return nil, nil, requeststate.Request{}, err
	}
	params, err := json.Marshal(b.params)
	if err != nil {
		return nil, nil, requeststate.Request{}, fmt.Errorf("%w: the request's params: %w", mcpsession.ErrInvalidArgument, err)
	}
	return c, c.sealer, requeststate.Request{Principal: p, Method: b.method, Params: params}, nil
}

// SealState seals state for ctx's request: the requestState of the
// InputRequiredResult the handler returns.
func SealState(ctx context.Context, state []byte) (string, error) {
	_, s, req, err := sealing(ctx)
	if err != nil {
		return "", err
	}
	return s.Seal(ctx, req, state)
}

// OpenState opens the requestState token of ctx's request (a retry), with
// requeststate's OpenOnce if once is set, else its Open. A refusal is
// logged with its reason and returned as a *RefusedState.
func OpenState(ctx context.Context, token string, once bool) ([]byte, error) {
	c, s, req, err := sealing(ctx)
	if err != nil {
		return nil, err
	}
	var state []byte
	if once {
		state, err = s.OpenOnce(ctx, req, token)
	} else {
		state, err = s.Open(ctx, req, token)
	}
	if errors.Is(err, requeststate.ErrRefused) {
		// The sentinels' texts hold neither the token nor the principal.
		c.logger.LogAttrs(ctx, slog.LevelWarn, c.name+": a requestState was refused",
			slog.String("method", req.Method), slog.String("reason", err.Error()))
		return nil, &RefusedState{reason: err, wire: c.refusedState}
	}
	return state, err
}
