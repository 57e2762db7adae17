package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

var selfPID = os.Getpid()

// runParams is one open-loop run.
type runParams struct {
	rate        float64
	duration    time.Duration // the whole timeline, warm-up included
	warmup      time.Duration // counted neither in latencies nor in costs
	maxInFlight int
	maxLag      time.Duration
	progress    time.Duration // 0: no progress lines
	label       string
	out         io.Writer
}

// runResult is what a run measured over its window (the timeline after
// the warm-up).
type runResult struct {
	Rate      float64
	Window    time.Duration
	Rows      []opSummary
	Total     opSummary
	FirstErrs map[string]string
	// Achieved is the requests per second the window's arrivals made.
	Achieved float64
	// OpsRate is the operations per second due in the window.
	OpsRate             float64
	LagP99, LagMax      time.Duration
	Behind              bool
	MaxInFlight         int64
	Costs               costs
	Notified, Delivered int64
	ProxyErrors         int64
	ReplicaLogErrors    int64
}

// errorRate is the share of the window's operations that failed.
func (r *runResult) errorRate() float64 {
	var n int64
	for _, row := range r.Rows {
		if row.Op != deliveryOp {
			n += row.Count
		}
	}
	if n == 0 {
		return 0
	}
	return float64(r.Total.Errors) / float64(n)
}

// perRequest divides a total by the window's requests.
func (r *runResult) perRequest(total float64) float64 {
	if r.Total.Requests == 0 {
		return 0
	}
	return total / float64(r.Total.Requests)
}

// runLoad drives the fleet through d at p's rate for p's duration, open
// loop, and measures the window after the warm-up.
func runLoad(ctx context.Context, d *driver, f *fleet, mon *monitor, p runParams) *runResult {
	start := time.Now().Add(20 * time.Millisecond)
	from := start.Add(p.warmup)
	rec := newRecorder(from)
	d.rec.Store(rec)
	notified0, delivered0 := d.notified.Load(), d.delivered.Load()
	proxyErrs0, logErrs0 := f.proxy.errors.Load(), f.loggedErrors()

	// The cost window opens at from.
	var (
		first   costSnapshot
		sampler *connSampler
	)
	opened := make(chan struct{})
	go func() {
		defer close(opened)
		select {
		case <-time.After(time.Until(from)):
		case <-ctx.Done():
			return
		}
		if mon != nil {
			first = mon.snapshot(ctx, f)
			sampler = mon.sampleConnections(ctx, 250*time.Millisecond)
		} else {
			first = costSnapshot{at: time.Now()}
		}
	}()

	var live inFlight
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		if p.progress <= 0 || p.out == nil {
			return
		}
		t := time.NewTicker(p.progress)
		defer t.Stop()
		var cum histogram
		var errs int64
		for {
			select {
			case <-stopProgress:
				return
			case now := <-t.C:
				done, tickErrs, h := rec.takeTick()
				cum.merge(&h)
				errs += tickErrs
				phase := ""
				if now.Before(from) {
					phase = " (warm-up)"
				}
				fmt.Fprintf(p.out, "%s[%5.0fs]%s rate %.0f/s: done %.1f/s, in flight %d, p50 %s, p99 %s (so far), errors %d (+%d)\n",
					p.label, now.Sub(start).Seconds(), phase, p.rate, float64(done)/p.progress.Seconds(), live.n.Load(),
					fmtDur(cum.quantile(0.5)), fmtDur(cum.quantile(0.99)), errs, tickErrs)
			}
		}
	}()

	loop := openLoop{Rate: p.rate, Duration: p.duration, MaxInFlight: p.maxInFlight, Start: start}
	stats := loop.Run(ctx, &live, d.fire)
	close(stopProgress)
	<-progressDone
	<-opened

	res := &runResult{Rate: p.rate, Window: p.duration - p.warmup}
	if mon != nil && sampler != nil {
		last := mon.snapshot(ctx, f)
		res.Costs = diffCosts(first, last)
		res.Costs.MaxConns, res.Costs.MeanConns = sampler.finish()
	}
	// After the costs: the notifications still on their way cost the
	// servers nothing more.
	d.awaitDeliveries()
	res.Rows, res.Total, res.FirstErrs = rec.summary()
	if w := res.Window.Seconds(); w > 0 {
		res.Achieved = float64(res.Total.Requests) / w
		var ops int64
		for _, row := range res.Rows {
			if row.Op != deliveryOp {
				ops += row.Count
			}
		}
		res.OpsRate = float64(ops) / w
	}
	res.LagP99, res.LagMax = stats.Lag.quantile(0.99), stats.Lag.quantile(1)
	res.Behind = stats.behind(p.maxLag)
	res.MaxInFlight = stats.MaxInFlight
	res.Notified, res.Delivered = d.notified.Load()-notified0, d.delivered.Load()-delivered0
	res.ProxyErrors = f.proxy.errors.Load() - proxyErrs0
	res.ReplicaLogErrors = f.loggedErrors() - logErrs0
	return res
}

// writeResult prints a run's summary and costs.
func writeResult(w io.Writer, r *runResult) {
	writeSummary(w, r.Rows, r.Total, r.FirstErrs)
	fmt.Fprintf(w, "window %s: %d requests, %.1f requests/s achieved at %.0f operations/s scheduled (%.1f/s done)\n",
		r.Window, r.Total.Requests, r.Achieved, r.Rate, r.OpsRate)
	fmt.Fprintf(w, "generator: lag p99 %s, max %s, at most %d in flight", fmtDur(r.LagP99), fmtDur(r.LagMax), r.MaxInFlight)
	if r.Behind {
		fmt.Fprint(w, " — BEHIND SCHEDULE: its latencies include its own delay")
	}
	fmt.Fprintln(w)
	if r.Notified > 0 {
		fmt.Fprintf(w, "notifications: %d sent, %d delivered on their streams within the run\n", r.Notified, r.Delivered)
	}
	if r.ProxyErrors > 0 || r.ReplicaLogErrors > 0 {
		fmt.Fprintf(w, "proxy errors %d, replica ERROR log lines %d\n", r.ProxyErrors, r.ReplicaLogErrors)
	}
	c := r.Costs
	if c.Window > 0 && r.Total.Requests > 0 {
		fmt.Fprintf(w, "per request: Postgres CPU %s, WAL %s, replicas' CPU %s", cpuPer(r, c.PGCPU, c.PGKnown),
			walPer(r), cpuPer(r, c.ReplicaCPU, true))
		if c.PoolerKnown {
			fmt.Fprintf(w, ", PgBouncer CPU %s", cpuPer(r, c.PoolerCPU, true))
		}
		fmt.Fprintf(w, ", generator CPU %s\n", cpuPer(r, c.SelfCPU, true))
		fmt.Fprintf(w, "Postgres connections to the database: at most %d, mean %.1f\n", c.MaxConns, c.MeanConns)
	}
}

func cpuPer(r *runResult, total time.Duration, known bool) string {
	if !known {
		return "n/a"
	}
	return fmt.Sprintf("%.0fµs", r.perRequest(float64(total))/1e3)
}

func walPer(r *runResult) string {
	if !r.Costs.WALKnown {
		return "n/a"
	}
	return fmt.Sprintf("%.0f B", r.perRequest(float64(r.Costs.WALBytes)))
}
