package gosdk_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/mcpsession/mcpsession/gosdk"
	"github.com/mcpsession/mcpsession/sqlstore"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type counterResult struct {
	Count int `json:"count"`
}

// count is a tool that increments the session's counter: ModifyState runs
// the read and the write as one step under the session's lock, on any
// replica.
func count(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, counterResult, error) {
	var n float64
	err := gosdk.ModifyState(ctx, func(state map[string]any) (map[string]any, error) {
		n, _ = state["counter"].(float64) // JSON numbers come back as float64
		n++
		state["counter"] = n
		return state, nil
	})
	return nil, counterResult{Count: int(n)}, err
}

// roundRobin sends each request to the next replica, as a load balancer
// without sticky sessions does.
type roundRobin struct {
	replicas []*url.URL
	next     atomic.Int64
}

func (rr *roundRobin) RoundTrip(req *http.Request) (*http.Response, error) {
	target := rr.replicas[int(rr.next.Add(1)-1)%len(rr.replicas)]
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host, req.Host = target.Scheme, target.Host, target.Host
	return http.DefaultTransport.RoundTrip(req)
}

// Two replicas share one store, behind a round-robin balancer; go-sdk's
// client, pinned to a session-based revision, counts on both.
func Example() {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, "sqlite::memory:", sqlstore.WithAutoMigrate())
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	// Each replica: its own mcp.Server and Sessions, over the same store.
	lb := &roundRobin{}
	for range 2 {
		server := mcp.NewServer(&mcp.Implementation{Name: "counter", Version: "1.0.0"}, nil)
		mcp.AddTool(server, &mcp.Tool{Name: "counter"}, count)
		sessions, err := gosdk.New(store, server)
		if err != nil {
			log.Fatal(err)
		}
		srv := httptest.NewServer(sessions)
		defer srv.Close()
		defer sessions.Shutdown(ctx) // ends its streams; the sessions stay in the store
		u, _ := url.Parse(srv.URL)
		lb.replicas = append(lb.replicas, u)
	}

	// go-sdk's client speaks the sessionless revision unless pinned.
	client := mcp.NewClient(&mcp.Implementation{Name: "example", Version: "1.0.0"}, nil)
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:   "http://service/mcp",
		HTTPClient: &http.Client{Transport: lb},
	}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		log.Fatal(err)
	}
	defer session.Close() // sends DELETE: the session ends for every replica

	var counts []string
	for range 4 {
		res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "counter"})
		if err != nil {
			log.Fatal(err)
		}
		counts = append(counts, fmt.Sprint(res.StructuredContent.(map[string]any)["count"]))
	}
	fmt.Println(strings.Join(counts, " "))
	// Output: 1 2 3 4
}

// At its defaults, go-sdk's client speaks the sessionless revision: the
// same endpoint serves it, statelessly, and the store is never used, so
// there is no session state for ModifyState.
func Example_sessionless() {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, "sqlite::memory:", sqlstore.WithAutoMigrate())
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	server := mcp.NewServer(&mcp.Implementation{Name: "counter", Version: "1.0.0"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "counter"}, count)
	sessions, err := gosdk.New(store, server)
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(sessions)
	defer srv.Close()

	client := mcp.NewClient(&mcp.Implementation{Name: "example", Version: "1.0.0"}, nil)
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer session.Close()
	fmt.Println("protocol", session.InitializeResult().ProtocolVersion, "session id", fmt.Sprintf("%q", session.ID()))
	res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "counter"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("counter is an error:", res.IsError)
	// Output:
	// protocol 2026-07-28 session id ""
	// counter is an error: true
}
