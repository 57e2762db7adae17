package gosdk

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/adapter"
	"github.com/mcpsession/mcpsession/internal/httpstatus"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Sessions serves a go-sdk mcp.Server over streamable HTTP, with its
// sessions kept in a mcpsession.Store, so that every replica over the same
// store serves every session. It is the http.Handler of the MCP endpoint,
// in place of mcp.NewStreamableHTTPHandler; see the package documentation.
// It is safe for concurrent use.
type Sessions struct {
	core      *adapter.Core
	server    *mcp.Server
	stateless http.Handler // go-sdk's own handler, Stateless, for the sessionless revision
	versions  *versionProbe
	httpOpts  mcp.StreamableHTTPOptions
	logger    *slog.Logger
	localTTL  time.Duration
	maxLocal  int

	// The go-sdk sessions this replica holds in memory, at most one per
	// id: see local.go.
	mu     sync.Mutex
	locals map[string]*local
	lru    *list.List // of *local, most recently used first
	closed bool
	// closing counts the go-sdk sessions being closed in the background.
	closing sync.WaitGroup
	// down ends with Shutdown, and with it the sessionless requests in
	// flight (a subscriptions/listen stream lasts until it ends).
	down     context.Context
	shutDown context.CancelFunc
	// streams carries streams across replicas (WithStreams);
	// nil without.
	streams *streams
}

// New returns the MCP endpoint for server, with sessions in store. It adds
// receiving middleware to server (to create the stored session on
// initialize and record notifications/initialized), so give each
// mcp.Server to one Sessions, and serve that server only through it.
//
// A bad option, a nil server or store, or a touch interval that is not
// below half of the store's idle timeout is an error matching
// mcpsession.ErrInvalidOption.
func New(store mcpsession.Store, server *mcp.Server, opts ...Option) (*Sessions, error) {
	cfg := config{maxLocal: defaultMaxLocalSessions}
	cfg.Principal = tokenUser
	if err := adapter.Configure(&cfg, opts); err != nil {
		return nil, err
	}
	if server == nil {
		return nil, fmt.Errorf("%w: nil mcp.Server", mcpsession.ErrInvalidOption)
	}
	core, err := adapter.New(adapter.Config{Name: "gosdk", Store: store, Settings: cfg.Settings, RefusedState: refusedState})
	if err != nil {
		return nil, err
	}
	localTTL := cfg.localTTL
	if localTTL == 0 {
		localTTL = core.LocalTTL()
	}
	statelessOpts := cfg.httpOpts
	statelessOpts.Stateless = true
	s := &Sessions{
		core:     core,
		server:   server,
		httpOpts: cfg.httpOpts,
		logger:   core.Logger(),
		localTTL: localTTL,
		maxLocal: cfg.maxLocal,
		locals:   make(map[string]*local),
		lru:      list.New(),
		versions: newVersionProbe(server),
	}
	s.down, s.shutDown = context.WithCancel(context.Background())
	if s.streams, err = newStreams(s, cfg); err != nil {
		return nil, err
	}
	s.stateless = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, &statelessOpts)
	server.AddReceivingMiddleware(s.middleware)
	return s, nil
}

// ServeHTTP serves the MCP endpoint: requests of the sessionless revision
// (an MCP-Protocol-Version header or a _meta protocol version of
// 2026-07-28 or later) that name no session, and every request with
// go-sdk's Stateless option, through go-sdk's stateless handler, without
// touching the store but for the handles their tools use; every other
// request with the session named by its Mcp-Session-Id, read from the
// store, or (initialize) a new one (see the package documentation). Each
// request's principal (WithPrincipal) is resolved first.
func (s *Sessions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.allowed(w, r) {
		return
	}
	if s.isClosed() {
		http.Error(w, "Service Unavailable: shutting down", http.StatusServiceUnavailable)
		return
	}
	if r.Body != nil && s.httpOpts.MaxRequestBodyBytes >= 0 {
		limit := s.httpOpts.MaxRequestBodyBytes
		if limit == 0 {
			limit = mcp.DefaultMaxRequestBodyBytes
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
	}
	ctx, ok := s.core.ServePrincipal(w, r)
	if !ok {
		return
	}
	r = r.WithContext(context.WithValue(ctx, sessionsKey{}, s)) // ctx has the Core (ServePrincipal)
	if s.httpOpts.Stateless || r.Header.Get(httpstatus.HeaderSessionID) == "" && isSessionless(r.Header.Get(headerProtocolVersion)) {
		s.serveSessionless(w, r)
		return
	}
	// A request that names a session is the session's, whatever version
	// it declares, as with go-sdk's handler (which refuses the sessionless
	// revision on a session).
	if r, ok = s.versions.check(w, r); !ok {
		return
	}
	switch r.Method {
	case http.MethodPost:
		s.servePOST(w, r)
	case http.MethodGet:
		s.serveGET(w, r)
	case http.MethodDelete:
		s.serveDELETE(w, r)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
	}
}

const headerProtocolVersion = "Mcp-Protocol-Version"

// serveSessionless hands a request of the sessionless revision to go-sdk's
// stateless handler, with a context that Shutdown ends too: nothing of it
// is kept, but a subscriptions/listen stream would otherwise hold the HTTP
// server's shutdown open until its timeout.
func (s *Sessions) serveSessionless(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(s.down, cancel)
	defer stop()
	r = r.WithContext(ctx)
	if s.streams != nil && s.streams.serveListen(w, r, s.stateless.ServeHTTP) {
		return
	}
	s.stateless.ServeHTTP(w, r)
}

// allowed applies the request checks go-sdk's handler makes before any
// other: DNS rebinding protection (a request that reached a loopback
// address with a Host that is not loopback is 403, unless
// DisableLocalhostProtection) and the deprecated CrossOriginProtection.
func (s *Sessions) allowed(w http.ResponseWriter, r *http.Request) bool {
	if !s.httpOpts.DisableLocalhostProtection {
		if addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && addr != nil {
			if isLoopback(addr.String()) && !isLoopback(r.Host) {
				http.Error(w, fmt.Sprintf("Forbidden: invalid Host header %q", r.Host), http.StatusForbidden)
				return false
			}
		}
	}
	//lint:ignore SA1019 honoured as go-sdk's own handler honours it, for users who still set it.
	if cop := s.httpOpts.CrossOriginProtection; cop != nil {
		if err := cop.Check(r); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return false
		}
	}
	return true
}

// isLoopback reports whether addr (host or host:port) is localhost or a
// loopback IP, as go-sdk judges it.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// Shutdown closes every go-sdk session this replica holds in memory, which
// ends their GET streams (an http.Server's Shutdown would otherwise wait on
// them), ends the sessionless requests in flight (subscriptions/listen
// streams among them), and waits until the sessions are closed or ctx ends. The sessions stay in
// the store, for the other replicas and for this one's successor. After
// Shutdown, requests are answered 503.
func (s *Sessions) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	all := make([]*local, 0, len(s.locals))
	for _, l := range s.locals {
		all = append(all, l)
	}
	for _, l := range all {
		s.dropLocked(l)
	}
	s.closed = true // after the drops: their closes are the ones waited on
	s.mu.Unlock()
	s.shutDown()
	if s.streams != nil {
		s.streams.shutdown()
		if err := s.streams.relay.Shutdown(ctx); err != nil {
			return fmt.Errorf("gosdk: shutdown: %w", err)
		}
	}
	done := make(chan struct{})
	go func() {
		s.closing.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("gosdk: shutdown: %w", ctx.Err())
	}
}

func (s *Sessions) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// errShutdown is what acquire returns once Shutdown has begun.
var errShutdown = errors.New("gosdk: shut down")
