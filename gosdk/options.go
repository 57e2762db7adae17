package gosdk

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/eventstore"
	"github.com/mcpsession/mcpsession/internal/adapter"
	"github.com/mcpsession/mcpsession/internal/logredact"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// defaultMaxLocalSessions bounds how many go-sdk sessions a replica keeps
// in memory (see WithMaxLocalSessions).
const defaultMaxLocalSessions = 10000

// An Option configures a Sessions. Each rejects a bad argument with an
// error matching mcpsession.ErrInvalidOption, which New returns; for an
// option given twice, the last one wins.
type Option = adapter.Option[config]

type config struct {
	adapter.Settings
	localTTL time.Duration // 0: the store's idle timeout or 30 minutes
	maxLocal int
	httpOpts mcp.StreamableHTTPOptions
}

func (c *config) Shared() *adapter.Settings { return &c.Settings }

// WithTouchInterval sets how often, at most, a session in use is written to
// the store only to slide its idle expiry. Requests in between read the
// session but write nothing, so a busy session costs one write per interval
// instead of one per request, and a session stays alive while it is used at
// least once per (idle timeout - interval).
//
// The interval must be positive and, when the store has an idle timeout (an
// IdleTimeout() time.Duration method returning a positive duration, as
// sqlstore's Store has), below half of it; otherwise New fails. Without
// this option the interval is a minute, or a quarter of the idle timeout
// if that is shorter.
func WithTouchInterval(d time.Duration) Option {
	return adapter.Share[config](adapter.WithTouchInterval(d))
}

// WithLocalIdleTimeout sets how long a replica keeps its in-memory go-sdk
// session of a session that no request on this replica has used, before
// closing it. Closing it is local: the session stays in the store, and the
// next request for it, on this replica or any other, re-creates it. An open
// GET stream counts as use. The default is the store's idle timeout, or
// 30 minutes when it has none.
func WithLocalIdleTimeout(d time.Duration) Option {
	return adapter.Own(func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: WithLocalIdleTimeout(%v): must be positive", mcpsession.ErrInvalidOption, d)
		}
		c.localTTL = d
		return nil
	})
}

// WithMaxLocalSessions bounds how many go-sdk sessions a replica keeps in
// memory (10000 unless given). Past the bound, starting
// one closes the least recently used session that no request is using;
// like an idle close, that is local, and the session lives on in the store.
// Sessions with a request or GET stream in flight are never closed for
// room, so the bound can be passed while that many are busy at once.
func WithMaxLocalSessions(n int) Option {
	return adapter.Own(func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("%w: WithMaxLocalSessions(%d): must be positive", mcpsession.ErrInvalidOption, n)
		}
		c.maxLocal = n
		return nil
	})
}

// WithLogger sets where the adapter logs store failures (Warn and Error).
// It must not be nil. By default the adapter logs nothing. Session ids are
// never logged.
func WithLogger(l *slog.Logger) Option { return adapter.Share[config](adapter.WithLogger(l)) }

// WithStreamableHTTPOptions gives the go-sdk options of the HTTP endpoint,
// as mcp.NewStreamableHTTPHandler takes them. The adapter applies
// DisableLocalhostProtection, CrossOriginProtection, MaxRequestBodyBytes
// and JSONResponse to every request, and Logger and
// PropagateRequestCancellation to the sessionless ones, which go-sdk's own
// stateless handler serves.
//
// Stateless serves every request with go-sdk's own stateless handler, as
// go-sdk does: no session is kept (the store holds only the state handles
// the tools use), and the session-based revisions are served as go-sdk
// serves them statelessly. Without it the adapter decides per request: a
// request that names a session, or an initialize, is served with the
// session in the store; one of the sessionless revision (2026-07-28) that
// names none, statelessly.
//
// It refuses, with mcpsession.ErrInvalidOption, what it cannot honour on
// session-based requests:
//
//   - SessionTimeout: use WithLocalIdleTimeout, and the store's idle
//     timeout for the session itself.
//   - EventStore: an event store in memory would resume a stream only on
//     the replica that wrote it; WithStreams installs a shared one.
func WithStreamableHTTPOptions(o mcp.StreamableHTTPOptions) Option {
	return adapter.Own(func(c *config) error {
		switch {
		case o.SessionTimeout != 0:
			return fmt.Errorf("%w: StreamableHTTPOptions.SessionTimeout: use WithLocalIdleTimeout and the store's idle timeout", mcpsession.ErrInvalidOption)
		case o.EventStore != nil:
			return fmt.Errorf("%w: StreamableHTTPOptions.EventStore: not shared across replicas (use WithStreams)", mcpsession.ErrInvalidOption)
		}
		c.httpOpts = o
		return nil
	})
}

// WithPrincipal sets the function that gives each request's principal:
// the opaque string that owns the state handles its tool handlers create
// and use (CreateHandle and the other handle helpers), and the sessions it
// initializes. It runs once per request, before go-sdk sees it, with the
// *http.Request whose context your authentication middleware has filled;
// a real server returns the id of the user whose token that middleware
// verified, never an unverified header (and not the token itself, which
// changes when it is refreshed). It must not be nil.
//
// Without it the principal is the UserID of the request's auth.TokenInfo,
// which go-sdk's auth.RequireBearerToken puts in the request's context
// after its TokenVerifier accepted the token (and which handlers read as
// req.Extra.TokenInfo); with no TokenInfo, the anonymous principal "", and
// handles are then bearer tokens, usable by whoever holds them.
//
// An error from fn answers the request 401 Unauthorized, and a principal
// mcpsession.ValidatePrincipal refuses answers it 500; neither is served
// further. A session's later requests must come from the principal that
// initialized it; another principal's, POST, GET and DELETE alike, are
// answered 403 Forbidden, as go-sdk's own handler answers a TokenInfo
// user other than the session's, and touch nothing.
func WithPrincipal(fn func(r *http.Request) (string, error)) Option {
	return adapter.Share[config](adapter.WithPrincipal(fn))
}

// tokenUser is the default principal: the UserID of the auth.TokenInfo a
// go-sdk auth middleware verified, or anonymous.
func tokenUser(r *http.Request) (string, error) {
	if ti := auth.TokenInfoFromContext(r.Context()); ti != nil {
		return ti.UserID, nil
	}
	return "", nil
}

// Principal returns the principal of ctx's request, as the function given
// to WithPrincipal gave it ("" for the anonymous principal), or an error
// matching ErrNoPrincipal. In a session it is the session's principal,
// which every request of the session has (others are refused).
func Principal(ctx context.Context) (string, error) { return adapter.Principal(ctx) }

// WithStreams carries the sessions' streams and server-to-client messages
// across replicas: b (one Bus per replica, over the store's database,
// which the caller runs) wakes the replicas that follow a stream and
// forwards the client's answers, and events keeps the streams' events, so
// that any replica serves a stream's resumption (Last-Event-ID) and its
// GET stream. See the package documentation, "Streams across replicas".
// Neither may be nil.
func WithStreams(b *bus.Bus, events *eventstore.Store) Option {
	return adapter.Share[config](adapter.WithStreams(b, events))
}

// withClock replaces the clock; tests use it to step past touch intervals.
func withClock(now func() time.Time) Option { return adapter.Share[config](adapter.WithClock(now)) }

// RedactedLogger returns a logger for the SDK's own lines that writes
// through l's handler with every session id replaced by a digest: the SDK
// logs session ids at Info, and they are bearer credentials. Give it to the
// SDK instead of l. It also lowers to Debug the SDK's lines that read, on
// a shared store, as if a session ended when only this replica's memory of
// it did.
func RedactedLogger(l *slog.Logger) *slog.Logger { return logredact.Logger(l) }
