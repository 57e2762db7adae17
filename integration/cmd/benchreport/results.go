package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

// Units as golang.org/x/perf/benchfmt tidies them: ns/op becomes sec/op.
const (
	unitTime   = "sec/op"
	unitBytes  = "B/op"
	unitAllocs = "allocs/op"
)

// results holds every sample of every benchmark, by name (without the
// Benchmark prefix and the -GOMAXPROCS suffix) and unit.
type results struct {
	samples map[string]map[string][]float64
	iters   map[string]int
	// procs is the GOMAXPROCS the benchmarks ran with.
	procs int
}

func parseResults(raw []byte) (*results, error) {
	res := &results{samples: map[string]map[string][]float64{}, iters: map[string]int{}}
	r := benchfmt.NewReader(bytes.NewReader(raw), "results.txt")
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			fmt.Fprintln(os.Stderr, "benchreport: skipping", rec)
		case *benchfmt.Result:
			base, parts := rec.Name.Parts()
			var name strings.Builder
			name.WriteString(strings.TrimPrefix(string(base), "Benchmark"))
			for _, p := range parts {
				if procs, ok := bytes.CutPrefix(p, []byte("-")); ok {
					if n, err := strconv.Atoi(string(procs)); err == nil {
						res.procs = n
					}
					continue
				}
				name.Write(p)
			}
			n := name.String()
			if res.samples[n] == nil {
				res.samples[n] = map[string][]float64{}
			}
			for _, v := range rec.Values {
				res.samples[n][v.Unit] = append(res.samples[n][v.Unit], v.Value)
			}
			res.iters[n] += rec.Iters
		}
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	if len(res.samples) == 0 {
		return nil, fmt.Errorf("no benchmark results in the output")
	}
	return res, nil
}

// stat is the summary of one benchmark's samples in one unit: the median
// and its confidence interval, as benchstat computes them.
type stat struct {
	Center, Lo, Hi float64
	Min, Max       float64
	N              int
}

// confidence is benchstat's default.
const confidence = 0.95

func (r *results) stat(name, unit string) (stat, bool) {
	values := r.samples[name][unit]
	if len(values) == 0 {
		return stat{}, false
	}
	values = slices.Clone(values)
	sample := benchmath.NewSample(values, &benchmath.DefaultThresholds)
	s := benchmath.AssumeNothing.Summary(sample, confidence)
	return stat{Center: s.Center, Lo: s.Lo, Hi: s.Hi, Min: sample.Values[0], Max: sample.Values[len(sample.Values)-1], N: len(values)}, true
}

// spread is the half-width of the confidence interval relative to the
// median, as benchstat prints it (±x%); NaN when there are too few samples
// for an interval.
func (s stat) spread() float64 {
	if s.Center == 0 || math.IsInf(s.Lo, 0) || math.IsInf(s.Hi, 0) {
		return math.NaN()
	}
	return math.Max(s.Center-s.Lo, s.Hi-s.Center) / s.Center
}

// has reports whether any benchmark name starts with prefix.
func (r *results) has(prefix string) bool {
	for n := range r.samples {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

// opName is an operation benchmark's name, as package bench builds it.
func opName(op, dialect, impl, size string, par int) string {
	return fmt.Sprintf("%s/dialect=%s/impl=%s/size=%s/par=%d", op, dialect, impl, size, par)
}

// parallelism returns the goroutine counts the operation benchmarks ran
// with, in increasing order: 1 and 16 if they did not run.
func (r *results) parallelism() []int {
	var pars []int
	for n := range r.samples {
		_, after, ok := strings.Cut(n, "/par=")
		if !ok {
			continue
		}
		if p, err := strconv.Atoi(after); err == nil && !slices.Contains(pars, p) {
			pars = append(pars, p)
		}
	}
	if len(pars) == 0 {
		return []int{1, 16}
	}
	slices.Sort(pars)
	return pars
}
