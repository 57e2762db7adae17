package gosdk

import (
	"context"
	"errors"

	"github.com/mcpsession/mcpsession/internal/principal"
	"github.com/mcpsession/mcpsession/internal/record"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// middleware is the receiving middleware New adds to the server. It acts
// on initialize and notifications/initialized only for sessions this
// Sessions made (their context says so); the server's sessionless
// requests, and any it serves through another handler, pass untouched but
// for the call the sealed-state helpers need in their context
// (sealedCall).
func (s *Sessions) middleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		switch method {
		case "initialize":
			return s.onInitialize(ctx, method, req, next)
		case "notifications/initialized":
			res, err := next(ctx, method, req)
			if err == nil {
				s.onInitialized(ctx)
			}
			return res, err
		case "tools/call", "prompts/get", "resources/read": // the requests that may take several round trips
			return sealedCall(ctx, method, req, next)
		}
		return next(ctx, method, req)
	}
}

// errNotCreated is what the client would read in the JSON-RPC error when
// initialize could not create the session; the adapter answers 503 instead,
// and logs the store's error.
var errNotCreated = errors.New("session store unavailable: the session was not created")

// onInitialize lets go-sdk negotiate, then creates the session in the
// store with what it negotiated, before go-sdk writes the answer, so that
// a client never receives a session id the store does not know. Then the
// go-sdk session joins this replica's sessions.
func (s *Sessions) onInitialize(ctx context.Context, method string, req mcp.Request, next mcp.MethodHandler) (mcp.Result, error) {
	res, err := next(ctx, method, req)
	st, _ := ctx.Value(initKey{}).(*initState)
	if err != nil || st == nil || ctx.Value(sessionsKey{}) != s {
		return res, err
	}
	params, _ := req.GetParams().(*mcp.InitializeParams)
	result, _ := res.(*mcp.InitializeResult)
	if params == nil || result == nil {
		return res, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.registered || st.failure {
		return res, err // a second initialize, which go-sdk refused already
	}
	meta := negotiated(params, result)
	meta[record.KeyPrincipal], _ = principal.Of(ctx) // ServeHTTP put it there
	if err := s.core.Create(ctx, st.local.id, meta); err != nil {
		s.core.StoreFailed(ctx, "creating a session", err)
		st.failure = true
		return nil, errNotCreated
	}
	s.register(st.local)
	st.registered = true
	return res, nil
}

// onInitialized records that the client finished initializing, so that a
// replica re-creating the session restores that too. The client has had
// its 202 already (go-sdk answers a notification before handling it), so a
// failure can only be logged.
func (s *Sessions) onInitialized(ctx context.Context) {
	l, _ := ctx.Value(localKey{}).(*local)
	if l == nil || ctx.Value(sessionsKey{}) != s {
		return
	}
	if err := s.core.Write(ctx, l.id, map[string]any{record.KeyInitialized: true}); err != nil {
		s.core.StoreFailed(ctx, "storing notifications/initialized", err)
	}
}
