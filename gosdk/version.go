package gosdk

import (
	"context"
	"net/http"
	"slices"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// versionProbe makes go-sdk's own check of a request's MCP-Protocol-Version
// header, and gets go-sdk's transport the version it checked.
//
// go-sdk's StreamableHTTPHandler checks the header against the server's
// versions (ServerOptions.SupportedProtocolVersions narrows them, and
// nothing outside go-sdk can read them) and hands the version to its
// StreamableServerTransport in a context key of its own. The transport
// decides by it what a stream carries: the priming event of a POST's
// stream and the close event of CloseSSEStream (2025-11-25 and later, so
// that go-sdk's client can resume the stream), batches (refused from
// 2025-06-18), the refusal of the sessionless revision on a session
// (-32022). A transport served from outside that handler sees no version
// and treats every request as 2025-03-26.
//
// So the adapter asks go-sdk's handler itself: a stateless handler of the
// same server serves a bodiless probe request carrying the header. It
// answers a version it refuses as go-sdk does, status and body; for one it
// accepts, it calls its getServer a second time with the request's context
// holding the version, which the probe keeps (carrier) and returns nil, so
// that nothing is served. The request the adapter hands its transport
// then sees the carrier's values after its own (versionContext).
type versionProbe struct {
	handler http.Handler

	mu        sync.Mutex
	carriers  map[string]context.Context // by accepted version that go-sdk knows
	reference context.Context            // the first carrier, whatever its version
}

type probeKey struct{}

// probeCall is one probe's: how often go-sdk asked for the server, and the
// context it asked with the second time.
type probeCall struct {
	asked   int
	carrier context.Context
}

func newVersionProbe(server *mcp.Server) *versionProbe {
	p := &versionProbe{carriers: make(map[string]context.Context)}
	p.handler = mcp.NewStreamableHTTPHandler(func(r *http.Request) *mcp.Server {
		c, _ := r.Context().Value(probeKey{}).(*probeCall)
		if c == nil {
			return nil
		}
		c.asked++
		if c.asked == 1 {
			return server // the versions the header is checked against
		}
		c.carrier = r.Context()
		return nil
	}, &mcp.StreamableHTTPOptions{Stateless: true, DisableLocalhostProtection: true, MaxRequestBodyBytes: -1})
	return p
}

// check answers r as go-sdk does when it refuses r's protocol version
// header, and otherwise returns r with go-sdk's transport's view of that
// version. ok is false when the answer has been written.
func (p *versionProbe) check(w http.ResponseWriter, r *http.Request) (_ *http.Request, ok bool) {
	version := r.Header.Get(headerProtocolVersion)
	if version == "" {
		return r, true // what go-sdk's transport assumes without one
	}
	p.mu.Lock()
	carrier := p.carriers[version]
	p.mu.Unlock()
	if carrier == nil {
		c := &probeCall{}
		probe, err := http.NewRequestWithContext(context.WithValue(context.Background(), probeKey{}, c), http.MethodPost, "/", http.NoBody)
		if err != nil {
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			return nil, false
		}
		probe.Header.Set("Content-Type", "application/json")
		probe.Header.Set("Accept", "application/json, text/event-stream")
		probe.Header.Set(headerProtocolVersion, version)
		rec := &syncRecorder{header: make(http.Header)}
		p.handler.ServeHTTP(rec, probe)
		if c.carrier == nil {
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.status)
			_, _ = w.Write([]byte(rec.body.String()))
			return nil, false
		}
		carrier = c.carrier
		p.mu.Lock()
		if p.reference == nil {
			p.reference = carrier
		}
		if slices.Contains(mcp.SupportedProtocolVersions(), version) {
			p.carriers[version] = carrier // not other strings: any date from 2026-07-28 on passes
		}
		p.mu.Unlock()
	}
	return r.WithContext(versionContext{Context: r.Context(), carrier: carrier}), true
}

// versionContext is a request's context that also holds what go-sdk's
// handler put in a probe's (the protocol version, under go-sdk's key):
// values are looked up in the request's context first.
type versionContext struct {
	context.Context
	carrier context.Context
}

func (c versionContext) Value(key any) any {
	if v := c.Context.Value(key); v != nil {
		return v
	}
	return c.carrier.Value(key)
}

// withoutVersion returns ctx without what check added: the context a
// go-sdk session is connected with must hold no protocol version, since
// go-sdk reads the session's (in every handler's context) to decide, for
// the session's whole life on this replica, whether the event store keeps
// what it writes. It hides the keys of a carrier, which hold nothing else.
func (p *versionProbe) withoutVersion(ctx context.Context) context.Context {
	p.mu.Lock()
	reference := p.reference
	p.mu.Unlock()
	if reference == nil {
		return ctx // no version was ever checked: none can be in ctx
	}
	return hiddenVersion{Context: ctx, reference: reference}
}

type hiddenVersion struct {
	context.Context
	reference context.Context
}

func (c hiddenVersion) Value(key any) any {
	if c.reference.Value(key) != nil {
		return nil
	}
	return c.Context.Value(key)
}
