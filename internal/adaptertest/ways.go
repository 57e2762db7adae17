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
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(targets[(next.Add(1)-1)%uint64(len(targets))])
		},
		FlushInterval: -1,
	}
	// The request's body is read whole before it is proxied, as load
	// balancers buffer bodies: a body still being copied when the answer
	// starts is discarded by net/http under the proxy's transport, which
	// then cuts the streamed answer short ("use of closed network
	// connection").
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
