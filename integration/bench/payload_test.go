package bench

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
)

// Payload sizes, as the sub-benchmarks name them.
const (
	sizeSmall = "500B"
	sizeLarge = "64KiB"
)

var sizes = []string{sizeSmall, sizeLarge}

// metadata returns a fresh copy of the session metadata of the named size.
// Copies, because the peers merge into the map they decode and a benchmark
// must not change the payload the next one sends.
func metadata(size string) map[string]any {
	switch size {
	case sizeSmall:
		return smallMetadata()
	case sizeLarge:
		return largeMetadata()
	}
	panic("bench: unknown size " + size)
}

// smallMetadata is what an MCP server keeps for a session after initialize:
// the negotiated protocol version, the client's info and capabilities, the
// server's own capabilities, the log level the client set. About 500 bytes
// of JSON.
func smallMetadata() map[string]any {
	return map[string]any{
		"protocolVersion": "2025-06-18",
		"clientInfo":      map[string]any{"name": "claude-code", "title": "Claude Code", "version": "1.0.72"},
		"clientCapabilities": map[string]any{
			"roots":       map[string]any{"listChanged": true},
			"sampling":    map[string]any{},
			"elicitation": map[string]any{},
		},
		"serverCapabilities": map[string]any{
			"logging":     map[string]any{},
			"completions": map[string]any{},
			"prompts":     map[string]any{"listChanged": true},
			"resources":   map[string]any{"subscribe": true, "listChanged": true},
			"tools":       map[string]any{"listChanged": true},
		},
		"logLevel":    "info",
		"initialized": true,
		"userAgent":   "claude-code/1.0.72 (external, cli)",
		"remoteAddr":  "203.0.113.27:51544",
		"tenant":      "acme-prod-eu-west-1",
		"lastEventId": "01JZ8Q4W6Y3N5V7K2M9D1R8T0B",
	}
}

// largeMetadata is smallMetadata plus application state an MCP server may
// keep per session: resource subscriptions and a tool's working notes, to
// about 64 KiB of JSON. Built once, copied per call.
var largeMetadata = func() func() map[string]any {
	build := sync.OnceValue(func() map[string]any {
		m := smallMetadata()
		subs := make([]any, 0, 100)
		for i := range 100 {
			subs = append(subs, fmt.Sprintf("file:///workspace/acme/services/billing/internal/ledger/part_%03d.go", i))
		}
		m["resourceSubscriptions"] = subs
		notes := map[string]any{}
		m["toolState"] = notes
		// Varied text, as real notes are: each entry differs, so
		// neither jsonb's TOAST compression nor SQLite is handed a
		// run of one repeated string.
		words := strings.Fields("ledger invoice account balance posting journal reconcile currency period " +
			"accrual deferral refund dispute payout settlement fee tax rounding audit trail export")
		for i := 0; size(m) < 64<<10-300; i++ {
			var sb strings.Builder
			for j := 0; sb.Len() < 280; j++ {
				sb.WriteString(words[(i*7+j*j+j)%len(words)])
				sb.WriteByte(' ')
			}
			notes[fmt.Sprintf("note-%03d", i)] = map[string]any{
				"text": sb.String(), "step": float64(i), "done": i%3 == 0,
			}
		}
		return m
	})
	return func() map[string]any { return deepCopy(build()) }
}()

func deepCopy(m map[string]any) map[string]any {
	out := maps.Clone(m)
	for k, v := range out {
		switch v := v.(type) {
		case map[string]any:
			out[k] = deepCopy(v)
		case []any:
			out[k] = append([]any(nil), v...)
		}
	}
	return out
}

// size is the length of m's JSON encoding.
func size(m map[string]any) int {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return len(b)
}

// patch is what an Update sends in the benchmarks: two keys, as a server
// does when the client sets its log level, whatever the size of the
// session's metadata.
func patch(i int) map[string]any {
	levels := [...]string{"debug", "info", "notice", "warning"}
	return map[string]any{"logLevel": levels[i%len(levels)], "lastRequestId": float64(i)}
}

func TestPayloadSizes(t *testing.T) {
	for _, tc := range []struct {
		size     string
		min, max int
	}{
		{sizeSmall, 450, 550},
		{sizeLarge, 62 << 10, 66 << 10},
	} {
		if n := size(metadata(tc.size)); n < tc.min || n > tc.max {
			t.Errorf("metadata(%s) encodes to %d bytes; want %d to %d", tc.size, n, tc.min, tc.max)
		}
	}
	// Copies are independent.
	a := metadata(sizeLarge)
	a["toolState"].(map[string]any)["note-000"] = "changed"
	if b := metadata(sizeLarge); b["toolState"].(map[string]any)["note-000"] == "changed" {
		t.Error("metadata(64KiB) returned a shared map")
	}
}
