package adapterstate

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mcpsession/mcpsession"
)

// Session ids, under any key that names a session and at any depth, reach
// the log as digests; mcp-go's misleading sweep line goes down to Debug.
func TestRedactSessionIDs(t *testing.T) {
	var buf bytes.Buffer
	base := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})
	l := slog.New(RedactSessionIDs(base))
	const id = "SECRETSESSIONID0123456789"
	l.Info("Delivered sampling response", "session", id, "request", 7)
	l.With("mcp.session.id", id).Info("mcp.request", "mcp.method", "tools/call")
	l.Info("grouped", slog.Group("req", slog.String("sessionID", id), slog.String("path", "/mcp")))
	l.WithGroup("g").Error("failed", "session_id", id)
	l.Info("Sweeping expired session", "session", id) // demoted: not shown at Info
	out := buf.String()
	if strings.Contains(out, id) {
		t.Fatalf("a session id reached the log:\n%s", out)
	}
	if strings.Contains(out, "Sweeping") {
		t.Fatalf("the sweep line was not demoted:\n%s", out)
	}
	if n := strings.Count(out, "sha256:"); n != 4 {
		t.Fatalf("%d digests in the log; want 4:\n%s", n, out)
	}
	if !strings.Contains(out, "request=7") || !strings.Contains(out, "path=/mcp") {
		t.Fatalf("other attributes were lost:\n%s", out)
	}
	buf.Reset()
	debug := slog.New(RedactSessionIDs(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	debug.Info("Sweeping expired session", "session", id)
	if out := buf.String(); !strings.Contains(out, "level=DEBUG") || strings.Contains(out, id) {
		t.Fatalf("at Debug the sweep line shows, redacted: %s", out)
	}
}

// A store outage logs one line a second, not one per failed request, and
// says how many it left out.
func TestStoreFailedRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		c, err := New(Config{Name: "test", Store: nopStore{}, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
		if err != nil {
			t.Fatal(err)
		}
		outage := errors.New("connection refused")
		for range 500 {
			c.StoreFailed(context.Background(), "reading a session", outage)
			time.Sleep(2 * time.Millisecond) // 500 failures over a second
		}
		time.Sleep(time.Second)
		c.StoreFailed(context.Background(), "reading a session", outage)
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != 2 {
			t.Fatalf("%d lines for 501 failures over 2 s; want 2:\n%s", len(lines), buf.String())
		}
		if !strings.Contains(lines[1], "failures_not_logged=") || !strings.Contains(lines[0], "connection refused") {
			t.Fatalf("lines:\n%s", buf.String())
		}
	})
}

// nopStore is a Store that holds nothing, for a Core whose store is never
// called.
type nopStore struct{}

func (nopStore) Create(context.Context, string, map[string]any) error { return nil }
func (nopStore) Get(context.Context, string) (map[string]any, error) {
	return nil, mcpsession.ErrNotFound
}
func (nopStore) Update(context.Context, string, map[string]any) error { return nil }
func (nopStore) Delete(context.Context, string) error                 { return nil }
