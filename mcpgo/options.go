package mcpgo

import (
	"fmt"
	"github.com/mcpsession/mcpsession"
	"log/slog"
	"net/http"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/eventstore"
	"github.com/mcpsession/mcpsession/internal/adapterstate"
)

// DefaultTouchInterval is the touch interval New uses when WithTouchInterval
// is not given, unless the store's idle timeout calls for a shorter one (see
// WithTouchInterval).
const DefaultTouchInterval = adapterstate.DefaultTouchInterval

// DefaultLocalIdleTTL is how long a replica keeps mcp-go's in-memory state
// of a session nobody uses when the store reports no idle timeout (see
// Sessions.HTTPOptions).
const DefaultLocalIdleTTL = adapterstate.DefaultLocalIdleTTL

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
	logger        *slog.Logger
	contextFunc   server.HTTPContextFunc
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

// WithLogger sets where the adapter logs store failures (Warn and Error).
// It must not be nil. By default the adapter logs nothing.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: WithLogger(nil)", mcpsession.ErrInvalidOption)
		}
		c.logger = l
		return nil
	})
}

// WithHTTPContextFunc sets a function that builds each request's context,
// as mcp-go's server.WithHTTPContextFunc does. mcp-go has one slot for such
// a function and Sessions.HTTPOptions fills it, so pass yours here: it runs
// after the session's state has been restored. It must not be nil.
func WithHTTPContextFunc(fn server.HTTPContextFunc) Option {
	return optionFunc(func(c *config) error {
		if fn == nil {
			return fmt.Errorf("%w: WithHTTPContextFunc(nil)", mcpsession.ErrInvalidOption)
		}
		c.contextFunc = fn
		return nil
	})
}

// WithPrincipal sets the function that gives each request's principal:
// the opaque string that owns the state handles its tool handlers create
// and use (CreateHandle and the other handle helpers), and the sessions it
// initializes. It runs once per request, in Handler, before mcp-go sees
// the request, with the *http.Request whose context your authentication
// middleware has filled; a real server returns the id of the user whose
// token that middleware verified, never an unverified header (and not the
// token itself, which changes when it is refreshed). It must not be nil.
//
// Without it, every request is the anonymous principal "": handles are
// then bearer tokens, usable by whoever holds them (mcp-go has no
// authentication context to take a default from).
//
// An error from fn answers the request 401 Unauthorized, and a principal
// mcpsession.ValidatePrincipal refuses answers it 500; neither is served
// further. A session's later requests must come from the principal that
// initialized it; another principal's, POST, GET and DELETE alike, are
// answered 403 Forbidden, as go-sdk's own handler answers them, and touch
// nothing. (Without Handler in front of mcp-go, fn runs in the context
// function and the session id manager instead: another principal's
// request is then mcp-go's 404, and a request fn fails has no principal,
// so the handle helpers return ErrNoPrincipal.)
func WithPrincipal(fn func(r *http.Request) (string, error)) Option {
	return optionFunc(func(c *config) error {
		if fn == nil {
			return fmt.Errorf("%w: WithPrincipal(nil)", mcpsession.ErrInvalidOption)
		}
		c.principal = fn
		return nil
	})
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
