package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// opError is a failed operation, classified for the summary.
type opError struct {
	kind string // "http 404", "tool error", "timeout", …
	err  error
}

func (e *opError) Error() string {
	if e.err == nil {
		return e.kind
	}
	return e.kind + ": " + e.err.Error()
}

func (e *opError) Unwrap() error { return e.err }

func failed(kind string, err error) error { return &opError{kind: kind, err: err} }

// errorKind is err's class in the summary.
func errorKind(err error) string {
	if oe, ok := errors.AsType[*opError](err); ok {
		return oe.kind
	}
	return "other"
}

// opStats is what one operation did in the measured window.
type opStats struct {
	latency  histogram
	n        int64
	errors   int64
	requests int64 // HTTP requests it made
	kinds    map[string]int64
}

// recorder keeps what the operations of a run did. Only arrivals due at or
// after from are counted: the warm-up before it fills the pools and the
// servers' caches.
type recorder struct {
	mu   sync.Mutex
	from time.Time
	ops  map[string]*opStats
	// progress: everything recorded since the last progress line.
	tick     histogram
	tickDone int64
	tickErrs int64
	// samples: the same since the last churn sample.
	sample     histogram
	sampleDone int64
	sampleErrs int64
	firstErrs  map[string]string // the first error message of each kind, for the log
}

func newRecorder(from time.Time) *recorder {
	return &recorder{from: from, ops: map[string]*opStats{}, firstErrs: map[string]string{}}
}

// record counts one operation due at due that took until now (latency from
// its due time) and made requests HTTP requests. Operations that make no
// request (abandoning a session) are counted, with no latency.
func (r *recorder) record(op string, due time.Time, requests int, err error) {
	latency := time.Since(due)
	r.mu.Lock()
	defer r.mu.Unlock()
	if due.Before(r.from) {
		return
	}
	s := r.ops[op]
	if s == nil {
		s = &opStats{kinds: map[string]int64{}}
		r.ops[op] = s
	}
	s.n++
	s.requests += int64(requests)
	if requests > 0 {
		s.latency.record(latency)
		r.tick.record(latency)
		r.sample.record(latency)
	}
	r.tickDone++
	r.sampleDone++
	if err != nil {
		s.errors++
		kind := errorKind(err)
		s.kinds[kind]++
		r.tickErrs++
		r.sampleErrs++
		if _, ok := r.firstErrs[kind]; !ok {
			r.firstErrs[kind] = err.Error()
		}
	}
}

// recordLatency counts a latency that is not a request's (a notification's
// delivery), measured from due.
func (r *recorder) recordLatency(op string, due time.Time, latency time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if due.Before(r.from) {
		return
	}
	s := r.ops[op]
	if s == nil {
		s = &opStats{kinds: map[string]int64{}}
		r.ops[op] = s
	}
	s.latency.record(latency)
}

// opSummary is one row of the summary.
type opSummary struct {
	Op                 string
	Count, Errors      int64
	Requests           int64
	P50, P90, P99, Max time.Duration
	Mean               time.Duration
	ErrorKinds         map[string]int64
	NotRequest         bool // delivery latencies, abandonments
	latency            histogram
}

// deliveryOp is the notifications' delivery on the GET streams: from the
// notify call's due time to the notification's arrival.
const deliveryOp = "legacy.notify→stream"

// summary returns the operations' rows, sorted, and the total over every
// operation that made requests (delivery latencies apart).
func (r *recorder) summary() (rows []opSummary, total opSummary, firstErrs map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	total = opSummary{Op: "all requests", ErrorKinds: map[string]int64{}}
	for _, name := range slices.Sorted(maps.Keys(r.ops)) {
		s := r.ops[name]
		row := summarize(name, &s.latency)
		row.Errors, row.Requests, row.ErrorKinds = s.errors, s.requests, maps.Clone(s.kinds)
		if name == deliveryOp {
			row.NotRequest = true
		} else {
			row.Count = s.n
			row.NotRequest = s.requests == 0
			total.latency.merge(&s.latency)
			total.Errors += s.errors
			total.Requests += s.requests
			for k, v := range s.kinds {
				total.ErrorKinds[k] += v
			}
		}
		rows = append(rows, row)
	}
	t := summarize(total.Op, &total.latency)
	t.Errors, t.Requests, t.ErrorKinds = total.Errors, total.Requests, total.ErrorKinds
	return rows, t, maps.Clone(r.firstErrs)
}

func summarize(name string, h *histogram) opSummary {
	return opSummary{Op: name, Count: int64(h.count()), P50: h.quantile(0.5), P90: h.quantile(0.9),
		P99: h.quantile(0.99), Max: h.quantile(1), Mean: h.mean(), latency: *h}
}

// takeTick returns what was recorded since the last call.
func (r *recorder) takeTick() (done, errs int64, h histogram) {
	r.mu.Lock()
	defer r.mu.Unlock()
	done, errs, h = r.tickDone, r.tickErrs, r.tick
	r.tickDone, r.tickErrs, r.tick = 0, 0, histogram{}
	return done, errs, h
}

// takeSample is takeTick for the churn sampler, which keeps its own
// count.
func (r *recorder) takeSample() (done, errs int64, h histogram) {
	r.mu.Lock()
	defer r.mu.Unlock()
	done, errs, h = r.sampleDone, r.sampleErrs, r.sample
	r.sampleDone, r.sampleErrs, r.sample = 0, 0, histogram{}
	return done, errs, h
}

// fmtDur prints a latency with three significant digits.
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d >= time.Second:
		return fmt.Sprintf("%.3gs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.3gms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.3gµs", float64(d)/1e3)
	}
}

// writeSummary prints the operations' table and the error kinds.
func writeSummary(w io.Writer, rows []opSummary, total opSummary, firstErrs map[string]string) {
	fmt.Fprintf(w, "%-28s %9s %7s %9s %9s %9s %9s\n", "operation", "count", "errors", "p50", "p90", "p99", "max")
	line := func(r opSummary) {
		fmt.Fprintf(w, "%-28s %9d %7d %9s %9s %9s %9s\n", r.Op, r.Count, r.Errors, fmtDur(r.P50), fmtDur(r.P90), fmtDur(r.P99), fmtDur(r.Max))
	}
	for _, r := range rows {
		if r.NotRequest && r.Op != deliveryOp {
			fmt.Fprintf(w, "%-28s %9d %7s (no request)\n", r.Op, r.Count, "")
			continue
		}
		line(r)
	}
	line(total)
	if len(total.ErrorKinds) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(total.ErrorKinds)) {
			parts = append(parts, fmt.Sprintf("%s: %d", k, total.ErrorKinds[k]))
		}
		fmt.Fprintf(w, "errors by kind: %s\n", strings.Join(parts, ", "))
		for _, k := range slices.Sorted(maps.Keys(firstErrs)) {
			fmt.Fprintf(w, "  first %s: %s\n", k, firstErrs[k])
		}
	}
}
