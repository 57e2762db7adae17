package mcpgo_test

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

	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/eventstore"
	"github.com/mcpsession/mcpsession/mcpgo"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// Two replicas, each with its store and bus over one database: a
// notification sent on one reaches the session's GET stream open on the
// other.
func Example_streams() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "mcpgo-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dsn := "sqlite:" + filepath.Join(dir, "sessions.db")

	newReplica := func() (*mcpgo.Sessions, string) {
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
		sessions, err := mcpgo.New(store, mcpgo.WithStreams(b, events))
		if err != nil {
			log.Fatal(err)
		}
		mcpServer := server.NewMCPServer("example", "1.0.0", sessions.ServerOptions()...)
		srv := httptest.NewServer(sessions.Handler(server.NewStreamableHTTPServer(mcpServer, sessions.HTTPOptions()...)))
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
	resp, err := http.Post(urlA, "application/json", strings.NewReader(
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"example","version":"1"}}}`))
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
