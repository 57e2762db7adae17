//lint:file-ignore SA1019 the ported cases exercise the session-based revisions, whose sampling the sessionless one deprecates.

package gosdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The ported cases that drive go-sdk's own client.

// sayHi is go-sdk's cases' greet tool: it pings the client first.
func sayHi(ctx context.Context, req *mcp.CallToolRequest, args hiParams) (*mcp.CallToolResult, any, error) {
	if err := req.Session.Ping(ctx, nil); err != nil {
		return nil, nil, fmt.Errorf("ping failed: %v", err)
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "hi " + args.Name}}}, nil, nil
}

// TestConformanceStreamableTransports ports TestStreamableTransports:
// go-sdk's client and the server talk, with a custom HTTP client (cookies
// on every request), cancellation, and server-to-client requests in and
// out of a request's context, with and without JSON responses and replay.
func TestConformanceStreamableTransports(t *testing.T) {
	for _, test := range []struct{ useJSON, replay bool }{{false, false}, {false, true}, {true, false}, {true, true}} {
		t.Run(fmt.Sprintf("JSONResponse=%v;replay=%v", test.useJSON, test.replay), func(t *testing.T) {
			t.Parallel()
			adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
				start := make(chan struct{})
				cancelled := make(chan struct{}, 1)
				hang := func(ctx context.Context, req *mcp.CallToolRequest, args any) (*mcp.CallToolResult, any, error) {
					start <- struct{}{}
					select {
					case <-ctx.Done():
						cancelled <- struct{}{}
					case <-time.After(5 * time.Second):
					}
					return nil, nil, nil
				}
				sampleDone := make(chan struct{})
				var sampleWG sync.WaitGroup
				sample := func(ctx context.Context, req *mcp.CallToolRequest, args any) (*mcp.CallToolResult, any, error) {
					type testCase struct {
						label       string
						ctx         context.Context
						wantSuccess bool
					}
					testSample := func(tc testCase) {
						res, err := req.Session.CreateMessage(tc.ctx, &mcp.CreateMessageParams{})
						if gotSuccess := err == nil; gotSuccess != tc.wantSuccess {
							t.Errorf("%s: CreateMessage success=%v, want %v (%v)", tc.label, gotSuccess, tc.wantSuccess, err)
						}
						if err == nil && res.Model != "aModel" {
							t.Errorf("%s: got model %q, want %q", tc.label, res.Model, "aModel")
						}
					}
					// During the call, on its context and on another: on the
					// POST's stream and on the GET's.
					for _, tc := range []testCase{{"request context", ctx, true}, {"background context", context.Background(), true}} {
						testSample(tc)
					}
					// After it: its context no longer works, another does.
					sampleWG.Go(func() {
						<-sampleDone
						for _, tc := range []testCase{{"request context", ctx, false}, {"background context", context.Background(), true}} {
							testSample(tc)
						}
					})
					return &mcp.CallToolResult{}, nil, nil
				}
				var headerMu sync.Mutex
				var lastHeader http.Header
				tg := serve(t, w, conf{
					opts:   mcp.StreamableHTTPOptions{JSONResponse: test.useJSON},
					replay: test.replay,
					server: func() *mcp.Server {
						server := mcp.NewServer(testImpl, nil)
						mcp.AddTool(server, &mcp.Tool{Name: "greet", Description: "say hi"}, sayHi)
						mcp.AddTool(server, &mcp.Tool{Name: "hang"}, hang)
						mcp.AddTool(server, &mcp.Tool{Name: "sample"}, sample)
						return server
					},
					wrap: func(h http.Handler) http.Handler {
						return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
							headerMu.Lock()
							lastHeader = r.Header
							headerMu.Unlock()
							if c, err := r.Cookie("test-cookie"); err != nil {
								t.Errorf("missing cookie: %v", err)
							} else if c.Value != "test-value" {
								t.Errorf("got cookie %q, want %q", c.Value, "test-value")
							}
							h.ServeHTTP(rw, r)
						})
					},
				})
				jar, err := cookiejar.New(nil)
				if err != nil {
					t.Fatal(err)
				}
				u, err := url.Parse(tg.URL)
				if err != nil {
					t.Fatal(err)
				}
				jar.SetCookies(u, []*http.Cookie{{Name: "test-cookie", Value: "test-value"}})
				client := mcp.NewClient(testImpl, &mcp.ClientOptions{
					CreateMessageHandler: func(context.Context, *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
						return &mcp.CreateMessageResult{Model: "aModel", Content: &mcp.TextContent{}}, nil
					},
				})
				ctx := t.Context()
				session, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: tg.URL, HTTPClient: &http.Client{Jar: jar}}, pinnedLegacy(w))
				if err != nil {
					t.Fatalf("client.Connect() failed: %v", err)
				}
				defer session.Close()
				sid := session.ID()
				if sid == "" {
					t.Fatal("empty session ID")
				}
				// go-sdk's stateful handler refuses 2026-07-28: the client
				// falls back to 2025-11-25.
				if got := session.InitializeResult().ProtocolVersion; got != v20251125 {
					t.Fatalf("got protocol version %q, want %q", got, v20251125)
				}

				got, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "greet", Arguments: map[string]any{"Name": "foo"}})
				if err != nil {
					t.Fatalf("CallTool() failed: %v", err)
				}
				if g := session.ID(); g != sid {
					t.Errorf("session ID: got %q, want %q", g, sid)
				}
				headerMu.Lock()
				version := lastHeader.Get(hdrProtocolVersion)
				headerMu.Unlock()
				if version != v20251125 {
					t.Errorf("got protocol version header %q, want %q", version, v20251125)
				}
				if text := textOf(t, got); text != "hi foo" || got.IsError {
					t.Errorf("CallTool() = %q (error %v), want %q", text, got.IsError, "hi foo")
				}

				// hang ends when the client cancels the call.
				ctx2, cancel := context.WithCancel(context.Background())
				go func() { _, _ = session.CallTool(ctx2, &mcp.CallToolParams{Name: "hang"}) }()
				<-start
				cancel()
				select {
				case <-cancelled:
				case <-time.After(5 * time.Second):
					t.Fatal("timeout waiting for cancellation")
				}

				result, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "sample", Arguments: map[string]any{}})
				if err != nil {
					t.Fatal(err)
				}
				close(sampleDone)
				sampleWG.Wait()
				if result.IsError {
					t.Fatalf("tool failed: %s", result.Content[0].(*mcp.TextContent).Text)
				}
			})
		})
	}
}

// TestConformanceStreamableConcurrentHandling ports
// TestStreamableConcurrentHandling: 100 clients at once, 10 calls each,
// each session counting its own.
func TestConformanceStreamableConcurrentHandling(t *testing.T) {
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		type count struct{ Count int }
		var mu sync.Mutex
		counts := map[string]int{}
		tg := serve(t, w, conf{server: func() *mcp.Server {
			server := mcp.NewServer(testImpl, nil)
			mcp.AddTool(server, &mcp.Tool{Name: "inc"}, func(ctx context.Context, req *mcp.CallToolRequest, _ any) (*mcp.CallToolResult, count, error) {
				id := req.Session.ID()
				mu.Lock()
				defer mu.Unlock()
				c := counts[id]
				counts[id] = c + 1
				return nil, count{c}, nil
			})
			return server
		}})
		client := mcp.NewClient(testImpl, nil)
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				cs, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: tg.URL}, pinnedLegacy(w))
				if err != nil {
					t.Errorf("Connect failed: %v", err)
					return
				}
				defer cs.Close()
				for i := range 10 {
					res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "inc"})
					if err != nil {
						t.Errorf("CallTool failed: %v", err)
						return
					}
					if got := int(res.StructuredContent.(map[string]any)["Count"].(float64)); got != i {
						t.Errorf("got count %d, want %d", got, i)
					}
				}
			})
		}
		wg.Wait()
	})
}

// TestConformanceStreamableServerShutdown ports TestStreamableServerShutdown:
// shutting the server down ends the client's session, through the hanging
// GET (stateful) or the client's keep-alive pings (stateless).
func TestConformanceStreamableServerShutdown(t *testing.T) {
	for _, test := range []struct {
		name                 string
		stateless, keepalive bool
	}{{"stateful", false, false}, {"stateless with keepalive", true, true}} {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
				tg := serve(t, w, conf{opts: mcp.StreamableHTTPOptions{Stateless: test.stateless}, server: func() *mcp.Server {
					server := mcp.NewServer(testImpl, nil)
					mcp.AddTool(server, &mcp.Tool{Name: "greet"}, sayHi)
					return server
				}})
				var opts mcp.ClientOptions
				if test.keepalive {
					opts.KeepAlive = 50 * time.Millisecond
				}
				// Pinned, as the case pins it: the sessionless revision has
				// neither the hanging GET nor keep-alive pings.
				cs, err := mcp.NewClient(testImpl, &opts).Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: tg.URL, MaxRetries: -1},
					&mcp.ClientSessionOptions{ProtocolVersion: v20251125})
				if err != nil {
					t.Fatal(err)
				}
				defer cs.Close()
				if _, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "greet", Arguments: map[string]any{"Name": "foo"}}); err != nil {
					t.Fatalf("CallTool() failed: %v", err)
				}
				shutDown := make(chan struct{})
				go func() {
					defer close(shutDown)
					if err := tg.Shutdown(context.Background()); err != nil && !errors.Is(err, http.ErrServerClosed) {
						t.Errorf("closing http server: %v", err)
					}
				}()
				// The shutdown ends before the test does: the test's cleanup
				// closes the same listeners.
				defer func() {
					select {
					case <-shutDown:
					case <-time.After(adaptertest.Timeout):
						t.Error("the server's shutdown did not end")
					}
				}()
				// Wait may fail (the connection did), but must return.
				done := make(chan struct{})
				go func() {
					_ = cs.Wait()
					close(done)
				}()
				select {
				case <-done:
				case <-time.After(adaptertest.Timeout):
					t.Fatal("the client's session did not end after the server shut down")
				}
			})
		})
	}
}

// TestConformanceStreamableStatelessKeepaliveRace ports
// TestStreamableStatelessKeepaliveRace: no race between a stateless
// session's keep-alive and its close.
func TestConformanceStreamableStatelessKeepaliveRace(t *testing.T) {
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		tg := serve(t, w, conf{opts: mcp.StreamableHTTPOptions{Stateless: true}, server: func() *mcp.Server {
			server := mcp.NewServer(testImpl, &mcp.ServerOptions{KeepAlive: time.Hour})
			mcp.AddTool(server, &mcp.Tool{Name: "greet"}, sayHi)
			return server
		}})
		for range 50 {
			cs, err := mcp.NewClient(testImpl, nil).Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: tg.URL}, nil)
			if err != nil {
				t.Fatalf("NewClient() failed: %v", err)
			}
			_, _ = cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "greet", Arguments: map[string]any{"Name": "world"}})
			_ = cs.Close()
		}
	})
}

// TestConformanceClientReplay ports TestClientReplay: the network between
// client and server fails mid-call (a proxy killed and restarted); the
// client resumes its streams and gets what it missed, unless it may not
// retry.
func TestConformanceClientReplay(t *testing.T) {
	for _, test := range []struct {
		name          string
		maxRetries    int
		wantRecovered bool
	}{{"default", 0, true}, {"no retries", -1, false}} {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
				notifications := make(chan string, 4)
				readyToKill := make(chan struct{})
				serverClosed := make(chan struct{})
				tg := serve(t, w, conf{replay: true, server: func() *mcp.Server {
					server := mcp.NewServer(testImpl, nil)
					mcp.AddTool(server, &mcp.Tool{Name: "multiMessageTool", InputSchema: objectSchema},
						func(ctx context.Context, req *mcp.CallToolRequest, args map[string]any) (*mcp.CallToolResult, any, error) {
							// One on the call's stream, one on the GET's.
							bg := context.Background()
							_ = req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{Message: "msg1"})
							_ = req.Session.NotifyProgress(bg, &mcp.ProgressNotificationParams{Message: "msg2"})
							close(readyToKill)
							<-serverClosed
							// Sent while the client is cut off: replayed.
							_ = req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{Message: "msg3"})
							_ = req.Session.NotifyProgress(bg, &mcp.ProgressNotificationParams{Message: "msg4"})
							return new(mcp.CallToolResult), nil, nil
						})
					return server
				}})
				target, err := url.Parse(tg.URL)
				if err != nil {
					t.Fatal(err)
				}
				proxyHandler := httputil.NewSingleHostReverseProxy(target)
				proxy := httptest.NewServer(proxyHandler)
				proxyAddr := proxy.Listener.Addr().String()

				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				client := mcp.NewClient(testImpl, &mcp.ClientOptions{
					ProgressNotificationHandler: func(ctx context.Context, req *mcp.ProgressNotificationClientRequest) {
						notifications <- req.Params.Message
					},
				})
				cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: proxy.URL, MaxRetries: test.maxRetries}, pinnedLegacy(w))
				if err != nil {
					t.Fatalf("client.Connect() failed: %v", err)
				}
				t.Cleanup(func() { _ = cs.Close() })
				callErr := make(chan error, 1)
				go func() {
					_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "multiMessageTool"})
					callErr <- err
				}()
				select {
				case <-readyToKill:
				case <-ctx.Done():
					t.Fatal("context timed out before server was ready to kill proxy")
				}
				if got := readNotifications(t, ctx, notifications, 2); !slices.Equal(got, []string{"msg1", "msg2"}) {
					t.Errorf("notifications before the failure: %v, want [msg1 msg2]", got)
				}
				proxy.CloseClientConnections()
				proxy.Close()
				close(serverClosed)
				ln, err := net.Listen("tcp", proxyAddr)
				if err != nil {
					t.Fatalf("failed to listen on proxy address: %v", err)
				}
				restarted := &http.Server{Handler: proxyHandler}
				go func() { _ = restarted.Serve(ln) }()
				t.Cleanup(func() { _ = restarted.Close() })

				err = <-callErr
				if test.wantRecovered {
					if got := readNotifications(t, ctx, notifications, 2); !slices.Equal(got, []string{"msg3", "msg4"}) {
						t.Errorf("notifications after the failure: %v, want [msg3 msg4]", got)
					}
					if err != nil {
						t.Errorf("CallTool failed unexpectedly: %v", err)
					}
				} else if err == nil {
					t.Errorf("CallTool succeeded unexpectedly")
				}
			})
		})
	}
}

// readNotifications reads count notifications, sorted (they may come in
// either order), or fails t when ctx ends first.
func readNotifications(t *testing.T, ctx context.Context, notifications chan string, count int) []string {
	t.Helper()
	var got []string
	for len(got) < count {
		select {
		case n := <-notifications:
			got = append(got, n)
		case <-ctx.Done():
			t.Fatalf("got %d notifications, want %d", len(got), count)
		}
	}
	slices.Sort(got)
	return got
}

// TestConformanceStreamableServerDisconnect ports
// TestStreamableServerDisconnect: a handler ends its request's stream
// (CloseSSEStream) before and between its messages; go-sdk's client, at
// 2025-11-25, resumes from the stream's priming event and gets them all,
// and the call's answer.
func TestConformanceStreamableServerDisconnect(t *testing.T) {
	testStream := func(ctx context.Context, session *mcp.ServerSession, extra *mcp.RequestExtra) {
		extra.CloseSSEStream(mcp.CloseSSEStreamArgs{RetryAfter: 10 * time.Millisecond})
		_ = session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{Message: "msg1"})
		time.Sleep(20 * time.Millisecond) // the case's: the client reconnects meanwhile
		extra.CloseSSEStream(mcp.CloseSSEStreamArgs{RetryAfter: 10 * time.Millisecond})
		_ = session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{Message: "msg2"})
	}
	for _, test := range []struct {
		name   string
		doCall func(context.Context, *mcp.ClientSession) error
	}{
		{"tool", func(ctx context.Context, cs *mcp.ClientSession) error {
			_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "disconnect"})
			return err
		}},
		{"prompt", func(ctx context.Context, cs *mcp.ClientSession) error {
			_, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "disconnect"})
			return err
		}},
	} {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
				tg := serve(t, w, conf{replay: true, server: func() *mcp.Server {
					server := mcp.NewServer(testImpl, nil)
					mcp.AddTool(server, &mcp.Tool{Name: "disconnect"},
						func(ctx context.Context, req *mcp.CallToolRequest, args map[string]any) (*mcp.CallToolResult, map[string]any, error) {
							testStream(ctx, req.Session, req.Extra)
							return new(mcp.CallToolResult), nil, nil
						})
					server.AddPrompt(&mcp.Prompt{Name: "disconnect"}, func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
						testStream(ctx, req.Session, req.Extra)
						return nil, nil
					})
					return server
				}})
				notifications := make(chan string, 2)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				client := mcp.NewClient(testImpl, &mcp.ClientOptions{
					ProgressNotificationHandler: func(ctx context.Context, req *mcp.ProgressNotificationClientRequest) {
						notifications <- req.Params.Message
					},
				})
				cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: tg.URL}, &mcp.ClientSessionOptions{ProtocolVersion: v20251125})
				if err != nil {
					t.Fatalf("client.Connect() failed: %v", err)
				}
				defer cs.Close()
				if err := test.doCall(ctx, cs); err != nil {
					t.Fatalf("the call failed: %v", err)
				}
				if got := readNotifications(t, ctx, notifications, 2); !slices.Equal(got, []string{"msg1", "msg2"}) {
					t.Errorf("got notifications %v, want [msg1 msg2]", got)
				}
			})
		})
	}
}

// TestConformanceServerInitiatedSSE ports TestServerInitiatedSSE: the GET
// stream stays open and carries what the server sends by itself (a tool
// list change). On the adapter, every replica's server gets the new tool,
// as a deployment's do.
func TestConformanceServerInitiatedSSE(t *testing.T) {
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		notifications := make(chan string, 8)
		tg := serve(t, w, conf{})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		client := mcp.NewClient(testImpl, &mcp.ClientOptions{
			ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
				notifications <- "toolListChanged"
			},
		})
		cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: tg.URL}, pinnedLegacy(w))
		if err != nil {
			t.Fatalf("client.Connect() failed: %v", err)
		}
		defer cs.Close()
		for _, server := range tg.Servers {
			mcp.AddTool(server, &mcp.Tool{Name: "testTool", InputSchema: objectSchema},
				func(context.Context, *mcp.CallToolRequest, map[string]any) (*mcp.CallToolResult, any, error) {
					return &mcp.CallToolResult{}, nil, nil
				})
		}
		if got := readNotifications(t, ctx, notifications, 1); !slices.Equal(got, []string{"toolListChanged"}) {
			t.Errorf("received notifications %v, want [toolListChanged]", got)
		}
	})
}

// TestConformanceCallCancellation_FastReturn ports
// TestCallCancellation_FastReturn: a call whose context ends returns at
// once, even when the server is slow to take the notifications/cancelled.
func TestConformanceCallCancellation_FastReturn(t *testing.T) {
	// go-sdk's client waits up to 5 s (notifyCancellationTimeout, unexported)
	// for the notification's POST; the case holds it 2 s longer.
	const stall = 5*time.Second + 2*time.Second
	const deadline = 100 * time.Millisecond
	const slack = 500 * time.Millisecond
	adaptertest.Ways(t, func(t *testing.T, w adaptertest.Way) {
		stallCancel := func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost && r.Body != nil {
					body, _ := io.ReadAll(r.Body)
					r.Body = io.NopCloser(bytes.NewReader(body))
					if bytes.Contains(body, []byte("notifications/cancelled")) {
						time.Sleep(stall) // the case's: a slow peer
					}
				}
				h.ServeHTTP(rw, r)
			})
		}
		tg := serve(t, w, conf{wrap: stallCancel, server: func() *mcp.Server {
			server := mcp.NewServer(testImpl, nil)
			mcp.AddTool(server, &mcp.Tool{Name: "slow"}, func(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
				select {
				case <-ctx.Done():
				case <-time.After(2 * stall):
				}
				return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "ok"}}}, nil, nil
			})
			return server
		}})
		cs, err := mcp.NewClient(testImpl, nil).Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: tg.URL}, pinnedLegacy(w))
		if err != nil {
			t.Fatalf("client connect: %v", err)
		}
		t.Cleanup(func() { _ = cs.Close() })
		callCtx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		began := time.Now()
		_, err = cs.CallTool(callCtx, &mcp.CallToolParams{Name: "slow"})
		took := time.Since(began)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("CallTool error = %v, want context.DeadlineExceeded", err)
		}
		if took > deadline+slack {
			t.Errorf("CallTool returned after %v; want <= %v", took, deadline+slack)
		}
	})
}
