package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// openLoop sends arrivals on a fixed timeline: arrival i is due at
// start + i/Rate, whatever the server does with the earlier ones. Each
// arrival runs in a goroutine of its own, and its latency is measured from
// its due time (arrival.Due), not from when it happened to leave: a server
// that stalls makes every arrival due during the stall wait, and they all
// count that wait, as wrk2 and vegeta do (a closed loop, which sends the
// next request only after the previous answer, would record one slow
// request and hide the queue behind it).
//
// MaxInFlight bounds the goroutines at once. When it is reached the
// timeline waits, and every arrival sent late shows it in its lag (sent −
// due), which loopStats keeps: a generator behind schedule is reported, not
// hidden.
type openLoop struct {
	Rate        float64 // arrivals per second
	Duration    time.Duration
	MaxInFlight int
	// Start is the timeline's origin; zero means when Run is called.
	Start time.Time
}

// arrival is one scheduled request.
type arrival struct {
	Seq int64
	Due time.Time
}

// loopStats is what the scheduler saw of its own timeliness.
type loopStats struct {
	Scheduled int64
	// Lag is how late each arrival's goroutine started, from its due time.
	Lag         histogram
	MaxInFlight int64
	// Stopped is set when the context ended before the timeline did.
	Stopped bool
}

// behind reports whether the generator fell behind its timeline: the 99th
// percentile of its lag is over limit.
func (s *loopStats) behind(limit time.Duration) bool {
	return s.Lag.quantile(0.99) > limit
}

// inFlight counts the arrivals under way; progress lines read it.
type inFlight struct{ n atomic.Int64 }

// Run sends the arrivals of the timeline, calling fire for each in its own
// goroutine, and returns once every fire has returned. fire must not block
// past its context: when ctx ends, no new arrival starts and Run waits for
// those under way.
func (o openLoop) Run(ctx context.Context, live *inFlight, fire func(ctx context.Context, a arrival)) *loopStats {
	stats := &loopStats{}
	if o.Rate <= 0 || o.Duration <= 0 {
		return stats
	}
	if live == nil {
		live = &inFlight{}
	}
	limit := o.MaxInFlight
	if limit <= 0 {
		limit = 1 << 20
	}
	slots := make(chan struct{}, limit)
	var (
		wg    sync.WaitGroup
		lagMu sync.Mutex
	)
	interval := float64(time.Second) / o.Rate
	start := o.Start
	if start.IsZero() {
		start = time.Now()
	}
	end := start.Add(o.Duration)
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
loop:
	for i := int64(0); ; i++ {
		due := start.Add(time.Duration(float64(i) * interval))
		if !due.Before(end) {
			break
		}
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				stats.Stopped = true
				break loop
			case <-timer.C:
			}
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			stats.Stopped = true
			break loop
		}
		stats.Scheduled++
		n := live.n.Add(1)
		if n > stats.MaxInFlight {
			stats.MaxInFlight = n
		}
		wg.Add(1)
		go func(a arrival) {
			defer wg.Done()
			lag := time.Since(a.Due)
			lagMu.Lock()
			stats.Lag.record(lag)
			lagMu.Unlock()
			fire(ctx, a)
			live.n.Add(-1)
			<-slots
		}(arrival{Seq: i, Due: due})
	}
	wg.Wait()
	return stats
}
