package mcpgo

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/eventstore"
	"github.com/mcpsession/mcpsession/internal/adapter"
	"github.com/mcpsession/mcpsession/internal/logredact"
	"github.com/mcpsession/mcpsession/tasks"
)

// An Option configures a Sessions. Each rejects a bad argument with an
// error matching mcpsession.ErrInvalidOption, which New returns; for an
// option given twice, the last one wins.
type Option = adapter.Option[config]

type config struct {
	adapter.Settings
	contextFunc server.HTTPContextFunc
	tasks       *tasks.Store
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

// WithLogger sets where the adapter logs store failures (Warn and Error).
// It must not be nil. By default the adapter logs nothing.
func WithLogger(l *slog.Logger) Option { return adapter.Share[config](adapter.WithLogger(l)) }

// WithHTTPContextFunc sets a function that builds each request's context,
// as mcp-go's server.WithHTTPContextFunc does. mcp-go has one slot for such
// a function and Sessions.HTTPOptions fills it, so pass yours here: it runs
// after the session's state has been restored. It must not be nil.
func WithHTTPContextFunc(fn server.HTTPContextFunc) Option {
	return adapter.Own(func(c *config) error {
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
	return adapter.Share[config](adapter.WithPrincipal(fn))
}

// Principal returns the principal of ctx's request, as the function given
// to WithPrincipal gave it ("" for the anonymous principal), or an error
// matching ErrNoPrincipal.
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

// WithTasks keeps the tasks of mcp-go's task tools (AddTaskTool, and tools
// whose Execution.TaskSupport allows tasks) in ts, so that any replica
// answers for any task: tasks/get, tasks/list, tasks/result and
// tasks/cancel are answered from the store, a cancel reaches the replica
// running the task, and a task whose replica died fails once its lease
// lapses. See the package documentation, "Tasks on any replica". It needs
// Handler in front of mcp-go and ServerOptions (which installs mcp-go's
// task hooks); ts must not be nil.
func WithTasks(ts *tasks.Store) Option {
	return adapter.Own(func(c *config) error {
		if ts == nil {
			return fmt.Errorf("%w: WithTasks(nil)", mcpsession.ErrInvalidOption)
		}
		c.tasks = ts
		return nil
	})
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
