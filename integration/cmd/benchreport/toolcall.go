package main

import (
	"fmt"
	"strings"
)

// BenchmarkToolCall: one tools/call through each SDK's own handler
// (sessions in memory) and through the project's adapter for it (sessions
// in the store).

var toolCallSDKs = []struct{ sdk, label, adapter string }{
	{"mcp-go", "mcp-go", "mcpgo"},
	{"go-sdk", "go-sdk", "gosdk"},
}

// toolCallImpls in report order: the in-memory baseline first.
var toolCallImpls = []struct{ impl, dialect, label string }{
	{"memory", "none", "in memory (the SDK's own handler)"},
	{"adapter", "postgres", "adapter, Postgres"},
	{"adapter+cache", "postgres", "adapter + cache, Postgres"},
	{"adapter", "sqlite", "adapter, SQLite"},
	{"adapter+cache", "sqlite", "adapter + cache, SQLite"},
}

func toolCallName(sdk, impl, dialect string, par int) string {
	return fmt.Sprintf("ToolCall/sdk=%s/impl=%s/dialect=%s/par=%d", sdk, impl, dialect, par)
}

// toolCallRatio is the adapter's throughput as a fraction of the SDK's
// in-memory sessions'.
func toolCallRatio(res *results, sdk, dialect string, par int) (ratio float64, adapter, memory stat, ok bool) {
	return toolCallRatioOf(res, sdk, "adapter", dialect, par)
}

// toolCallRatioOf is toolCallRatio for the adapter variant impl.
func toolCallRatioOf(res *results, sdk, impl, dialect string, par int) (ratio float64, adapter, memory stat, ok bool) {
	a, ok1 := res.stat(toolCallName(sdk, impl, dialect, par), unitTime)
	m, ok2 := res.stat(toolCallName(sdk, "memory", "none", par), unitTime)
	if !ok1 || !ok2 {
		return 0, a, m, false
	}
	return m.Center / a.Center, a, m, true
}

func writeToolCall(b *strings.Builder, res *results) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	if !res.has("ToolCall/") {
		return
	}
	w("## tools/call through the adapters\n\n")
	w("One `tools/call` of a tool that touches no state, on an initialized session of the 2025-11-25 revision, over ")
	w("streamable HTTP (a loopback server, keep-alive connections; with 16 goroutines, spread over 16 sessions): through ")
	w("each SDK's own handler with its sessions in memory, which is what one replica costs without this project, and ")
	w("through the project's adapter for that SDK (`mcpgo`, `gosdk`) with the sessions in Postgres or SQLite. The adapter ")
	w("reads the session from the store on every request and writes a touch at most once a minute, so never within a ")
	w("sample; that read is most of the difference, and with the read cache (package cache, `adapter + cache`) it comes ")
	w("from memory. The last column is the adapter's throughput as a fraction of the ")
	w("in-memory sessions' (1.00: as fast).\n\n")
	w("| SDK | Sessions | Goroutines | Time/op | ± | Ops/s | B/op | Allocs/op | ÷ in memory |\n")
	w("|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range toolCallSDKs {
		for _, par := range res.parallelism() {
			for _, im := range toolCallImpls {
				n := toolCallName(s.sdk, im.impl, im.dialect, par)
				t, ok := res.stat(n, unitTime)
				if !ok {
					continue
				}
				bytes, _ := res.stat(n, unitBytes)
				allocs, _ := res.stat(n, unitAllocs)
				ratio := ""
				if r, _, _, ok := toolCallRatioOf(res, s.sdk, im.impl, im.dialect, par); ok && im.impl != "memory" {
					ratio = fmt.Sprintf("%.2f", r)
				}
				w("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s.label, im.label, parLabel(par),
					fmtTime(t.Center), fmtSpread(t), fmtOps(t.Center), fmtBytes(bytes.Center), fmtCount(allocs.Center), ratio)
			}
		}
	}
	w("\n")
}

// toolCallTargets report, for each SDK, the adapter beside the in-memory
// sessions. The go-sdk adapter's issue sets no bound: the target is that
// the comparison was measured, on both dialects, and the figure is the
// ratio.
func toolCallTargets(res *results) []target {
	var ts []target
	for _, s := range toolCallSDKs {
		name := fmt.Sprintf("tools/call through %s measured beside %s's in-memory sessions, Postgres and SQLite", s.adapter, s.label)
		var figures []string
		missing := false
		for _, d := range dialects {
			r, a, m, ok := toolCallRatio(res, s.sdk, d, 1)
			if !ok {
				missing = true
				continue
			}
			figures = append(figures, fmt.Sprintf("%s %.2f of in-memory throughput (%s beside %s)", dialectLabel[d], r, fmtTime(a.Center), fmtTime(m.Center)))
		}
		if missing {
			ts = append(ts, noData(name, "BenchmarkToolCall for "+s.label))
			continue
		}
		ts = append(ts, target{Name: name, Figure: strings.Join(figures, "; ") + ", 1 goroutine", Status: statusMet})
	}
	return ts
}
