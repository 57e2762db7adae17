package logredact

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// Session ids, under any key that names a session and at any depth, reach
// the log as digests; mcp-go's misleading sweep line goes down to Debug.
func TestHandler(t *testing.T) {
	var buf bytes.Buffer
	base := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})
	l := slog.New(Handler(base))
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
	debug := slog.New(Handler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	debug.Info("Sweeping expired session", "session", id)
	if out := buf.String(); !strings.Contains(out, "level=DEBUG") || strings.Contains(out, id) {
		t.Fatalf("at Debug the sweep line shows, redacted: %s", out)
	}
}
