package main

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/mcpsession/mcpsession/internal/cacheprobe"
	"github.com/mcpsession/mcpsession/internal/msgbus"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// cluster is two replicas of the example server, each its own MCP server
// (of the SDK -sdk names) and Store over one database, behind a reverse
// proxy that picks a replica per request: round-robin unless the test
// routes otherwise.
type cluster struct {
	t    testing.TB
	sdk  string
	dsn  string
	idle time.Duration
	// cached: the replicas run with the read cache (see eachCluster).
	cached   bool
	mu       sync.Mutex
	replicas [2]*running

	proxy *httptest.Server
	url   string // the proxy's MCP endpoint
	next  atomic.Int64
	route atomic.Pointer[func(method string) int]
	// before, when set, sees each request before the proxy forwards it
	// (and may hold it back).
	before atomic.Pointer[func(r *http.Request)]

	logMu sync.Mutex
	log   []hop
	// logged is signalled each time a hop is logged (see awaitHop).
	logged chan struct{}

	tune func(*replicaConfig) // see newTunedCluster
}

// running is a replica serving HTTP.
type running struct {
	*replica
	srv     *httptest.Server
	url     string
	stopBus func()       // stops the replica's bus and waits for its Run
	barrier atomic.Int64 // the last of settle's markers this replica read
	// barrierRead is signalled each time barrier grows.
	barrierRead chan struct{}
}

// hop is one request the proxy forwarded.
type hop struct {
	rpcMethod string // the JSON-RPC method, or the HTTP method for GET and DELETE
	replica   int
	status    int
}

var replicaNames = [2]string{"a", "b"}

// eachSDK runs fn for every value of -sdk, on a SQLite file and on
// Postgres (as testdb.Each does), in parallel subtests named sdk/dialect.
// eachCluster is eachSDK for the tests on in-process clusters, which also
// run with the read cache on (-cache): in subtests named "cached", where
// newCluster turns it on. Those tests call cluster.settle before they look,
// on one replica, for what a request on the other wrote: with the cache, a
// replica learns of it through the bus, a moment later.
func eachCluster(t *testing.T, fn func(t *testing.T, sdk, dsn string)) {
	t.Helper()
	eachSDK(t, func(t *testing.T, sdk, dsn string) {
		t.Run("plain", func(t *testing.T) { t.Parallel(); fn(t, sdk, dsn) })
		t.Run("cached", func(t *testing.T) {
			t.Parallel()
			own := testdb.Postgres // a database of its own
			if strings.HasPrefix(dsn, "sqlite:") {
				own = func(t testing.TB) string { return testdb.SQLiteFile(t) }
			}
			fn(t, sdk, own(t))
		})
	})
}

// cachedTest reports whether t runs under eachCluster's "cached" subtest.
func cachedTest(t testing.TB) bool { return strings.Contains(t.Name()+"/", "/cached/") }

func eachSDK(t *testing.T, fn func(t *testing.T, sdk, dsn string)) {
	t.Helper()
	for _, sdk := range sdkNames() {
		t.Run(sdk, func(t *testing.T) {
			t.Parallel()
			testdb.Each(t, func(t *testing.T, dsn string) { fn(t, sdk, dsn) })
		})
	}
}

// What the SDKs answer differently, each as it does without the adapter:
// the status of a DELETE, and the log level before any logging/setLevel
// (mcp-go's default; go-sdk has none and sends nothing).
var (
	deleteStatus = map[string]int{"mcp-go": http.StatusOK, "go-sdk": http.StatusNoContent}
	defaultLevel = map[string]string{"mcp-go": "error", "go-sdk": ""}
	// primedGET says whether a GET stream opens with a priming event (an
	// event with an id): neither adapter writes one now, as neither SDK's
	// own handler does (mcp-go's starts with nothing but its headers,
	// go-sdk's with an SSE comment).
	primedGET = map[string]bool{"mcp-go": false, "go-sdk": false}
)

func newCluster(t *testing.T, sdk, dsn string, idle time.Duration) *cluster {
	t.Helper()
	return newTunedCluster(t, sdk, dsn, idle, nil)
}

// newClusterLease is newCluster with the replicas' task lease.
func newClusterLease(t testing.TB, sdk, dsn string, idle, taskLease time.Duration) *cluster {
	t.Helper()
	return newTunedCluster(t, sdk, dsn, idle, func(rc *replicaConfig) { rc.taskLease = taskLease })
}

// newTunedCluster is newCluster with tune (when not nil) applied to each
// replica's configuration.
func newTunedCluster(t testing.TB, sdk, dsn string, idle time.Duration, tune func(*replicaConfig)) *cluster {
	t.Helper()
	c := &cluster{t: t, sdk: sdk, dsn: dsn, idle: idle, cached: cachedTest(t), tune: tune, logged: make(chan struct{}, 1)}
	for i := range c.replicas {
		c.replicas[i] = c.start()
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			target, _ := url.Parse(c.replica(pr.In.Context().Value(pickKey{}).(int)).srv.URL)
			pr.SetURL(target)
		},
		FlushInterval: -1, // SSE
	}
	c.proxy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := r.Method
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var head struct {
				Method string `json:"method"`
			}
			_ = json.Unmarshal(body, &head)
			method = head.Method
		}
		if before := c.before.Load(); before != nil {
			(*before)(r)
		}
		i := c.pick(method)
		rec := &hopRecorder{ResponseWriter: w, c: c, hop: hop{rpcMethod: method, replica: i}}
		rp.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), pickKey{}, i)))
	}))
	c.url = c.proxy.URL + "/mcp"
	t.Cleanup(func() {
		c.proxy.Close()
		for i := range c.replicas {
			c.stop(i)
		}
	})
	return c
}

type pickKey struct{}

func (c *cluster) pick(method string) int {
	if route := c.route.Load(); route != nil {
		return (*route)(method)
	}
	return int(c.next.Add(1)-1) % 2
}

// routeBy sends every request where fn says; nil restores round-robin.
func (c *cluster) routeBy(fn func(method string) int) {
	if fn == nil {
		c.route.Store(nil)
		return
	}
	c.route.Store(&fn)
}

func (c *cluster) replica(i int) *running {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.replicas[i]
}

// start builds a replica as the example's run does, with its bus running,
// without the listener and the janitor.
func (c *cluster) start() *running {
	c.t.Helper()
	rc := replicaConfig{
		sdk:         c.sdk,
		dsn:         c.dsn,
		idleTimeout: c.idle,
		withCache:   c.cached,
		busPoll:     10 * time.Millisecond, // settle waits for it on SQLite
		logger:      slog.New(slog.DiscardHandler),
	}
	if c.tune != nil {
		c.tune(&rc)
	}
	r, err := newReplica(context.Background(), rc)
	if err != nil {
		c.t.Fatal(err)
	}
	run := &running{replica: r, barrierRead: make(chan struct{}, 1)}
	stopBarrier := (*msgbus.Bus)(r.bus).Subscribe(barrierTopic, func(m msgbus.Message) {
		for {
			seen := run.barrier.Load()
			if m.ID <= seen {
				return
			}
			if run.barrier.CompareAndSwap(seen, m.ID) {
				select {
				case run.barrierRead <- struct{}{}:
				default:
				}
				return
			}
		}
	})
	listening := make(chan struct{})
	var listenOnce sync.Once
	stopListening := (*msgbus.Bus)(r.bus).OnListening(func(on bool) {
		if on {
			listenOnce.Do(func() { close(listening) })
		}
	})
	defer stopListening()
	busCtx, cancel := context.WithCancel(context.Background())
	busDone := make(chan struct{})
	go func() {
		defer close(busDone)
		_ = r.bus.Run(busCtx)
	}()
	select {
	case <-r.bus.Ready():
	case <-time.After(30 * time.Second):
		c.t.Fatal("the bus was not ready within 30s")
	}
	if c.cached && (*msgbus.Bus)(r.bus).DatabaseListens() && !(*msgbus.Bus)(r.bus).Listening() {
		select { // the cache reads through until then
		case <-listening:
		case <-time.After(30 * time.Second):
			c.t.Fatal("the bus did not listen within 30s")
		}
	}
	run.srv = httptest.NewServer(r.handler)
	run.url = run.srv.URL + "/mcp"
	run.stopBus = func() { stopBarrier(); cancel(); <-busDone }
	return run
}

// barrierTopic carries settle's markers.
const barrierTopic = "mcpsession/test/barrier"

// settle returns once every replica has heard of the writes made so far
// through any replica's cache: each publishes what it has pending, then a
// marker goes on the bus, which every replica reads after those. Without
// the cache it does nothing: every read goes to the database.
func (c *cluster) settle() {
	c.t.Helper()
	if !c.cached {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var live []*running
	for i := range c.replicas {
		if r := c.replica(i); r != nil {
			live = append(live, r)
			if p, ok := cacheprobe.Of(r.cache); ok {
				if err := p.Flush(ctx); err != nil {
					c.t.Fatal(err)
				}
			}
		}
	}
	id, err := (*msgbus.Bus)(live[0].bus).Publish(ctx, barrierTopic, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, r := range live {
		for r.barrier.Load() < id {
			select {
			case <-r.barrierRead:
			case <-ctx.Done():
				c.t.Fatal("a replica did not read the barrier within 30s")
			}
		}
	}
}

// stop shuts replica i down as the example does on SIGTERM.
func (c *cluster) stop(i int) {
	r := c.replica(i)
	if r == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.shutdown(ctx); err != nil {
		c.t.Errorf("replica %s: Shutdown: %v", replicaNames[i], err)
	}
	r.srv.CloseClientConnections()
	r.srv.Close()
	r.stopBus()
	if err := r.store.Close(); err != nil {
		c.t.Errorf("replica %s: closing the store: %v", replicaNames[i], err)
	}
	c.mu.Lock()
	c.replicas[i] = nil
	c.mu.Unlock()
}

// kill drops replica i as a crash would: its connections cut, no SDK
// shutdown, its bus stopped and its store closed. Route requests away from
// it first.
func (c *cluster) kill(i int) {
	r := c.replica(i)
	if r == nil {
		return
	}
	r.srv.CloseClientConnections()
	r.srv.Close()
	r.stopBus()
	_ = r.store.Close()
	c.mu.Lock()
	c.replicas[i] = nil
	c.mu.Unlock()
}

// restart stops replica i and starts a new one in its place.
func (c *cluster) restart(i int) {
	c.stop(i)
	r := c.start()
	c.mu.Lock()
	c.replicas[i] = r
	c.mu.Unlock()
}

// hops returns the requests forwarded so far and forgets them.
func (c *cluster) hops() []hop {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	h := c.log
	c.log = nil
	return h
}

// awaitHop waits until the log holds n hops for which ok holds, without
// taking them. A hop is logged when its response's status is written: for
// a client's answer POSTed to a replica that did not ask, that is after a
// round trip over the bus, which may end after the call it answered has.
func (c *cluster) awaitHop(n int, ok func(hop) bool) {
	c.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		c.logMu.Lock()
		found := 0
		for _, h := range c.log {
			if ok(h) {
				found++
			}
		}
		c.logMu.Unlock()
		if found >= n {
			return
		}
		select {
		case <-c.logged:
		case <-timeout:
			c.t.Fatalf("the proxy logged %d of the %d hops awaited within 30s", found, n)
		}
	}
}

// hopRecorder logs the hop when the status is written, before the client
// can see any of the response.
type hopRecorder struct {
	http.ResponseWriter
	c      *cluster
	hop    hop
	logged bool
}

func (r *hopRecorder) WriteHeader(code int) {
	if !r.logged {
		r.logged = true
		r.hop.status = code
		r.c.logMu.Lock()
		r.c.log = append(r.c.log, r.hop)
		r.c.logMu.Unlock()
		select {
		case r.c.logged <- struct{}{}:
		default:
		}
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *hopRecorder) Write(p []byte) (int, error) {
	if !r.logged {
		r.WriteHeader(http.StatusOK)
	}
	return r.ResponseWriter.Write(p)
}

func (r *hopRecorder) Flush() {
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

func (r *hopRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// ---- clients ---------------------------------------------------------------------

// newClient returns an mcp-go client for url, pinned to the newest
// session-based revision (v1.6 otherwise speaks the sessionless one), and
// initialized.
func newClient(t *testing.T, url, name string) *client.Client {
	t.Helper()
	tr, err := transport.NewStreamableHTTP(url)
	if err != nil {
		t.Fatal(err)
	}
	c := client.NewClient(tr, client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
	t.Cleanup(func() { c.Close() })
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	initialize(t, c, name)
	return c
}

func initialize(t *testing.T, c *client.Client, name string) {
	t.Helper()
	if _, err := c.Initialize(context.Background(), mcp.InitializeRequest{Params: mcp.InitializeParams{
		ClientInfo: mcp.Implementation{Name: name, Version: "1.0.0"},
	}}); err != nil {
		t.Fatalf("initialize: %v", err)
	}
}

// callTool returns the tool's text, or the error.
func callTool(c *client.Client, name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: name}})
	if err != nil {
		return "", err
	}
	if len(res.Content) == 0 {
		return "", errors.New("empty tool result")
	}
	text, _ := res.Content[0].(mcp.TextContent)
	if res.IsError {
		return "", errors.New(text.Text)
	}
	return text.Text, nil
}

func mustTool(t *testing.T, c *client.Client, name string) string {
	t.Helper()
	text, err := callTool(c, name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return text
}

// ---- raw HTTP ----------------------------------------------------------------------

// rawPost sends one JSON-RPC message with the session id and returns the
// status and body.
func rawPost(t *testing.T, url, sid string, msg string) (int, string) {
	t.Helper()
	r := adaptertest.Post(t, url, sid, json.RawMessage(msg))
	return r.Status, string(r.Body)
}

// rawSend sends a GET or DELETE and returns the status (for a GET that is
// accepted, without reading the endless stream).
func rawSend(t *testing.T, method, url, sid string) int {
	t.Helper()
	return adaptertest.Send(t, method, url, sid).Status
}

const toolsList = `{"jsonrpc":"2.0","id":7,"method":"tools/list"}`

// sessionRows counts the sessions in the database, live or not.
func sessionRows(t *testing.T, dsn string) int {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), dialectFor(dsn), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n int
	if err := st.DB().QueryRow("SELECT count(*) FROM mcp_sessions").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitExpired polls the database, as a replica with idle timeout idle
// reads it, until the session is gone.
func waitExpired(t *testing.T, dsn string, idle time.Duration, sid string, within time.Duration) {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), dialectFor(dsn), dsn, sqlstore.WithIdleTimeout(idle))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deadline := time.Now().Add(within)
	for {
		_, err := st.Get(context.Background(), sid)
		if errors.Is(err, mcpsession.ErrNotFound) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("session still alive after %v", within)
		}
		time.Sleep(idle / 10)
	}
}

// handleCount reads the count a handle of principal holds, as a replica
// with handle idle timeout idle reads it.
func handleCount(t *testing.T, dsn string, idle time.Duration, handle, principal string) int64 {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), dialectFor(dsn), dsn, sqlstore.WithHandleIdleTimeout(idle))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	state, err := st.GetHandle(context.Background(), handle, principal)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := state["counter"].(float64)
	return int64(n)
}

// waitHandleExpired polls the database, as a replica with handle idle
// timeout idle reads it, until the handle is gone.
func waitHandleExpired(t *testing.T, dsn string, idle time.Duration, handle, principal string, within time.Duration) {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), dialectFor(dsn), dsn, sqlstore.WithHandleIdleTimeout(idle))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	adaptertest.Eventually(t, within, "handle expiry", func() bool {
		_, err := st.GetHandle(context.Background(), handle, principal)
		if err != nil && !errors.Is(err, mcpsession.ErrHandleNotFound) {
			t.Fatal(err)
		}
		return err != nil
	})
}
