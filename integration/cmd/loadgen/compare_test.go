package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// A churn CSV reads back as the samples' table figures, and two of them
// chart side by side into a PNG.
func TestChurnCompare(t *testing.T) {
	dir := t.TempDir()
	samples := func(hot int64) []churnSample {
		var out []churnSample
		for i := range int64(4) {
			out = append(out, churnSample{
				Elapsed: time.Duration(i) * 30 * time.Second,
				Tables: map[string]tableSample{
					"mcp_sessions": {Live: 100 + i, Dead: 10 * i, Upd: 50 * i, HotUpd: hot * i, Heap: 8192 * (i + 1), Index: 16384, Total: 8192*(i+1) + 16384},
					"mcp_handles":  {Live: 200, Dead: i, Upd: 20 * i, HotUpd: 0, Heap: 8192, Index: 8192, Total: 16384},
				},
				Indexes: map[string]indexSample{"mcp_sessions_pkey": {Table: "mcp_sessions", Size: 16384, Density: 90}},
			})
		}
		return out
	}
	before, after := filepath.Join(dir, "before.csv"), filepath.Join(dir, "after.csv")
	if err := writeChurnCSV(before, samples(0)); err != nil {
		t.Fatal(err)
	}
	if err := writeChurnCSV(after, samples(45)); err != nil {
		t.Fatal(err)
	}
	got, err := readChurnCSV(after)
	if err != nil {
		t.Fatal(err)
	}
	want := samples(45)
	if len(got) != len(want) {
		t.Fatalf("%d samples read back; want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Elapsed != want[i].Elapsed || !reflect.DeepEqual(got[i].Tables, stripped(want[i].Tables)) {
			t.Fatalf("sample %d read back as %+v; want %+v", i, got[i], want[i])
		}
	}

	cfg, err := parseFlags([]string{"-churn-compare", "before=" + before + ",after=" + after, "-out", dir}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := run(t.Context(), []string{"-churn-compare", cfg.compare, "-out", dir}, &out); err != nil {
		t.Fatal(err)
	}
	png, err := os.ReadFile(filepath.Join(dir, "churn-compare.png"))
	if err != nil {
		t.Fatalf("no chart: %v (output %q)", err, out.String())
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatal("churn-compare.png is not a PNG")
	}

	for _, bad := range [][]string{
		{"-churn-compare", "before=" + before},                                            // one run
		{"-churn-compare", "before=" + before + ",after=" + after},                        // no -out
		{"-churn-compare", "before=" + before + ",after", "-out", dir},                    // no path
		{"-churn-compare", "before=" + before + ",after=" + after, "-churn", "-out", dir}, // with a soak
	} {
		if cfg, err := parseFlags(bad, io.Discard); err == nil {
			if _, err := parseCompare(cfg.compare); err == nil {
				t.Errorf("loadgen %s: accepted", strings.Join(bad, " "))
			}
		}
	}
	if _, err := parseCompare("a=" + filepath.Join(dir, "churn-compare.png") + ",b=" + after); err == nil {
		t.Error("a PNG read as a churn CSV")
	}
}

// stripped is what a churn CSV keeps of each table's sample for the
// comparison: the counts and sizes, not pgstattuple's percentages or the
// autovacuum counters.
func stripped(m map[string]tableSample) map[string]tableSample {
	out := map[string]tableSample{}
	for k, t := range m {
		out[k] = tableSample{Live: t.Live, Dead: t.Dead, Upd: t.Upd, HotUpd: t.HotUpd, Heap: t.Heap, Index: t.Index, Total: t.Total}
	}
	return out
}
