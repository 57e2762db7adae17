package main

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The -memory baseline serves the same tools as the store: counter in a
// session and on a handle, the handle its principal's only, and a deleted
// session is gone.
func TestMemoryReplica(t *testing.T) {
	t.Parallel()
	r, err := memoryReplica(replicaConfig{sdk: "mcp-go", idleTimeout: time.Minute, logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", r.handler)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = r.shutdown(t.Context()) })
	url := srv.URL + "/mcp"

	c := newClient(t, url, "memory-client")
	for _, want := range []string{"1", "2"} {
		if got := mustTool(t, c, "counter"); got != want {
			t.Fatalf("counter in the session: %s; want %s", got, want)
		}
	}
	if got := mustTool(t, c, "whoami"); got != `{"client":"memory-client","protocolVersion":"2025-11-25","logLevel":"error"}` {
		t.Errorf("whoami: %s", got)
	}

	owner := connectMCPGo(false)(t, url, "owner")
	h := mustCount(t, owner, "", 1).Handle
	mustCount(t, owner, h, 2)
	if _, err := count(connectMCPGo(false)(t, url, "someone-else"), h); err == nil {
		t.Error("another principal counted on the owner's handle")
	}

	sid := c.GetSessionId()
	if status := rawSend(t, http.MethodDelete, url, sid); status != http.StatusOK {
		t.Fatalf("DELETE: status %d", status)
	}
	if status, _ := rawPost(t, url, sid, `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"counter"}}`); status != http.StatusNotFound {
		t.Errorf("counter after DELETE: status %d; want 404", status)
	}
}

func TestMemoryFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-memory", "-cache"}, {"-memory", "-sdk", "go-sdk"}} {
		if _, err := parseFlags(args); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v; want errUsage", args, err)
		}
	}
	if c, err := parseFlags([]string{"-memory"}); err != nil || !c.memory {
		t.Errorf("-memory: %+v, %v", c, err)
	}
}
