//lint:file-ignore SA1019 the tests exercise the session-based revisions, whose roots, sampling and logging the sessionless one deprecates.

package gosdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// pinTransport sends initialize to one replica and every later request to
// another, as a load balancer that routes by Mcp-Session-Id would once the
// session exists.
type pinTransport struct {
	initTo, restTo *url.URL
}

func (p pinTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	target := p.restTo
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte(`"method":"initialize"`)) {
			target = p.initTo
		}
	}
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = target.Scheme, target.Host
	req.Host = target.Host
	return http.DefaultTransport.RoundTrip(req)
}

// A server-to-client request (roots/list) works on a replica that made its
// go-sdk session from the store, as long as the client's answer comes back
// to that replica: the request waits in that replica's memory.
func TestServerToClientOnRecreatedSession(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		a := newReplica(t, "a", testdb.OpenStore(t, dsn))
		b := newReplica(t, "b", testdb.OpenStore(t, dsn))
		b.sessions.server.AddTool(tool("roots"), func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			res, err := req.Session.ListRoots(ctx, nil)
			if err != nil {
				return nil, err
			}
			return text(fmt.Sprint(len(res.Roots), " ", res.Roots[0].URI)), nil
		})
		ua, _ := url.Parse(a.srv.URL)
		ub, _ := url.Parse(b.srv.URL)
		c := mcp.NewClient(&mcp.Implementation{Name: "roots-client", Version: "1"}, nil)
		c.AddRoots(&mcp.Root{URI: "file:///work"})
		session, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{
			Endpoint:   a.url,
			HTTPClient: &http.Client{Transport: pinTransport{initTo: ua, restTo: ub}},
		}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
		if err != nil {
			t.Fatal(err)
		}
		defer session.Close()
		if got := toolVia(t, session, "roots", nil); got != "1 file:///work" {
			t.Errorf("roots/list from b, which made the session from the store: %q", got)
		}
		if n := a.sessions.localCount(); n != 1 {
			t.Errorf("a holds %d go-sdk sessions; want 1 (the one initialize made)", n)
		}
	})
}

// bearer adds a bearer token to every request, as a client that has
// signed in does.
type bearer string

func (b bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(req)
}

// Without WithPrincipal, the principal is the user of go-sdk's
// auth.TokenInfo: behind go-sdk's RequireBearerToken, the real client at
// its defaults and pinned to a session acts for its token's user, whose
// handles another user cannot use, and a session's request with another
// user's token is 403, as go-sdk's own handler answers it.
func TestPrincipalFromTokenInfo(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		server := mcp.NewServer(&mcp.Implementation{Name: "auth", Version: "1.0.0"}, nil)
		sessions, err := New(testdb.OpenStore(t, dsn), server)
		if err != nil {
			t.Fatal(err)
		}
		addTestTools(server, "auth")
		verify := func(_ context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
			user, ok := strings.CutPrefix(token, "token-of-")
			if !ok {
				return nil, auth.ErrInvalidToken
			}
			return &auth.TokenInfo{UserID: user, Expiration: time.Now().Add(time.Hour)}, nil
		}
		srv := httptest.NewServer(auth.RequireBearerToken(verify, nil)(sessions))
		t.Cleanup(func() {
			srv.CloseClientConnections()
			_ = sessions.Shutdown(context.Background())
			srv.Close()
		})
		connect := func(token string, opts *mcp.ClientSessionOptions) *mcp.ClientSession {
			c := mcp.NewClient(&mcp.Implementation{Name: "auth-client", Version: "1"}, nil)
			s, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{
				Endpoint: srv.URL, HTTPClient: &http.Client{Transport: bearer(token)},
			}, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		modern := connect("token-of-alice", nil)
		if got := toolVia(t, modern, "handle", map[string]any{"op": "principal"}); got != `"alice"` {
			t.Errorf("principal at the client's defaults: %s; want the token's user", got)
		}
		var h string
		if err := json.Unmarshal([]byte(toolVia(t, modern, "handle", map[string]any{"op": "create"})), &h); err != nil {
			t.Fatal(err)
		}
		pinned := connect("token-of-alice", &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
		if pinned.ID() == "" {
			t.Fatal("the pinned client has no session")
		}
		if got := toolVia(t, pinned, "handle", map[string]any{"op": "count", "handle": h}); got != "1" {
			t.Errorf("count on alice's handle in her session: %s; want 1", got)
		}
		bob := connect("token-of-bob", nil)
		if got := toolVia(t, bob, "handle", map[string]any{"op": "count", "handle": h}); got != "error: "+mcpsession.ErrHandleNotFound.Error() {
			t.Errorf("bob's count on alice's handle: %s", got)
		}
		header := http.Header{"Authorization": {"Bearer token-of-bob"}}
		if status, body := adaptertest.CallWith(t, srv.URL, pinned.ID(), header, "tools/list", nil); status != http.StatusForbidden {
			t.Errorf("alice's session with bob's token: %d %s; want 403", status, body)
		}
		if got := toolVia(t, pinned, "handle", map[string]any{"op": "count", "handle": h}); got != "2" {
			t.Errorf("alice's next count: %s; want 2", got)
		}
	})
}
