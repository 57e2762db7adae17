//lint:file-ignore SA1019 the tests exercise the session-based revisions, whose logging the sessionless one deprecates.

package gosdk

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession/internal/httpstatus"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// go-sdk closes a session itself when its keepalive pings fail, as they do
// on a replica that holds no GET stream of it. That closes only this
// replica's go-sdk session: the next request makes a new one, and the
// session lives on.
//
// The new session is closed again a keepalive later, with a call it is
// serving then: the interval is long enough for a call on a loaded machine
// (20 ms was not, under -race with the whole suite running).
func TestSessionClosedByGoSDKIsMadeAgain(t *testing.T) {
	t.Parallel()
	st := testdb.OpenStore(t, testdb.SQLiteFile(t))
	server := mcp.NewServer(&mcp.Implementation{Name: "pinging", Version: "1"}, &mcp.ServerOptions{KeepAlive: 250 * time.Millisecond})
	sessions, err := New(st, server)
	if err != nil {
		t.Fatal(err)
	}
	addTestTools(server, "pinging")
	srv := httptest.NewServer(sessions)
	t.Cleanup(func() {
		_ = sessions.Shutdown(context.Background())
		srv.Close()
	})
	url := srv.URL + "/mcp"
	sid := initialize(t, url, "c", "2025-11-25")
	eventually(t, 10*time.Second, "go-sdk closing the session whose pings fail", func() bool { return sessions.localCount() == 0 })
	for want := range []string{"1", "2"} {
		if got := callTool(t, url, sid, "counter", nil); got != []string{"1", "2"}[want] {
			t.Errorf("counter after go-sdk closed the session: %s", got)
		}
	}
	if _, err := st.Get(t.Context(), sid); err != nil {
		t.Errorf("the stored session: %v", err)
	}
}

// A GET stream's go-sdk session follows a log level set on another
// replica within a touch interval, with no other request for it: a log
// message sent out of band reaches the stream once the level lets it.
func TestGETStreamFollowsLevel(t *testing.T) {
	t.Parallel()
	dsn := testdb.SQLiteFile(t)
	a := newReplica(t, "a", testdb.OpenStore(t, dsn), WithTouchInterval(20*time.Millisecond))
	b := newReplica(t, "b", testdb.OpenStore(t, dsn))
	sid := initialize(t, a.url, "c", "2025-11-25")

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, a.url, nil)
	req.Header.Set(httpstatus.HeaderSessionID, sid)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: %v %v", resp, err)
	}
	defer resp.Body.Close()
	heard := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.Contains(sc.Text(), `"notifications/message"`) {
				close(heard)
				return
			}
		}
	}()

	logOutOfBand := func() {
		for ss := range a.sessions.server.Sessions() {
			if ss.ID() == sid {
				_ = ss.Log(context.Background(), &mcp.LoggingMessageParams{Level: "debug", Data: "out of band"})
			}
		}
	}
	logOutOfBand()
	select {
	case <-heard:
		t.Fatal("a debug message reached the stream before any setLevel")
	case <-time.After(100 * time.Millisecond): // a few touch intervals: nothing may come
	}
	if status, _ := call(t, b.url, sid, "logging/setLevel", map[string]any{"level": "debug"}); status != http.StatusOK {
		t.Fatalf("setLevel on b: %d", status)
	}
	deadline := time.After(10 * time.Second)
	for {
		logOutOfBand()
		select {
		case <-heard:
			return
		case <-deadline:
			t.Fatal("the level set on b never reached a's GET stream")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Shutdown ends the sessionless requests in flight too: go-sdk's client at
// its defaults, with a list-changed handler, holds a subscriptions/listen
// stream open, which would hold the HTTP server's shutdown.
func TestShutdownEndsListenStreams(t *testing.T) {
	t.Parallel()
	st := testdb.OpenStore(t, testdb.SQLiteFile(t))
	server := mcp.NewServer(&mcp.Implementation{Name: "listening", Version: "1"}, nil)
	addTestTools(server, "listening")
	sessions, err := New(st, server)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sessions)
	c := mcp.NewClient(&mcp.Implementation{Name: "modern", Version: "1"}, &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {},
	})
	session, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close()
	if session.ID() != "" {
		t.Fatalf("session %q; want the sessionless revision", session.ID())
	}
	if err := sessions.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() {
		srv.Close() // waits for the requests in flight
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the HTTP server's shutdown waited on a subscriptions/listen stream")
	}
}
