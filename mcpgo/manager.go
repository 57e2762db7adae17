package mcpgo

import (
	"context"
	"errors"
	"net/http"

	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/adapter"
	"github.com/mcpsession/mcpsession/internal/principal"
)

// resolver hands mcp-go a SessionIdManager per request. mcp-go calls it with
// the request being served, and with nil from Shutdown and from its idle
// sweeper; that nil is how the adapter tells a client's DELETE, which ends
// the session for every replica, from a replica letting go of its own
// memory, which must not. (A custom resolver is never cached by mcp-go, so
// every call comes here.)
type resolver struct{ s *Sessions }

func (r resolver) ResolveSessionIdManager(req *http.Request) server.SessionIdManager {
	if req == nil {
		return localManager{}
	}
	m := requestManager{s: r.s, ctx: req.Context()}
	var ok bool
	if m.principal, ok, m.principalErr = principal.From(m.ctx); !ok {
		m.principal, m.principalErr = r.s.core.Principal(req) // without Handler in front
	}
	return m
}

// requestManager serves one request. Its methods take no context, so it
// keeps the request's, and the request's principal.
type requestManager struct {
	s            *Sessions
	ctx          context.Context
	principal    string
	principalErr error
}

func (requestManager) Generate() string { return mcpsession.NewID() }

// Validate is called by mcp-go for every POST of the session-based protocol
// revisions except initialize (and except empty responses). Any error is a
// 404 to the client; a store failure is recorded so that Handler answers 503
// instead, and the client keeps its session.
//
// A session another principal initialized is refused (and Handler answers
// 403 instead of mcp-go's 404), untouched.
func (m requestManager) Validate(id string) (isTerminated bool, err error) {
	if isLocalEnd(m.ctx) {
		return false, nil // the adapter's own request: the replica the client reached checked the session
	}
	if m.principalErr != nil {
		return false, m.principalErr
	}
	st := requestStateFrom(m.ctx)
	if id == "" && st != nil {
		st.noID() // Handler answers 400, not mcp-go's 404
	}
	meta, err := m.s.core.OpenAs(m.ctx, id, m.principal)
	switch {
	case err == nil:
		if st != nil {
			st.setRecord(meta)
		}
		return false, nil
	case errors.Is(err, mcpsession.ErrNotFound):
		return false, err
	case adapter.IsForeign(err):
		if st != nil {
			st.forbid()
		}
		return false, err
	default:
		if st != nil {
			st.fail(err)
		}
		return false, err
	}
}

// Terminate is called for a client's DELETE: the session ends for every
// replica. mcp-go then drops this replica's state of it.
func (m requestManager) Terminate(id string) (isNotAllowed bool, err error) {
	if isLocalEnd(m.ctx) {
		return false, nil // deleted on another replica: mcp-go only forgets it here
	}
	if err := m.s.core.Delete(m.ctx, id); err != nil {
		if st := requestStateFrom(m.ctx); st != nil {
			st.fail(err)
		}
		return false, err
	}
	m.s.core.SessionEnded(m.ctx, id)
	return false, nil
}

// localManager is what Shutdown and the idle sweeper get: they terminate
// the sessions this replica holds in memory, which are shared and live on.
type localManager struct{}

func (localManager) Generate() string { return mcpsession.NewID() }

func (localManager) Validate(string) (bool, error) {
	return false, errors.New("mcpgo: no request to validate a session for")
}

func (localManager) Terminate(string) (bool, error) { return false, nil }
