package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"

	mcpgomcp "github.com/mark3labs/mcp-go/mcp"
	mcpgoserver "github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/gosdk"
	"github.com/mcpsession/mcpsession/mcpgo"
	"github.com/mcpsession/mcpsession/mcpsessiontest"
	"github.com/mcpsession/mcpsession/sqlstore"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The SDKs of BenchmarkToolCall, and where their sessions live.
const (
	sdkMCPGo = "mcp-go"
	sdkGoSDK = "go-sdk"
	// implMemory is the SDK's own streamable-HTTP handler, sessions in its
	// memory: what a single replica costs without this project.
	implMemory = "memory"
	// implAdapterCache is the adapter over a store behind package cache:
	// the session read on every request comes from memory.
	implAdapterCache = "adapter+cache"
	// implAdapter is the SDK behind this project's adapter for it (mcpgo,
	// gosdk), sessions in a sqlstore.Store.
	implAdapter = "adapter"
	// dialectNone names the in-memory sessions' "database".
	dialectNone = "none"
)

var toolCallSDKs = []string{sdkMCPGo, sdkGoSDK}

// toolCallSessions is how many sessions the parallel case spreads its calls
// over, one client each, as many clients of one server would.
const toolCallSessions = 16

// BenchmarkToolCall times one tools/call over streamable HTTP (a loopback
// httptest server, keep-alive connections) of a tool that touches no state,
// on an initialized session of the 2025-11-25 revision: through each SDK's
// own handler with its sessions in memory, and through the project's
// adapter for that SDK with the sessions in Postgres and in SQLite. The
// adapter reads the session from the store on every request (and writes a
// touch at most once a minute, so never within a sample); that read, and
// for go-sdk the adapter's routing, is the difference.
func BenchmarkToolCall(b *testing.B) {
	quiet := slog.New(slog.DiscardHandler)
	dialects := availableDialects(b)
	for _, sdk := range toolCallSDKs {
		type variant struct{ impl, dialect string }
		variants := []variant{{implMemory, dialectNone}}
		for _, d := range dialects {
			variants = append(variants, variant{implAdapter, d}, variant{implAdapterCache, d})
		}
		for _, v := range variants {
			var store mcpsession.Store
			switch v.impl {
			case implAdapter:
				store = toolCallStore(b, v.dialect)
			case implAdapterCache:
				store = newCache(b, toolCallStore(b, v.dialect))
			}
			srv := httptest.NewServer(toolCallHandler(b, sdk, store, quiet))
			b.Cleanup(srv.Close)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * toolCallSessions}}
			b.Cleanup(client.CloseIdleConnections)
			url := srv.URL + "/mcp"
			sids := make([]string, toolCallSessions)
			for i := range sids {
				sids[i] = toolCallInitialize(b, client, url)
			}
			for _, par := range parallelisms() {
				b.Run(toolCallName(sdk, v.impl, v.dialect, par), func(b *testing.B) {
					run(b, par, func(ctx context.Context, i int) error {
						return toolCall(ctx, client, url, sids[i%len(sids)], i)
					})
				})
			}
		}
	}
}

func toolCallName(sdk, impl, dialect string, par int) string {
	return fmt.Sprintf("sdk=%s/impl=%s/dialect=%s/par=%d", sdk, impl, dialect, par)
}

func toolCallStore(b *testing.B, dialect string) *sqlstore.Store {
	b.Helper()
	opts := []sqlstore.Option{sqlstore.WithAutoMigrate(), sqlstore.WithIdleTimeout(idleTimeout)}
	if dialect == dialectPostgres {
		return openStore(b, mcpsessiontest.PostgresDSN(b), opts...)
	}
	return openStore(b, "sqlite:"+filepath.Join(b.TempDir(), "sessions.db"), opts...)
}

// toolCallHandler is the MCP endpoint of the SDK, with one tool, "ping",
// that answers "pong": through the adapter when store is set, else the
// SDK's own handler.
func toolCallHandler(b *testing.B, sdk string, store mcpsession.Store, logger *slog.Logger) http.Handler {
	b.Helper()
	switch sdk {
	case sdkMCPGo:
		ping := func(context.Context, mcpgomcp.CallToolRequest) (*mcpgomcp.CallToolResult, error) {
			return mcpgomcp.NewToolResultText("pong"), nil
		}
		opts := []mcpgoserver.StreamableHTTPOption{mcpgoserver.WithStreamableHTTPLogger(logger)}
		if store == nil {
			ms := mcpgoserver.NewMCPServer("bench", "1.0.0", mcpgoserver.WithToolCapabilities(false))
			ms.AddTool(mcpgomcp.NewTool("ping"), ping)
			return mcpgoserver.NewStreamableHTTPServer(ms, opts...)
		}
		sessions, err := mcpgo.New(store)
		if err != nil {
			b.Fatal(err)
		}
		ms := mcpgoserver.NewMCPServer("bench", "1.0.0", append(sessions.ServerOptions(), mcpgoserver.WithToolCapabilities(false))...)
		ms.AddTool(mcpgomcp.NewTool("ping"), ping)
		return sessions.Handler(mcpgoserver.NewStreamableHTTPServer(ms, append(opts, sessions.HTTPOptions()...)...))
	default:
		server := mcp.NewServer(&mcp.Implementation{Name: "bench", Version: "1.0.0"}, &mcp.ServerOptions{Logger: logger})
		server.AddTool(&mcp.Tool{Name: "ping", InputSchema: map[string]any{"type": "object"}},
			func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "pong"}}}, nil
			})
		if store == nil {
			return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, &mcp.StreamableHTTPOptions{Logger: logger})
		}
		sessions, err := gosdk.New(store, server)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = sessions.Shutdown(context.Background()) })
		return sessions
	}
}

// toolCallInitialize opens a session, as a client pinned to 2025-11-25
// does: initialize, then notifications/initialized.
func toolCallInitialize(b *testing.B, client *http.Client, url string) string {
	b.Helper()
	ctx := context.Background()
	resp, err := mcpPost(ctx, client, url, "", `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1.0.0"}}}`)
	if err != nil {
		b.Fatal(err)
	}
	sid := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != http.StatusOK || sid == "" {
		b.Fatalf("initialize: %d, session %q", resp.StatusCode, sid)
	}
	resp, err = mcpPost(ctx, client, url, sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		b.Fatalf("notifications/initialized: %v %v", resp, err)
	}
	return sid
}

// toolCall is the timed request: tools/call of ping, with a JSON-RPC id of
// its own (go-sdk refuses an id already in flight on the session), its
// answer read whole and checked.
func toolCall(ctx context.Context, client *http.Client, url, sid string, i int) error {
	body := `{"jsonrpc":"2.0","id":` + strconv.Itoa(i+1) + `,"method":"tools/call","params":{"name":"ping","arguments":{}}}`
	resp, err := mcpPost(ctx, client, url, sid, body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(resp.body, []byte(`"pong"`)) {
		return fmt.Errorf("tools/call: %d %s", resp.StatusCode, resp.body)
	}
	return nil
}

type mcpResponse struct {
	*http.Response
	body []byte
}

func mcpPost(ctx context.Context, client *http.Client, url, sid, body string) (mcpResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewBufferString(body))
	if err != nil {
		return mcpResponse{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	}
	resp, err := client.Do(req)
	if err != nil {
		return mcpResponse{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return mcpResponse{}, err
	}
	return mcpResponse{resp, b}, nil
}
