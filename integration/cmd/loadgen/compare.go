package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot/plotter"
)

// churnRun is one churn soak's samples, read back from its CSV, under a
// label for the comparison.
type churnRun struct {
	label   string
	samples []churnSample
}

// parseCompare reads -churn-compare: label=path.csv,label=path.csv…
func parseCompare(spec string) ([]churnRun, error) {
	var runs []churnRun
	for item := range strings.SplitSeq(spec, ",") {
		label, path, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || label == "" || path == "" {
			return nil, fmt.Errorf("-churn-compare %q: want label=churn.csv,label=churn.csv", spec)
		}
		samples, err := readChurnCSV(path)
		if err != nil {
			return nil, err
		}
		runs = append(runs, churnRun{label: label, samples: samples})
	}
	if len(runs) < 2 {
		return nil, fmt.Errorf("-churn-compare %q: want at least two runs", spec)
	}
	return runs, nil
}

// readChurnCSV reads back the table rows of a CSV writeChurnCSV wrote, one
// sample per elapsed time, in order.
func readChurnCSV(path string) ([]churnSample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	for _, h := range []string{"elapsed_s", "relation", "kind", "live", "dead", "updated", "hot_updated", "heap_bytes", "index_bytes", "total_bytes"} {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("%s: no column %s: not a churn CSV", path, h)
		}
	}
	var samples []churnSample
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if rec[col["kind"]] != "table" {
			continue
		}
		secs, err := strconv.ParseFloat(rec[col["elapsed_s"]], 64)
		if err != nil {
			return nil, fmt.Errorf("%s: elapsed_s %q: %w", path, rec[col["elapsed_s"]], err)
		}
		elapsed := time.Duration(secs * float64(time.Second))
		if len(samples) == 0 || samples[len(samples)-1].Elapsed != elapsed {
			samples = append(samples, churnSample{Elapsed: elapsed, Tables: map[string]tableSample{}})
		}
		var t tableSample
		for _, v := range []struct {
			name string
			to   *int64
		}{{"live", &t.Live}, {"dead", &t.Dead}, {"updated", &t.Upd}, {"hot_updated", &t.HotUpd},
			{"heap_bytes", &t.Heap}, {"index_bytes", &t.Index}, {"total_bytes", &t.Total}} {
			if *v.to, err = strconv.ParseInt(rec[col[v.name]], 10, 64); err != nil {
				return nil, fmt.Errorf("%s: %s %q: %w", path, v.name, rec[col[v.name]], err)
			}
		}
		samples[len(samples)-1].Tables[rec[col["relation"]]] = t
	}
	if len(samples) < 2 {
		return nil, fmt.Errorf("%s: fewer than two samples", path)
	}
	return samples, nil
}

// writeCompareChart draws the runs side by side for the sessions and
// handles tables: the HOT-update ratio, dead tuples, and the bytes of
// table and indexes per live row.
func writeCompareChart(path string, runs []churnRun) error {
	tables := []string{"mcp_sessions", "mcp_handles"}
	lines := func(f func(prev, cur tableSample) float64) []series {
		var out []series
		for _, table := range tables {
			for _, run := range runs {
				s := series{name: strings.TrimPrefix(table, "mcp_") + ", " + run.label}
				for i := 1; i < len(run.samples); i++ {
					prev, okp := run.samples[i-1].Tables[table]
					cur, ok := run.samples[i].Tables[table]
					if ok && okp {
						s.xy = append(s.xy, plotter.XY{X: run.samples[i].Elapsed.Minutes(), Y: f(prev, cur)})
					}
				}
				out = append(out, s)
			}
		}
		return out
	}
	perLive := func(n, live int64) float64 {
		if live <= 0 {
			return math.NaN() // left out of the line
		}
		return float64(n) / float64(live)
	}
	specs := []panelSpec{
		{"HOT updates between samples", "% of updates", lines(func(p, c tableSample) float64 { return 100 * hotRatio(p, c) })},
		{"Dead tuples (pg_stat_user_tables)", "tuples", lines(func(_, c tableSample) float64 { return float64(c.Dead) })},
		{"Table, indexes and TOAST per live row", "bytes", lines(func(_, c tableSample) float64 { return perLive(c.Total, c.Live) })},
		{"Indexes per live row", "bytes", lines(func(_, c tableSample) float64 { return perLive(c.Index, c.Live) })},
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return writePanels(path, specs)
}
