//lint:file-ignore SA1019 sampling and the GET stream are deprecated only from the sessionless revision on; sessions still use them.

package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The streams across replicas with raw HTTP, for each SDK, on a SQLite
// file (the bus polls) and Postgres (LISTEN/NOTIFY): sample on one replica
// answered on the other, notify reaching the GET stream open on the
// other, Last-Event-ID on the other replaying what a dropped stream
// missed, DELETE on one ending the GET stream on the other
// (adaptertest.RunStreams, with the example's own tools).
func TestE2EStreamsRawHTTP(t *testing.T) {
	t.Parallel()
	for _, sdk := range sdkNames() {
		t.Run(sdk, func(t *testing.T) {
			t.Parallel()
			adaptertest.RunStreams(t, adaptertest.StreamsAdapter{
				Serve: func(t *testing.T, _, dsn string) adaptertest.StreamsReplica {
					c := &cluster{t: t, sdk: sdk, dsn: dsn, idle: testIdle}
					r := c.start()
					t.Cleanup(func() {
						c.replicas[0] = r
						c.stop(0)
					})
					return adaptertest.StreamsReplica{URL: r.url}
				},
				DeleteStatus: deleteStatus[sdk],
				// Each adapter opens GET streams as its SDK does (mcp-go:
				// no event; go-sdk: a comment), and go-sdk's numbers its
				// requests as go-sdk numbers them.
				CommentFirst: sdk == "go-sdk",
				QuietGET:     sdk == "mcp-go",
				NumberedIDs:  sdk == "go-sdk",
			})
		})
	}
}

// samplingClient is a real client library with a sampling handler, pinned
// to 2025-11-25 (sampling needs a session).
type samplingClient struct {
	name string
	// connect connects through url; sampled answers each sampling request
	// with "sampled: " and its prompt; notified gets the data of each
	// notifications/message.
	connect func(t *testing.T, url string, notified func(data string)) sampler
}

type sampler interface {
	sample(prompt string) (string, error)
	notify(message string) error
}

var samplingClients = []samplingClient{
	{"go-sdk", connectGoSDKSampling},
	{"mcp-go", connectMCPGoSampling},
}

// The real go-sdk and mcp-go clients, with a sampling handler, through a
// round-robin proxy over two replicas: sample completes. Then, routed so,
// every call runs on a and every answer is POSTed to b: the answer crosses
// the bus to the handler waiting on a.
func TestE2ERealClientsSample(t *testing.T) {
	t.Parallel()
	eachCluster(t, func(t *testing.T, sdk, dsn string) {
		for _, sc := range samplingClients {
			t.Run(sc.name, func(t *testing.T) {
				c := newCluster(t, sdk, dsn, testIdle)
				cl := sc.connect(t, c.url, func(string) {})
				sample := func(i int) {
					t.Helper()
					prompt := fmt.Sprintf("prompt %d", i)
					got, err := cl.sample(prompt)
					if err != nil || got != "sampled: "+prompt {
						t.Fatalf("sample(%q) = %q, %v", prompt, got, err)
					}
				}
				for i := range 4 {
					sample(i)
				}
				var next atomic.Int64
				c.routeBy(func(method string) int {
					switch method {
					case "tools/call":
						return 0
					case "", http.MethodGet: // a client's answer has no method
						return 1
					}
					return int(next.Add(1) % 2)
				})
				c.hops()
				const crossed = 4
				for i := range crossed {
					sample(10 + i)
				}
				// An answer's own exchange may end after the call it
				// unblocked has: with mcp-go the answer's status comes from
				// the replica that asked, over the bus, and mcp-go's client
				// drops its answer's request once the call completed (the
				// proxy then records a 502 for it).
				adaptertest.Eventually(t, 10*time.Second, "the answers' hops", func() bool {
					c.logMu.Lock()
					defer c.logMu.Unlock()
					n := 0
					for _, h := range c.log {
						if h.rpcMethod == "" && h.replica == 1 && (h.status == http.StatusAccepted || sdk == "mcp-go" && h.status == http.StatusBadGateway) {
							n++
						}
					}
					return n == crossed
				})
				var calls int
				for _, h := range c.hops() {
					if h.rpcMethod == "tools/call" && h.replica == 0 && h.status == http.StatusOK {
						calls++
					}
				}
				if calls != crossed {
					t.Fatalf("%d sample calls on a; want %d", calls, crossed)
				}
				t.Logf("4 sample calls round-robin; then %d calls on a whose answers were POSTed to b (202) all completed", crossed)
			})
		}
	})
}

// The real go-sdk client's GET stream on a replica that dies: the client
// resumes it on the other (Last-Event-ID) and misses nothing that was sent
// meanwhile.
func TestE2EResumeAfterReplicaKilled(t *testing.T) {
	t.Parallel()
	eachCluster(t, func(t *testing.T, sdk, dsn string) {
		c := newCluster(t, sdk, dsn, testIdle)
		const a, b = 0, 1
		// GETs to b until it dies; everything else to a.
		c.routeBy(func(method string) int {
			if method == http.MethodGet {
				return b
			}
			return a
		})
		var mu sync.Mutex
		var got []string
		more := make(chan struct{}, 16)
		// A GET held while the test sends what the client must not miss.
		hold := make(chan struct{})
		var resumedWith string
		holdGETs := func(r *http.Request) {
			if r.Method == http.MethodGet && r.Header.Get("Last-Event-ID") != "" {
				mu.Lock()
				resumedWith = r.Header.Get("Last-Event-ID")
				mu.Unlock()
				<-hold
			}
		}
		c.before.Store(&holdGETs)
		cl := connectGoSDKSampling(t, c.url, func(data string) {
			mu.Lock()
			got = append(got, data)
			mu.Unlock()
			more <- struct{}{}
		})
		await := func(n int) {
			t.Helper()
			for {
				mu.Lock()
				have := len(got)
				mu.Unlock()
				if have >= n {
					return
				}
				select {
				case <-more:
				case <-time.After(30 * time.Second):
					t.Fatalf("%d notifications within 30s; want %d", have, n)
				}
			}
		}
		// The client opens its GET stream after initialize; a notification
		// that arrives proves it is open (on b).
		adaptertest.Eventually(t, 30*time.Second, "the GET stream open on b", func() bool {
			return c.replica(b).store != nil && gotGET(c)
		})
		if err := cl.notify("m1"); err != nil {
			t.Fatal(err)
		}
		await(1)
		c.routeBy(func(string) int { return a })
		c.kill(b)
		for _, m := range []string{"m2", "m3"} {
			if err := cl.notify(m); err != nil {
				t.Fatal(err)
			}
		}
		close(hold)
		await(3)
		if err := cl.notify("m4"); err != nil {
			t.Fatal(err)
		}
		await(4)
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(got, []string{"m1", "m2", "m3", "m4"}) {
			t.Fatalf("notifications %v; want m1 m2 m3 m4, each once, in order", got)
		}
		if resumedWith == "" {
			t.Error("the client did not resume with Last-Event-ID")
		}
		t.Logf("b killed holding the GET stream; the client resumed on a with Last-Event-ID %s: %v", resumedWith, got)
	})
}

// gotGET reports whether the proxy has forwarded a GET that was accepted.
func gotGET(c *cluster) bool {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	for _, h := range c.log {
		if h.rpcMethod == http.MethodGet && h.status == http.StatusOK {
			return true
		}
	}
	return false
}

// ---- go-sdk's client, sampling ---------------------------------------------------

type goSDKSampler struct{ s *mcp.ClientSession }

func connectGoSDKSampling(t *testing.T, url string, notified func(string)) sampler {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "e2e-sampler", Version: "1.0.0"}, &mcp.ClientOptions{
		CreateMessageHandler: func(_ context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			return &mcp.CreateMessageResult{Role: "assistant", Model: "test", Content: &mcp.TextContent{Text: "sampled: " + promptOf(req.Params)}}, nil
		},
		LoggingMessageHandler: func(_ context.Context, req *mcp.LoggingMessageRequest) {
			if s, ok := req.Params.Data.(string); ok {
				notified(s)
			}
		},
	})
	s, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: url}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatalf("go-sdk client: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return goSDKSampler{s}
}

func promptOf(p *mcp.CreateMessageParams) string {
	if p == nil || len(p.Messages) == 0 {
		return ""
	}
	text, _ := p.Messages[0].Content.(*mcp.TextContent)
	if text == nil {
		return ""
	}
	return text.Text
}

func (g goSDKSampler) call(name string, args map[string]any) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := g.s.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		return "", err
	}
	if len(res.Content) == 0 {
		return "", errors.New("empty tool result")
	}
	text, _ := res.Content[0].(*mcp.TextContent)
	if text == nil {
		return "", fmt.Errorf("tool result %T", res.Content[0])
	}
	if res.IsError {
		return "", errors.New(text.Text)
	}
	return text.Text, nil
}

func (g goSDKSampler) sample(prompt string) (string, error) {
	return g.call(sampleTool, map[string]any{"prompt": prompt})
}

func (g goSDKSampler) notify(message string) error {
	_, err := g.call(notifyTool, map[string]any{"message": message})
	return err
}

// ---- mcp-go's client, sampling ---------------------------------------------------

type mcpgoSampler struct{ c *client.Client }

type echoSampler struct{}

func (echoSampler) CreateMessage(_ context.Context, req mcpgo.CreateMessageRequest) (*mcpgo.CreateMessageResult, error) {
	var prompt string
	if len(req.Messages) > 0 {
		if text, ok := req.Messages[0].Content.(mcpgo.TextContent); ok {
			prompt = text.Text
		}
	}
	return &mcpgo.CreateMessageResult{
		SamplingMessage: mcpgo.SamplingMessage{Role: mcpgo.RoleAssistant, Content: mcpgo.NewTextContent("sampled: " + prompt)},
		Model:           "test",
	}, nil
}

// connectMCPGoSampling connects mcp-go's client with continuous listening:
// mcp-go's server sends sampling requests on the GET stream.
func connectMCPGoSampling(t *testing.T, url string, notified func(string)) sampler {
	t.Helper()
	tr, err := transport.NewStreamableHTTP(url, transport.WithContinuousListening())
	if err != nil {
		t.Fatal(err)
	}
	c := client.NewClient(tr, client.WithProtocolVersion(mcpgo.LATEST_LEGACY_PROTOCOL_VERSION), client.WithSamplingHandler(echoSampler{}))
	c.OnNotification(func(n mcpgo.JSONRPCNotification) {
		if n.Method == "notifications/message" {
			if s, ok := n.Params.AdditionalFields["data"].(string); ok {
				notified(s)
			}
		}
	})
	t.Cleanup(func() { c.Close() })
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Initialize(context.Background(), mcpgo.InitializeRequest{Params: mcpgo.InitializeParams{
		ClientInfo: mcpgo.Implementation{Name: "e2e-sampler", Version: "1.0.0"},
	}}); err != nil {
		t.Fatalf("mcp-go client: %v", err)
	}
	return mcpgoSampler{c}
}

func (m mcpgoSampler) call(name string, args map[string]any) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := m.c.CallTool(ctx, mcpgo.CallToolRequest{Params: mcpgo.CallToolParams{Name: name, Arguments: args}})
	if err != nil {
		return "", err
	}
	if len(res.Content) == 0 {
		return "", errors.New("empty tool result")
	}
	text, _ := res.Content[0].(mcpgo.TextContent)
	if res.IsError {
		return "", errors.New(text.Text)
	}
	return text.Text, nil
}

func (m mcpgoSampler) sample(prompt string) (string, error) {
	return m.call(sampleTool, map[string]any{"prompt": prompt})
}

func (m mcpgoSampler) notify(message string) error {
	_, err := m.call(notifyTool, map[string]any{"message": message})
	return err
}
