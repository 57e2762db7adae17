package gosdk

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/mcpsession/mcpsession/internal/relay"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/requeststate"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// go-sdk's own client runs a multi round-trip request (its
// MultiRoundTripOptions, on by default, and its ElicitationHandler)
// through two replicas behind a round-robin proxy: the state one sealed
// opens on the other, once.
func TestSealedStateGoSDKClient(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		var served [2]atomic.Int32
		var logs [2]syncBuffer
		urls := sealedReplicas(t, dsn, &served, &logs)
		proxy := adaptertest.RoundRobin(t, urls...) + "/mcp"

		for _, version := range []string{""} { // the default, 2026-07-28 (a session-based client, answering on another replica, needs WithStreams: see the example's tests and TestAnswerElsewhereWithoutStreams)
			var asked atomic.Int32
			c := mcp.NewClient(&mcp.Implementation{Name: "sealed-client", Version: "1"}, &mcp.ClientOptions{
				ElicitationHandler: func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
					asked.Add(1)
					return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"answer": "yes"}}, nil
				},
			})
			var opts *mcp.ClientSessionOptions
			if version != "" {
				opts = &mcp.ClientSessionOptions{ProtocolVersion: version}
			}
			cs, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: proxy}, opts)
			if err != nil {
				t.Fatal(err)
			}
			before := served[0].Load() + served[1].Load()
			res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "confirm", Arguments: map[string]any{"action": "deploy"}})
			if err != nil {
				t.Fatalf("version %q: %v", version, err)
			}
			if got := res.Content[0].(*mcp.TextContent).Text; got != "confirmed deploy" || asked.Load() != 1 {
				t.Errorf("version %q: %q after %d elicitations; want \"confirmed deploy\" after 1", version, got, asked.Load())
			}
			if version == "" && (served[0].Load() == 0 || served[1].Load() == 0 || served[0].Load()+served[1].Load()-before != 2) {
				t.Errorf("the call and its retry were served %d and %d times; want once on each replica", served[0].Load(), served[1].Load())
			}
			_ = cs.Close()
		}

		// Without the client's middleware, the retry is the test's to
		// send: a replay answers the JSON-RPC error, from a typed handler
		// too, and the reason is only in the server's log.
		c := mcp.NewClient(&mcp.Implementation{Name: "manual", Version: "1"}, &mcp.ClientOptions{
			MultiRoundTrip: &mcp.MultiRoundTripOptions{Disabled: true},
			ElicitationHandler: func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
				return nil, errors.New("not called")
			},
		})
		cs, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: proxy}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer cs.Close()
		first, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "confirm", Arguments: map[string]any{"action": "deploy"}})
		if err != nil || first.RequestState == "" {
			t.Fatalf("first call: %+v %v", first, err)
		}
		retry := &mcp.CallToolParams{Name: "confirm", Arguments: map[string]any{"action": "deploy"}, RequestState: first.RequestState,
			InputResponses: mcp.InputResponseMap{"confirm": &mcp.ElicitResult{Action: "accept", Content: map[string]any{"answer": "yes"}}}}
		if res, err := cs.CallTool(t.Context(), retry); err != nil || res.Content[0].(*mcp.TextContent).Text != "confirmed deploy" {
			t.Fatalf("retry: %+v %v", res, err)
		}
		_, err = cs.CallTool(t.Context(), retry)
		var wire *jsonrpc.Error
		if !errors.As(err, &wire) || wire.Code != jsonrpc.CodeInvalidParams || wire.Message != "invalid requestState" {
			t.Fatalf("replay: %v; want the JSON-RPC error -32602 \"invalid requestState\"", err)
		}
		all := logs[0].String() + logs[1].String()
		if !strings.Contains(all, "a requestState was refused") || !strings.Contains(all, requeststate.ErrReplayed.Error()) ||
			strings.Contains(all, first.RequestState) {
			t.Errorf("the servers' logs: %q; want the refusal with its reason, without the state", all)
		}
	})
}

// Without WithStreams, go-sdk's client pinned to 2025-11-25 calls a tool
// that elicits (go-sdk asks the client itself, elicitation/create on the
// call's stream), and its answer is POSTed to the other replica, which
// did not ask: the answer is refused there at once (400), with the reason
// in that replica's log, and the client's call fails at once, where the
// answer used to be dropped and the call to wait out its context.
func TestAnswerElsewhereWithoutStreams(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		var served [2]atomic.Int32
		var logs [2]syncBuffer
		urls := sealedReplicas(t, dsn, &served, &logs)
		// Every request to a, every answer to answerTo.
		var answerStatus, answerTo atomic.Int32
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			target := urls[0]
			answer := r.Method == http.MethodPost && relay.Responses(body)
			if answer {
				target = urls[answerTo.Load()]
			}
			u, _ := url.Parse(target)
			rec := &statusRecorder{ResponseWriter: w}
			(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u) }, FlushInterval: -1}).ServeHTTP(rec, r)
			if answer {
				answerStatus.Store(int32(rec.status))
			}
		}))
		t.Cleanup(proxy.Close)

		for _, to := range []int32{0, 1} {
			answerTo.Store(to)
			var asked atomic.Int32
			c := mcp.NewClient(&mcp.Implementation{Name: "pinned", Version: "1"}, &mcp.ClientOptions{
				ElicitationHandler: func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
					asked.Add(1)
					return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"answer": "yes"}}, nil
				},
			})
			cs, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: proxy.URL + "/mcp"},
				&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
			if err != nil {
				t.Fatal(err)
			}
			const patience = 20 * time.Second
			ctx, cancel := context.WithTimeout(t.Context(), patience)
			start := time.Now()
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "confirm", Arguments: map[string]any{"action": "deploy"}})
			took := time.Since(start)
			cancel()
			_ = cs.Close()
			if to == 0 {
				// The answer reached the replica that asked, as with
				// routing by session: it confirms.
				if err != nil || res.Content[0].(*mcp.TextContent).Text != "confirmed deploy" || answerStatus.Load() != http.StatusAccepted {
					t.Fatalf("answered to a: %+v, %v, the answer's status %d; want \"confirmed deploy\" and 202", res, err, answerStatus.Load())
				}
				continue
			}
			if err == nil || errors.Is(err, context.DeadlineExceeded) || took > patience/2 {
				t.Fatalf("answered to b: %+v, %v after %v; want the call to fail at once", res, err, took)
			}
			if asked.Load() != 1 || answerStatus.Load() != http.StatusBadRequest {
				t.Errorf("%d elicitations, the answer's status %d; want 1 and 400", asked.Load(), answerStatus.Load())
			}
			if log := logs[1].String(); !strings.Contains(log, "an answer to a request this replica did not send was refused") ||
				!strings.Contains(log, "WithStreams") {
				t.Errorf("b's log: %q; want the refusal, naming WithStreams", log)
			}
			t.Logf("answered to b, the call failed after %v: %v", took.Round(time.Millisecond), err)
		}
	})
}

// sealedReplicas serves two replicas over dsn, without streams across
// replicas, each with a Sealer, the confirm tool (counting its calls in
// served) and its log in logs; it returns their URLs.
func sealedReplicas(t *testing.T, dsn string, served *[2]atomic.Int32, logs *[2]syncBuffer) []string {
	t.Helper()
	urls := make([]string, 2)
	for i := range 2 {
		store := testdb.OpenStore(t, dsn)
		sealer, err := requeststate.New(t.Context(), store)
		if err != nil {
			t.Fatal(err)
		}
		server := mcp.NewServer(&mcp.Implementation{Name: "sealed", Version: "1"}, nil)
		sessions, err := New(store, server, WithSealer(sealer),
			WithLogger(slog.New(slog.NewTextHandler(&logs[i], nil))))
		if err != nil {
			t.Fatal(err)
		}
		mcp.AddTool(server, &mcp.Tool{Name: "confirm"}, confirmTool(&served[i]))
		srv := httptest.NewServer(sessions)
		t.Cleanup(srv.Close)
		urls[i] = srv.URL
	}
	return urls
}

// statusRecorder keeps the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// confirmTool asks for a yes with a sealed, single-use state, and
// confirms on the retry that carries it and a yes.
func confirmTool(served *atomic.Int32) mcp.ToolHandlerFor[struct {
	Action string `json:"action"`
}, any] {
	return func(ctx context.Context, req *mcp.CallToolRequest, args struct {
		Action string `json:"action"`
	}) (*mcp.CallToolResult, any, error) {
		served.Add(1)
		if req.Params.RequestState == "" {
			tok, err := SealState(ctx, []byte(args.Action))
			if err != nil {
				return nil, nil, err
			}
			return &mcp.CallToolResult{
				InputRequests: mcp.InputRequestMap{"confirm": &mcp.ElicitParams{Mode: "form", Message: "Confirm " + args.Action + "?",
					RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{"answer": map[string]any{"type": "string"}}}}},
				RequestState: tok,
			}, nil, nil
		}
		state, err := OpenState(ctx, req.Params.RequestState, true)
		if err != nil {
			return nil, nil, err // a typed handler's error: the adapter answers -32602
		}
		r, _ := req.Params.InputResponses["confirm"].(*mcp.ElicitResult)
		if r == nil || r.Content["answer"] != "yes" {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "declined"}}}, nil, nil
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "confirmed " + string(state)}}}, nil, nil
	}
}

// syncBuffer is a bytes.Buffer for a logger written from several
// goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
