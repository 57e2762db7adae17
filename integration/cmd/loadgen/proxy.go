package main

import (
	"context"
	"errors"
	"hash/fnv"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// proxy is the fleet's load balancer, in the generator's process: it
// spreads requests over the replicas round-robin, or, sticky, sends every
// request of a legacy session (by Mcp-Session-Id) and every sessionless
// request of a principal (by its Authorization header) to one replica,
// which is what a fleet that keeps sessions in memory needs.
type proxy struct {
	backends []*url.URL
	sticky   bool
	next     atomic.Uint64
	errors   atomic.Int64

	mu       sync.Mutex
	sessions map[string]int // sticky: session id → replica

	srv *http.Server
	ln  net.Listener
	tr  *http.Transport
}

type backendKey struct{}

func startProxy(backends []string, sticky bool) (*proxy, error) {
	p := &proxy{sticky: sticky, sessions: map[string]int{}, tr: newTransport()}
	for _, b := range backends {
		u, err := url.Parse(b)
		if err != nil {
			return nil, err
		}
		p.backends = append(p.backends, u)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			i := p.pick(pr.In)
			pr.SetURL(p.backends[i])
			pr.Out.Host = pr.In.Host
			pr.Out = pr.Out.WithContext(context.WithValue(pr.Out.Context(), backendKey{}, i))
		},
		ModifyResponse: p.learn,
		// A client that closes its GET stream is the generator's own doing.
		ErrorLog:      log.New(io.Discard, "", 0),
		Transport:     p.tr,
		FlushInterval: -1, // SSE: every write goes out at once
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() == nil {
				p.errors.Add(1)
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.ln = ln
	p.srv = &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// url is the fleet's MCP endpoint.
func (p *proxy) url() string { return "http://" + p.ln.Addr().String() + "/mcp" }

// pick chooses the replica for r.
func (p *proxy) pick(r *http.Request) int {
	n := len(p.backends)
	if !p.sticky || n == 1 {
		return int(p.next.Add(1) % uint64(n))
	}
	if sid := r.Header.Get("Mcp-Session-Id"); sid != "" {
		p.mu.Lock()
		i, ok := p.sessions[sid]
		p.mu.Unlock()
		if ok {
			return i
		}
		return hashTo(sid, n)
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		return hashTo(auth, n)
	}
	return int(p.next.Add(1) % uint64(n))
}

// learn, when sticky, remembers which replica created a session, and
// forgets it when the session is deleted.
func (p *proxy) learn(resp *http.Response) error {
	if !p.sticky {
		return nil
	}
	i, _ := resp.Request.Context().Value(backendKey{}).(int)
	asked := resp.Request.Header.Get("Mcp-Session-Id")
	switch {
	case asked == "" && resp.Header.Get("Mcp-Session-Id") != "":
		p.mu.Lock()
		p.sessions[resp.Header.Get("Mcp-Session-Id")] = i
		p.mu.Unlock()
	case asked != "" && resp.Request.Method == http.MethodDelete:
		p.mu.Lock()
		delete(p.sessions, asked)
		p.mu.Unlock()
	}
	return nil
}

func hashTo(s string, n int) int {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return int(h.Sum64() % uint64(n))
}

func (p *proxy) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := p.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = p.srv.Close() // GET streams still open
	}
	p.tr.CloseIdleConnections()
	return err
}
