package mcpgo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/adapter"
	"github.com/mcpsession/mcpsession/internal/memo"
	"github.com/mcpsession/mcpsession/internal/principal"
	"github.com/mcpsession/mcpsession/internal/record"
	itasks "github.com/mcpsession/mcpsession/internal/tasks"
)

// Sessions keeps the sessions of an mcp-go streamable-HTTP server in a
// mcpsession.Store, so that every replica over the same store serves every
// session. Wire it with ServerOptions (or RegisterHooks), HTTPOptions and
// Handler; see the package documentation. It is safe for concurrent use.
type Sessions struct {
	core        *adapter.Core
	logger      *slog.Logger
	contextFunc server.HTTPContextFunc
	streams     *streams    // WithStreams; nil without
	tasks       *taskRunner // WithTasks; nil without
	// server is the MCPServer whose hooks these are, as its first request
	// told them (with streams, sessions are registered on it: hold).
	server atomic.Pointer[server.MCPServer]

	// What the client info and capabilities of sessions served here
	// decoded to (see restore).
	infos *memo.Memo[mcp.Implementation]
	caps  *memo.Memo[mcp.ClientCapabilities]
}

// New returns a Sessions over store. A bad option, or a touch interval that
// is not below half of the store's idle timeout, is an error matching
// mcpsession.ErrInvalidOption.
func New(store mcpsession.Store, opts ...Option) (*Sessions, error) {
	var cfg config
	if err := adapter.Configure(&cfg, opts); err != nil {
		return nil, err
	}
	core, err := adapter.New(adapter.Config{Name: "mcpgo", Store: store, Settings: cfg.Settings, RefusedState: refusedState})
	if err != nil {
		return nil, err
	}
	s := &Sessions{
		core: core, logger: core.Logger(), contextFunc: cfg.contextFunc,
		infos: memo.New[mcp.Implementation](0),
		caps:  memo.New[mcp.ClientCapabilities](0),
	}
	if s.streams, err = newStreams(s, cfg, store); err != nil {
		return nil, err
	}
	if cfg.tasks != nil {
		s.tasks = newTaskRunner(s, (*itasks.Store)(cfg.tasks))
		if s.streams != nil {
			s.streams.events.dropTaskStatus = true
		}
	}
	return s, nil
}

// ServerOptions returns the options to pass to server.NewMCPServer:
// server.WithHooks with the adapter's hooks, which create the session in the
// store on initialize and store the log level on logging/setLevel, a
// tool handler middleware that gives the sealed-state helpers (SealState,
// OpenState) the call they seal for, and, with WithTasks,
// server.WithTaskHooks with the hooks that keep tasks in the store.
//
// mcp-go keeps one Hooks per server, so if you have hooks of your own, do
// not use ServerOptions: call RegisterHooks on your Hooks instead (with
// WithTasks, ServerOptions is still needed for the task hooks: give yours
// after it).
func (s *Sessions) ServerOptions() []server.ServerOption {
	hooks := &server.Hooks{}
	s.RegisterHooks(hooks)
	opts := []server.ServerOption{server.WithHooks(hooks), server.WithToolHandlerMiddleware(bindCall)}
	if s.tasks != nil {
		opts = append(opts, server.WithTaskHooks(s.tasks.taskHooks()))
	}
	return opts
}

// RegisterHooks adds the adapter's hooks to h, which must be the Hooks given
// to server.NewMCPServer with server.WithHooks. Use it instead of
// ServerOptions, not as well; the sealed-state helpers then need the
// options of ServerOptions after the first, its hooks.
func (s *Sessions) RegisterHooks(h *server.Hooks) {
	h.AddOnRequestInitialization(s.onRequestInitialization)
	h.AddAfterSetLevel(s.afterSetLevel)
	h.AddOnRegisterSession(s.onRegisterSession)
	h.AddOnUnregisterSession(s.onUnregisterSession)
	if s.tasks != nil {
		s.tasks.registerHooks(h)
	}
}

// HTTPOptions returns the options to pass to
// server.NewStreamableHTTPServer, after any of your own:
//
//   - server.WithSessionIdManagerResolver: session ids are minted with
//     mcpsession.NewID, checked against the store on every request that
//     carries one, and deleted from the store on a client's DELETE, but not
//     when the replica shuts down or sweeps idle sessions from its memory.
//   - server.WithHTTPContextFunc: before each handler runs, the session's
//     client info, capabilities, protocol version and log level are set on
//     the replica's session object from the store. To add a context function
//     of your own, use WithHTTPContextFunc.
//   - server.WithSessionIdleTTL, set to the store's idle timeout (or
//     30 minutes when it has none): mcp-go keeps some state of every
//     session a replica served in memory and, without this, never drops
//     that of sessions ended on another replica or abandoned. The sweep is
//     local; the store's sessions are not touched. Give your own
//     WithSessionIdleTTL after these options to change it. mcp-go judges
//     idleness by this replica's traffic only, and a GET stream counts only
//     when it sends something: if clients keep quiet GET streams open for
//     longer, also give server.WithHeartbeatInterval below it.
//
// mcp-go keeps one value for each of these, and the last option given
// wins: do not give server.WithStateLess, WithStateful,
// WithSessionIdManager, WithSessionIdManagerResolver or
// WithHTTPContextFunc after these.
func (s *Sessions) HTTPOptions() []server.StreamableHTTPOption {
	opts := []server.StreamableHTTPOption{
		server.WithSessionIdManagerResolver(resolver{s}),
		server.WithHTTPContextFunc(s.httpContext),
		server.WithSessionIdleTTL(s.core.LocalTTL()),
	}
	if s.streams != nil {
		opts = append(opts, server.WithEventStore(s.streams.events))
	}
	return opts
}

// httpContext is the HTTPContextFunc: it runs on every POST that mcp-go
// dispatches, after the session object is in ctx and before any hook or
// handler, and restores the session's state on it.
func (s *Sessions) httpContext(ctx context.Context, r *http.Request) context.Context {
	ctx = s.core.Bind(ctx)
	if _, ok, _ := principal.From(ctx); !ok && r != nil {
		// Handler is not in front of mcp-go, which would have put it there.
		if p, err := s.core.Principal(r); err != nil {
			ctx = principal.WithError(ctx, err)
		} else {
			ctx = principal.With(ctx, p)
		}
	}
	cs := server.ClientSessionFromContext(ctx)
	if cs != nil && cs.SessionID() != "" { // "": the sessionless revision
		ctx = adapter.WithSession(ctx, cs.SessionID())
		var meta map[string]any
		if st := requestStateFrom(ctx); st != nil {
			meta = st.record()
		} else if !isInitialize(r) {
			// Handler is not in front of mcp-go, so Validate had nowhere
			// to leave the record: read it again.
			meta, _ = s.core.Store().Get(ctx, cs.SessionID())
		}
		if meta != nil { // nil on initialize: nothing stored yet
			s.restore(cs, meta)
			s.hold(ctx, cs, meta)
		}
	}
	if s.contextFunc != nil {
		ctx = s.contextFunc(ctx, r)
	}
	return ctx
}

// holdRequest holds the session of a request that is not initialize
// (hold), if the context function could not: it ran before the adapter
// knew its MCPServer.
func (s *Sessions) holdRequest(ctx context.Context) {
	if s.streams == nil {
		return
	}
	cs := server.ClientSessionFromContext(ctx)
	st := requestStateFrom(ctx)
	if cs == nil || st == nil {
		return
	}
	if meta := st.record(); meta != nil {
		s.hold(ctx, cs, meta)
	}
}

// isInitialize is a cheap guess used only on the path without Handler; a
// wrong guess costs one read.
func isInitialize(r *http.Request) bool {
	return r != nil && r.Header.Get(server.HeaderKeySessionID) == ""
}

// errNotCreated is what the client reads in the JSON-RPC error when
// initialize could not create the session; the store's error is logged,
// not sent.
var errNotCreated = errors.New("session store unavailable: the session was not created")

// onRequestInitialization creates the store record on initialize. It runs
// before the handler and, unlike the After hooks, can fail the request, so a
// client never receives a session id the store does not know.
func (s *Sessions) onRequestInitialization(ctx context.Context, _ any, message any) error {
	if s.server.Load() == nil {
		if ms := server.ServerFromContext(ctx); ms != nil {
			s.server.CompareAndSwap(nil, ms)
		}
	}
	raw, ok := message.(json.RawMessage)
	if !ok || !mayBeInitialize(raw) {
		s.holdRequest(ctx)
		return nil
	}
	var head struct {
		Method string `json:"method"`
	}
	if json.Unmarshal(raw, &head) != nil || head.Method != string(mcp.MethodInitialize) {
		s.holdRequest(ctx)
		return nil
	}
	cs := server.ClientSessionFromContext(ctx)
	if cs == nil || cs.SessionID() == "" {
		return nil
	}
	var req mcp.InitializeRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil // mcp-go answers the malformed request itself
	}
	st := requestStateFrom(ctx)
	if st != nil && !st.markCreated() {
		return nil // hooks registered twice
	}
	who, err := principal.Of(ctx)
	if err != nil {
		return err // no session for nobody
	}
	meta := negotiated(&req)
	meta[record.KeyPrincipal] = who
	if err := s.core.Create(ctx, cs.SessionID(), meta); err != nil {
		s.core.StoreFailed(ctx, "creating a session", err)
		if st != nil {
			st.fail(err)
		}
		return errNotCreated
	}
	return nil
}

// mayBeInitialize reports whether raw, a JSON-RPC message, can be an
// initialize request, which only then is worth decoding: its method is
// spelled out, or written with escapes.
func mayBeInitialize(raw []byte) bool {
	return bytes.Contains(raw, []byte(mcp.MethodInitialize)) || bytes.IndexByte(raw, '\\') >= 0
}

// afterSetLevel stores the level mcp-go accepted. It runs only when
// logging/setLevel succeeded; if the write fails, Handler turns the
// response into a 503 so the client knows the level did not stick.
func (s *Sessions) afterSetLevel(ctx context.Context, _ any, msg *mcp.SetLevelRequest, _ *mcp.EmptyResult) {
	cs := server.ClientSessionFromContext(ctx)
	if cs == nil || cs.SessionID() == "" || msg == nil {
		return
	}
	if err := s.core.Write(ctx, cs.SessionID(), map[string]any{keyLogLevel: string(msg.Params.Level)}); err != nil {
		s.core.StoreFailed(ctx, "storing the log level", err)
		if st := requestStateFrom(ctx); st != nil {
			st.fail(err)
		}
	}
}

// onRegisterSession restores state on a session mcp-go registers for a GET
// stream on a replica that did not serve initialize, so notifications sent
// on that stream see the right log level.
func (s *Sessions) onRegisterSession(ctx context.Context, cs server.ClientSession) {
	if st := requestStateFrom(ctx); st != nil {
		if meta := st.record(); meta != nil {
			s.restore(cs, meta)
		}
	}
}

// onUnregisterSession fires whenever mcp-go drops a session from this
// replica's memory: a DELETE, an idle sweep, a shutdown, the end of a GET
// stream. It forgets local bookkeeping only, never the stored session.
func (s *Sessions) onUnregisterSession(_ context.Context, cs server.ClientSession) {
	if s.streams != nil {
		s.streams.forget(cs.SessionID())
	}
	s.core.Forget(cs.SessionID())
	s.infos.Forget(cs.SessionID())
	s.caps.Forget(cs.SessionID())
}
