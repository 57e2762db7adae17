package adaptertest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mcpsession/mcpsession/internal/testdb"
)

// Way is one of the ways a case ported from an SDK's own tests runs: on
// the SDK's own handler, which proves the port faithful, or on replicas of
// the adapter over one database.
type Way struct {
	// Name is the subtest's: "sdk", or the database and the replica
	// count ("sqlite/1", "postgres/2").
	Name string
	// Replicas is 0 for the SDK's own handler, else how many replicas
	// serve the case, behind RoundRobin when more than one.
	Replicas int
	// DSN is the replicas' database; "" for the SDK's own handler.
	DSN string
}

// SDK reports whether the way is the SDK's own handler.
func (w Way) SDK() bool { return w.Replicas == 0 }

// Ways runs fn in parallel subtests: once on the SDK's own handler, then
// with one replica and with two on a SQLite file and on a Postgres schema
// of their own (testdb.Each).
func Ways(t *testing.T, fn func(t *testing.T, w Way)) {
	t.Helper()
	t.Run("sdk", func(t *testing.T) {
		t.Parallel()
		fn(t, Way{Name: "sdk"})
	})
	testdb.Each(t, func(t *testing.T, dsn string) {
		db := "postgres"
		if strings.HasPrefix(dsn, "sqlite:") {
			db = "sqlite"
		}
		for _, n := range []int{1, 2} {
			w := Way{Name: db + "/" + string(rune('0'+n)), Replicas: n, DSN: dsn}
			t.Run(string(rune('0'+n)), func(t *testing.T) { fn(t, w) })
		}
	})
}

// RoundRobin serves the replicas at urls (their servers' base URLs)
// behind an httputil.ReverseProxy that sends each request to the next
// one, as a load balancer without sticky sessions does, and returns the
// proxy's base URL. Responses stream through (SSE). The proxy stops when
// t ends.
func RoundRobin(t testing.TB, urls ...string) string {
	t.Helper()
	srv := httptest.NewServer(roundRobin(t, false, urls))
	t.Cleanup(srv.Close)
	return srv.URL
}

// RoundRobinHandler is RoundRobin's proxy without a server of its own, for
// a case that serves it on a listener of its choice. It passes the
// client's Host header on, as a load balancer in front of the replicas
// does, so that their checks of it (DNS rebinding protection) see the
// client's.
func RoundRobinHandler(t testing.TB, urls ...string) http.Handler {
	t.Helper()
	return roundRobin(t, true, urls)
}

func roundRobin(t testing.TB, keepHost bool, urls []string) http.Handler {
	t.Helper()
	if len(urls) == 0 {
		t.Fatal("RoundRobin: no replicas")
	}
	targets := make([]*url.URL, len(urls))
	for i, u := range urls {
		target, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		targets[i] = target
	}
	var next atomic.Uint64
	// A transport of its own: a pool shared with other tests' proxies may
	// hold an idle connection to a closed server whose port a replica of
	// this test now has, and a POST on it fails (502).
	transport := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(transport.CloseIdleConnections)
	rp := &httputil.ReverseProxy{
		Transport: transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(targets[(next.Add(1)-1)%uint64(len(targets))])
			if keepHost {
				pr.Out.Host = pr.In.Host
			}
		},
		FlushInterval: -1,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A replica may answer (and the proxy pass its headers on) before
		// the proxy's transport has done with the request body; Go's
		// HTTP/1 server then closes that body, the transport's write
		// fails, and it closes the connection the answer streams on
		// ("use of closed network connection"): the client sees the
		// answer cut. The body is read whole first, as load balancers
		// buffer bodies, and full duplex keeps the client's open.
		_ = http.NewResponseController(w).EnableFullDuplex()
		if r.Body != nil {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		}
		rp.ServeHTTP(w, r)
	})
}
