//lint:file-ignore SA1019 the tests exercise the session-based revisions, whose roots, sampling and logging the sessionless one deprecates.

package gosdk

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/mcpsession/mcpsession/internal/testdb"
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
