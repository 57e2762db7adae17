package gosdk_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
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
	store, err := sqlstore.Open(ctx, sqlite.Dialect(), "sqlite::memory:", sqlstore.WithAutoMigrate())
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
// same endpoint serves it, statelessly, and there is no session state for
// ModifyState (state handles take its place: see Example_handles).
func Example_sessionless() {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, sqlite.Dialect(), "sqlite::memory:", sqlstore.WithAutoMigrate())
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

type counterArgs struct {
	Handle string `json:"handle,omitempty" jsonschema:"a counter's handle, from an earlier call; omit it to start one"`
}

type handleCount struct {
	Count  int    `json:"count"`
	Handle string `json:"handle"`
}

// countOn is a handle-based tool: without a handle it creates a counter
// and returns its handle; with one it counts on it, under the handle's
// lock, on any replica. An unknown, expired or another principal's handle
// is a tool error, not a protocol error.
func countOn(ctx context.Context, _ *mcp.CallToolRequest, in counterArgs) (*mcp.CallToolResult, handleCount, error) {
	if in.Handle == "" {
		h, err := gosdk.CreateHandle(ctx, map[string]any{"counter": 1})
		return nil, handleCount{Count: 1, Handle: h}, err
	}
	var n float64
	err := gosdk.ModifyHandle(ctx, in.Handle, func(state map[string]any) (map[string]any, error) {
		n, _ = state["counter"].(float64)
		n++
		state["counter"] = n
		return state, nil
	})
	if errors.Is(err, mcpsession.ErrHandleNotFound) {
		return nil, handleCount{}, errors.New("no such counter: start a new one") // returned as a tool error
	}
	return nil, handleCount{Count: int(n), Handle: in.Handle}, err
}

// The sessionless revision keeps state in handles: go-sdk's client at its
// defaults starts a counter on one replica and counts on it on both,
// behind a round-robin balancer.
func Example_handles() {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, sqlite.Dialect(), "sqlite::memory:", sqlstore.WithAutoMigrate())
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	lb := &roundRobin{}
	for range 2 {
		server := mcp.NewServer(&mcp.Implementation{Name: "counter", Version: "1.0.0"}, nil)
		mcp.AddTool(server, &mcp.Tool{Name: "count"}, countOn)
		sessions, err := gosdk.New(store, server) // the principal: the auth.TokenInfo user, or anonymous
		if err != nil {
			log.Fatal(err)
		}
		srv := httptest.NewServer(sessions)
		defer srv.Close()
		defer sessions.Shutdown(ctx)
		u, _ := url.Parse(srv.URL)
		lb.replicas = append(lb.replicas, u)
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "example", Version: "1.0.0"}, nil)
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:   "http://service/mcp",
		HTTPClient: &http.Client{Transport: lb},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer session.Close()

	call := func(handle string) *mcp.CallToolResult {
		res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "count", Arguments: counterArgs{Handle: handle}})
		if err != nil {
			log.Fatal(err)
		}
		return res
	}
	handle := call("").StructuredContent.(map[string]any)["handle"].(string)
	var counts []string
	for range 2 {
		counts = append(counts, fmt.Sprint(call(handle).StructuredContent.(map[string]any)["count"]))
	}
	fmt.Println("counts after 1:", strings.Join(counts, " "))
	fmt.Println("an unknown handle is a tool error:", call(mcpsession.NewID()).IsError)
	// Output:
	// counts after 1: 2 3
	// an unknown handle is a tool error: true
}
