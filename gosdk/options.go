package gosdk

import (
	"fmt"
	"github.com/mcpsession/mcpsession"
	"log/slog"
	"net/http"
	"time"

	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/eventstore"
	"github.com/mcpsession/mcpsession/internal/adapterstate"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// DefaultTouchInterval is the touch interval New uses when WithTouchInterval
// is not given, unless the store's idle timeout calls for a shorter one (see
// WithTouchInterval).
const DefaultTouchInterval = adapterstate.DefaultTouchInterval

// DefaultLocalIdleTTL is how long a replica keeps go-sdk's in-memory
// session of a session nobody uses, when the store reports no idle timeout
// (see WithLocalIdleTimeout).
const DefaultLocalIdleTTL = adapterstate.DefaultLocalIdleTTL

// DefaultMaxLocalSessions bounds how many go-sdk sessions a replica keeps
// in memory (see WithMaxLocalSessions).
const DefaultMaxLocalSessions = 10000

// An Option configures a Sessions. Each rejects a bad argument with an
// error matching mcpsession.ErrInvalidOption, which New returns; for an option given
// twice, the last one wins.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

type config struct {
	touchInterval time.Duration // 0: the default, derived from the idle timeout
	localTTL      time.Duration // 0: the store's idle timeout or DefaultLocalIdleTTL
	maxLocal      int
	logger        *slog.Logger
	httpOpts      mcp.StreamableHTTPOptions
	principal     adapterstate.PrincipalFunc
	now           func() time.Time
	bus           *bus.Bus          // with events: streams across replicas (streams.go)
	events        *eventstore.Store // with bus
}

// WithTouchInterval sets how often, at most, a session in use is written to
// the store only to slide its idle expiry. Requests in between read the
// session but write nothing, so a busy session costs one write per interval
// instead of one per request, and a session stays alive while it is used at
// least once per (idle timeout - interval).
//
// The interval must be positive and, when the store has an idle timeout (an
// IdleTimeout() time.Duration method returning a positive duration, as
// sqlstore's Store has), below half of it; otherwise New fails. Without
// this option the interval is DefaultTouchInterval, or a quarter of the
// idle timeout if that is shorter.
func WithTouchInterval(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: WithTouchInterval(%v): must be positive", mcpsession.ErrInvalidOption, d)
		}
		c.touchInterval = d
		return nil
	})
}

// WithLocalIdleTimeout sets how long a replica keeps its in-memory go-sdk
// session of a session that no request on this replica has used, before
// closing it. Closing it is local: the session stays in the store, and the
// next request for it, on this replica or any other, re-creates it. An open
// GET stream counts as use. The default is the store's idle timeout, or
// DefaultLocalIdleTTL when it has none.
func WithLocalIdleTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: WithLocalIdleTimeout(%v): must be positive", mcpsession.ErrInvalidOption, d)
		}
		c.localTTL = d
		return nil
	})
}

// WithMaxLocalSessions bounds how many go-sdk sessions a replica keeps in
// memory (DefaultMaxLocalSessions unless given). Past the bound, starting
// one closes the least recently used session that no request is using;
// like an idle close, that is local, and the session lives on in the store.
// Sessions with a request or GET stream in flight are never closed for
// room, so the bound can be passed while that many are busy at once.
func WithMaxLocalSessions(n int) Option {
	return optionFunc(func(c *config) error {
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
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: WithLogger(nil)", mcpsession.ErrInvalidOption)
		}
		c.logger = l
		return nil
	})
}

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
//     the replica that wrote it; WithEventStore installs a shared one.
func WithStreamableHTTPOptions(o mcp.StreamableHTTPOptions) Option {
	return optionFunc(func(c *config) error {
		switch {
		case o.SessionTimeout != 0:
			return fmt.Errorf("%w: StreamableHTTPOptions.SessionTimeout: use WithLocalIdleTimeout and the store's idle timeout", mcpsession.ErrInvalidOption)
		case o.EventStore != nil:
			return fmt.Errorf("%w: StreamableHTTPOptions.EventStore: not shared across replicas (use WithEventStore)", mcpsession.ErrInvalidOption)
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
	return optionFunc(func(c *config) error {
		if fn == nil {
			return fmt.Errorf("%w: WithPrincipal(nil)", mcpsession.ErrInvalidOption)
		}
		c.principal = fn
		return nil
	})
}

// tokenUser is the default principal: the UserID of the auth.TokenInfo a
// go-sdk auth middleware verified, or anonymous.
func tokenUser(r *http.Request) (string, error) {
	if ti := auth.TokenInfoFromContext(r.Context()); ti != nil {
		return ti.UserID, nil
	}
	return "", nil
}

// WithBus carries the sessions' streams and server-to-client messages
// across replicas over b, which the caller runs (one Bus per replica, over
// the store's database): see the package documentation, "Streams across
// replicas". It needs WithEventStore too. It must not be nil.
func WithBus(b *bus.Bus) Option {
	return optionFunc(func(c *config) error {
		if b == nil {
			return fmt.Errorf("%w: WithBus(nil)", mcpsession.ErrInvalidOption)
		}
		c.bus = b
		return nil
	})
}

// WithEventStore keeps the events of the sessions' SSE streams in e, so
// that any replica serves a stream's resumption (Last-Event-ID) and its
// GET stream: see WithBus, which it needs. It must not be nil.
func WithEventStore(e *eventstore.Store) Option {
	return optionFunc(func(c *config) error {
		if e == nil {
			return fmt.Errorf("%w: WithEventStore(nil)", mcpsession.ErrInvalidOption)
		}
		c.events = e
		return nil
	})
}

// withClock replaces the clock; tests use it to step past touch intervals.
func withClock(now func() time.Time) Option {
	return optionFunc(func(c *config) error {
		c.now = now
		return nil
	})
}

// RedactedLogger returns a logger for the SDK's own lines that writes
// through l's handler with every session id replaced by a digest: the SDK
// logs session ids at Info, and they are bearer credentials. Give it to the
// SDK instead of l. It also lowers to Debug the SDK's lines that read, on
// a shared store, as if a session ended when only this replica's memory of
// it did.
func RedactedLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return nil
	}
	return slog.New(adapterstate.RedactSessionIDs(l.Handler()))
}
