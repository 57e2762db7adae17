package gosdk_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/eventstore"
	"github.com/mcpsession/mcpsession/gosdk"
	"github.com/mcpsession/mcpsession/sqlstore"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Two replicas, each with its store and bus over one database: a
// notification sent on one reaches the session's GET stream open on the
// other.
func Example_streams() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "gosdk-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dsn := "sqlite:" + filepath.Join(dir, "sessions.db")

	newReplica := func() (*gosdk.Sessions, string) {
		store, err := sqlstore.Open(ctx, sqlite.Dialect(), dsn, sqlstore.WithAutoMigrate())
		if err != nil {
			log.Fatal(err)
		}
		b, err := bus.New(store) // SQLite: the bus polls the database
		if err != nil {
			log.Fatal(err)
		}
		go b.Run(ctx)
		<-b.Ready()
		events, err := eventstore.New(store)
		if err != nil {
			log.Fatal(err)
		}
		server := mcp.NewServer(&mcp.Implementation{Name: "example", Version: "1.0.0"}, nil)
		sessions, err := gosdk.New(store, server, gosdk.WithStreams(b, events))
		if err != nil {
			log.Fatal(err)
		}
		srv := httptest.NewServer(sessions)
		go func() {
			<-ctx.Done()
			_ = sessions.Shutdown(context.Background())
			srv.Close()
			store.Close()
		}()
		return sessions, srv.URL + "/mcp"
	}
	a, urlA := newReplica()
	_, urlB := newReplica()

	// initialize on a.
	init, _ := http.NewRequest(http.MethodPost, urlA, strings.NewReader(
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"example","version":"1"}}}`))
	init.Header.Set("Content-Type", "application/json")
	init.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(init)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	sid := resp.Header.Get("Mcp-Session-Id")

	// The session's GET stream, on b.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, urlB, nil)
	req.Header.Set("Mcp-Session-Id", sid)
	req.Header.Set("Accept", "text/event-stream")
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer stream.Body.Close()

	// A notification sent by a.
	if err := a.Notify(ctx, sid, "notifications/message", map[string]any{"level": "info", "data": "hello from a"}); err != nil {
		log.Fatal(err)
	}
	sc := bufio.NewScanner(stream.Body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok && strings.Contains(data, "notifications/message") {
			fmt.Println(data)
			break
		}
	}
	// Output:
	// {"jsonrpc":"2.0","method":"notifications/message","params":{"data":"hello from a","level":"info"}}
}
