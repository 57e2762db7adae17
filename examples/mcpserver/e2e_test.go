package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
)

const testIdle = 30 * time.Minute

// Initialize on one replica; notifications/initialized, logging/setLevel,
// whoami and counter on the other; the answers match on both.
func TestE2EStateFollowsSession(t *testing.T) {
	t.Parallel()
	eachCluster(t, func(t *testing.T, sdk, dsn string) {
		c := newCluster(t, sdk, dsn, testIdle)
		const a, b = 0, 1
		c.routeBy(func(method string) int {
			if method == string(mcp.MethodInitialize) {
				return a
			}
			return b
		})
		cl := newClient(t, c.url, "e2e-client")
		//lint:ignore SA1019 logging/setLevel is deprecated only from the sessionless revision on; sessions must keep the level.
		if err := cl.SetLevel(t.Context(), mcp.SetLevelRequest{Params: mcp.SetLevelParams{Level: mcp.LoggingLevelDebug}}); err != nil {
			t.Fatalf("setLevel: %v", err)
		}
		whoB := mustTool(t, cl, "whoami")
		countB := mustTool(t, cl, "counter")
		want := []hop{
			{"initialize", a, http.StatusOK},
			{"notifications/initialized", b, http.StatusAccepted},
			{"logging/setLevel", b, http.StatusOK},
			{"tools/call", b, http.StatusOK},
			{"tools/call", b, http.StatusOK},
		}
		if got := c.hops(); !slices.Equal(got, want) {
			t.Fatalf("requests went %v; want %v", got, want)
		}
		wantWho := `{"client":"e2e-client","protocolVersion":"2025-11-25","logLevel":"debug"}`
		if whoB != wantWho || countB != "1" {
			t.Errorf("on b: whoami %s, counter %s; want %s, 1", whoB, countB, wantWho)
		}

		c.settle() // with the cache, a learns of b's writes through the bus
		c.routeBy(func(string) int { return a })
		if whoA := mustTool(t, cl, "whoami"); whoA != whoB {
			t.Errorf("whoami on a %s; on b %s", whoA, whoB)
		}
		if n := mustTool(t, cl, "counter"); n != "2" {
			t.Errorf("counter on a after one on b: %s; want 2", n)
		}
		t.Logf("whoami on a and b: %s; counter b then a: %s, 2", whoB, countB)
	})
}

// An unknown session is 404 on both replicas, for POST, GET and DELETE,
// with one body whatever the method (each SDK's adapter its SDK's own:
// mcp-go's "Invalid session ID", go-sdk's "session not found"). DELETE
// that names no session is 400; GET that names none is 400 with go-sdk and,
// with mcp-go, a stream of mcp-go's own, as mcp-go serves it. A POST of the
// session-based revisions that names none (but initialize) is 400 with
// mcp-go, and with go-sdk what go-sdk answers: 200, with the JSON-RPC
// error of a session not initialized.
func TestE2EUnknownSession(t *testing.T) {
	t.Parallel()
	notFounds := map[string]string{"mcp-go": "Invalid session ID\n", "go-sdk": "session not found\n"}
	const missing = "Bad Request: Mcp-Session-Id header required\n"
	legacy := http.Header{adaptertest.HeaderProtocolVersion: {adaptertest.LegacyVersion}}
	eachCluster(t, func(t *testing.T, sdk, dsn string) {
		notFound := notFounds[sdk]
		getNoSession := map[string]int{"mcp-go": http.StatusOK, "go-sdk": http.StatusBadRequest}[sdk]
		c := newCluster(t, sdk, dsn, testIdle)
		sid := mcpsession.NewID()
		for i := range 2 {
			url := c.replica(i).url
			if status, body := rawPost(t, url, sid, toolsList); status != http.StatusNotFound || body != notFound {
				t.Errorf("POST on %s: %d %q; want 404 %q", replicaNames[i], status, body, notFound)
			}
			for _, m := range []string{http.MethodGet, http.MethodDelete} {
				r := adaptertest.SendWith(t, m, url, sid, legacy)
				if r.Status != http.StatusNotFound || (m == http.MethodDelete && string(r.Body) != notFound) {
					t.Errorf("%s on %s: %d %q; want 404 %q", m, replicaNames[i], r.Status, r.Body, notFound)
				}
			}
			r := adaptertest.PostWith(t, url, "", legacy, json.RawMessage(toolsList))
			switch sdk {
			case "go-sdk":
				if r.Status != http.StatusOK || !strings.Contains(string(r.Body), "invalid during session initialization") || r.Header.Get(adaptertest.HeaderSessionID) != "" {
					t.Errorf("POST with no session id on %s: %d %q; want 200 with go-sdk's error, no session", replicaNames[i], r.Status, r.Body)
				}
			default:
				if r.Status != http.StatusBadRequest || string(r.Body) != missing {
					t.Errorf("POST with no session id on %s: %d %q; want 400 %q", replicaNames[i], r.Status, r.Body, missing)
				}
			}
			for _, m := range []string{http.MethodGet, http.MethodDelete} {
				want := http.StatusBadRequest
				if m == http.MethodGet {
					want = getNoSession
				}
				if r := adaptertest.SendWith(t, m, url, "", legacy); r.Status != want {
					t.Errorf("%s with no session id on %s: %d %q; want %d", m, replicaNames[i], r.Status, r.Body, want)
				}
			}
		}
	})
}

// DELETE through one replica ends the session on the other; the client
// gets ErrSessionTerminated there and initializes again.
func TestE2EDeleteEndsSessionEverywhere(t *testing.T) {
	t.Parallel()
	eachCluster(t, func(t *testing.T, sdk, dsn string) {
		c := newCluster(t, sdk, dsn, testIdle)
		cl := newClient(t, c.url, "e2e-client") // initialize on a, initialized on b
		sid := cl.GetSessionId()
		if n := mustTool(t, cl, "counter"); n != "1" {
			t.Fatalf("counter: %s", n)
		}
		a, b := c.replica(0).url, c.replica(1).url
		if status := rawSend(t, http.MethodGet, b, sid); status != http.StatusOK {
			t.Fatalf("GET on b before DELETE: %d", status)
		}
		if status := rawSend(t, http.MethodDelete, a, sid); status != deleteStatus[sdk] {
			t.Fatalf("DELETE on a: %d", status)
		}
		c.settle()
		if status, _ := rawPost(t, b, sid, toolsList); status != http.StatusNotFound {
			t.Errorf("POST on b after DELETE on a: %d; want 404", status)
		}
		if status := rawSend(t, http.MethodGet, b, sid); status != http.StatusNotFound {
			t.Errorf("GET on b after DELETE on a: %d; want 404", status)
		}
		if status := rawSend(t, http.MethodDelete, b, sid); status != http.StatusNotFound {
			t.Errorf("DELETE on b after DELETE on a: %d; want 404", status)
		}
		if _, err := callTool(cl, "whoami"); !errors.Is(err, transport.ErrSessionTerminated) {
			t.Fatalf("client after DELETE: %v; want ErrSessionTerminated", err)
		}
		initialize(t, cl, "e2e-client")
		if cl.GetSessionId() == sid {
			t.Fatal("re-initialize kept the deleted session id")
		}
		if n := mustTool(t, cl, "counter"); n != "1" {
			t.Errorf("counter in the new session: %s; want 1", n)
		}
	})
}

// A replica shut down and started again serves the old session, and so
// does the other while it is down.
func TestE2ERestartKeepsSessions(t *testing.T) {
	t.Parallel()
	eachCluster(t, func(t *testing.T, sdk, dsn string) {
		c := newCluster(t, sdk, dsn, testIdle)
		cl := newClient(t, c.url, "e2e-client")
		sid := cl.GetSessionId()
		c.routeBy(func(string) int { return 0 })
		//lint:ignore SA1019 logging/setLevel is deprecated only from the sessionless revision on; sessions must keep the level.
		if err := cl.SetLevel(t.Context(), mcp.SetLevelRequest{Params: mcp.SetLevelParams{Level: mcp.LoggingLevelNotice}}); err != nil {
			t.Fatal(err)
		}
		if n := mustTool(t, cl, "counter"); n != "1" {
			t.Fatalf("counter: %s", n)
		}
		who := mustTool(t, cl, "whoami")

		c.stop(0)
		c.routeBy(func(string) int { return 1 })
		if n := mustTool(t, cl, "counter"); n != "2" {
			t.Errorf("counter on b while a is down: %s; want 2", n)
		}
		c.restart(0)
		c.restart(1)
		for i := range 2 {
			c.routeBy(func(string) int { return i })
			if got := mustTool(t, cl, "whoami"); got != who {
				t.Errorf("whoami on restarted %s: %s; want %s", replicaNames[i], got, who)
			}
			if n, want := mustTool(t, cl, "counter"), strconv.Itoa(3+i); n != want {
				t.Errorf("counter on restarted %s: %s; want %s", replicaNames[i], n, want)
			}
		}
		if cl.GetSessionId() != sid {
			t.Errorf("the client's session changed from %s to %s", sid, cl.GetSessionId())
		}
	})
}

// Use slides the idle expiry; once idle for longer than it the session is
// 404 and the client initializes again.
func TestE2EIdleExpiry(t *testing.T) {
	t.Parallel()
	eachCluster(t, func(t *testing.T, sdk, dsn string) {
		const idle = 2 * time.Second // long beside a call on a loaded machine: a call that outlasts it ends the session
		c := newCluster(t, sdk, dsn, idle)
		cl := newClient(t, c.url, "e2e-client")
		sid := cl.GetSessionId()
		if n := mustTool(t, cl, "counter"); n != "1" {
			t.Fatalf("counter: %s", n)
		}
		// Three times the idle timeout of steady use, round-robin, by a
		// tool that reads only: what keeps the session alive is the
		// adapter's touches.
		var calls int
		for start := time.Now(); time.Since(start) < 3*idle; calls++ {
			mustTool(t, cl, "whoami")
			time.Sleep(idle / 6)
		}
		if n := mustTool(t, cl, "counter"); n != "2" {
			t.Fatalf("counter after steady use: %s; want 2", n)
		}

		waitExpired(t, dsn, idle, sid, 10*time.Second)
		if status, _ := rawPost(t, c.replica(0).url, sid, toolsList); status != http.StatusNotFound {
			t.Errorf("POST after idle expiry: %d; want 404", status)
		}
		if _, err := callTool(cl, "counter"); !errors.Is(err, transport.ErrSessionTerminated) {
			t.Fatalf("client after idle expiry: %v; want ErrSessionTerminated", err)
		}
		initialize(t, cl, "e2e-client")
		if n := mustTool(t, cl, "counter"); n != "1" || cl.GetSessionId() == sid {
			t.Errorf("after re-initialize: counter %s, session %s (old %s)", n, cl.GetSessionId(), sid)
		}
		t.Logf("%d whoami calls over %v kept a session with a %v idle timeout alive", calls, 3*idle, idle)
	})
}

// 50 counter calls at once, spread over both replicas, all land.
func TestE2EParallelCounter(t *testing.T) {
	t.Parallel()
	eachCluster(t, func(t *testing.T, sdk, dsn string) {
		c := newCluster(t, sdk, dsn, testIdle)
		cl := newClient(t, c.url, "e2e-client")
		for range 3 {
			mustTool(t, cl, "counter")
		}
		c.hops()
		const n = 50
		results := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				text, err := callTool(cl, "counter")
				if err != nil {
					t.Errorf("call %d: %v", i, err)
					return
				}
				results[i], _ = strconv.Atoi(text)
			})
		}
		wg.Wait()
		perReplica := [2]int{}
		for _, h := range c.hops() {
			perReplica[h.replica]++
		}
		slices.Sort(results)
		for i, v := range results {
			if v != 4+i {
				t.Fatalf("counter values %v; want 4..%d once each", results, 3+n)
			}
		}
		if last := mustTool(t, cl, "counter"); last != fmt.Sprint(4+n) {
			t.Errorf("after %d parallel calls from 3 the next is %s; want %d", n, last, 4+n)
		}
		if perReplica[0] == 0 || perReplica[1] == 0 {
			t.Errorf("calls per replica %v; want both used", perReplica)
		}
		t.Logf("%d parallel counter calls, %d on a and %d on b: values 4..%d, each once", n, perReplica[0], perReplica[1], 3+n)
	})
}

// The sessionless revision works through the same replicas and stores no
// session: counter keeps its count under a handle instead.
func TestE2ESessionless(t *testing.T) {
	t.Parallel()
	eachCluster(t, func(t *testing.T, sdk, dsn string) {
		c := newCluster(t, sdk, dsn, testIdle)
		cl, err := client.NewStreamableHttpClient(c.url)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		if err := cl.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		initialize(t, cl, "modern")
		if cl.GetSessionId() != "" {
			t.Fatalf("sessionless client got session %q", cl.GetSessionId())
		}
		for range 2 { // one on each replica
			if who, want := mustTool(t, cl, "whoami"), `{"client":"modern","protocolVersion":"2026-07-28","logLevel":"`+defaultLevel[sdk]+`"}`; who != want {
				t.Errorf("whoami: %s; want %s", who, want)
			}
		}
		if n, err := callTool(cl, "counter"); err != nil || n != "1" {
			t.Errorf("counter without a session: %q %v; want 1, on a new handle", n, err)
		}
		if n := sessionRows(t, dsn); n != 0 {
			t.Errorf("%d sessions in the database; want 0", n)
		}
	})
}

// counter's schemas, as tools/list gives them in both eras: an optional
// string argument handle; an output of count and, optionally, handle.
func TestE2ECounterSchemas(t *testing.T) {
	t.Parallel()
	eachCluster(t, func(t *testing.T, sdk, dsn string) {
		c := newCluster(t, sdk, dsn, testIdle)
		url := c.replica(0).url
		status, modern := adaptertest.CallModern(t, url, nil, "tools/list", nil)
		if status != http.StatusOK {
			t.Fatalf("tools/list: %d %s", status, modern)
		}
		sid := rawInitialize(t, url)
		status, legacy := adaptertest.Call(t, url, sid, "tools/list", nil)
		if status != http.StatusOK {
			t.Fatalf("tools/list in a session: %d %s", status, legacy)
		}
		for era, res := range map[string][]byte{"2026-07-28": modern, "2025-11-25": legacy} {
			var list struct {
				Tools []listedTool `json:"tools"`
			}
			if err := json.Unmarshal(res, &list); err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(list.Tools, func(tl listedTool) bool { return tl.Name == counterTool })
			if i < 0 {
				t.Fatalf("%s: no counter in %s", era, res)
			}
			in, out := list.Tools[i].InputSchema, list.Tools[i].OutputSchema
			if in.Type != "object" || in.Properties["handle"].Type != "string" || slices.Contains(in.Required, "handle") {
				t.Errorf("%s: counter's input schema %+v; want an optional string handle", era, in)
			}
			if out.Type != "object" || out.Properties["count"].Type != "integer" || out.Properties["handle"].Type != "string" ||
				!slices.Equal(out.Required, []string{"count"}) {
				t.Errorf("%s: counter's output schema %+v; want count (required) and handle", era, out)
			}
		}
	})
}

// listedTool is what TestE2ECounterSchemas reads of a tool in tools/list.
type listedTool struct {
	Name         string     `json:"name"`
	InputSchema  jsonSchema `json:"inputSchema"`
	OutputSchema jsonSchema `json:"outputSchema"`
}

// jsonSchema is what TestE2ECounterSchemas reads of a JSON schema.
type jsonSchema struct {
	Type       string                `json:"type"`
	Properties map[string]jsonSchema `json:"properties"`
	Required   []string              `json:"required"`
}
