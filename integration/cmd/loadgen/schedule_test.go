package main

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// A server that stalls for the first half second: every arrival due during
// the stall is still sent at its due time, and waits until the stall ends,
// so its latency, counted from its due time, is what a user saw. A closed
// loop would have sent one request and recorded one slow answer.
func TestOpenLoopLatencyFromDueTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const stall = 500 * time.Millisecond
		released := make(chan struct{})
		go func() {
			time.Sleep(stall)
			close(released)
		}()
		start := time.Now()
		var (
			mu        sync.Mutex
			latencies = map[int64]time.Duration{}
			sentAt    = map[int64]time.Duration{}
		)
		stats := openLoop{Rate: 100, Duration: time.Second}.Run(t.Context(), nil, func(_ context.Context, a arrival) {
			sent := time.Since(start)
			<-released // the server answers nothing before the stall ends
			mu.Lock()
			defer mu.Unlock()
			latencies[a.Seq] = time.Since(a.Due)
			sentAt[a.Seq] = sent
		})
		if stats.Scheduled != 100 || len(latencies) != 100 {
			t.Fatalf("scheduled %d, answered %d; want 100 each", stats.Scheduled, len(latencies))
		}
		for i := range int64(100) {
			due := time.Duration(i) * 10 * time.Millisecond
			if sentAt[i] != due {
				t.Errorf("arrival %d sent at %v; want its due time %v (the stall must not delay sending)", i, sentAt[i], due)
			}
			if want := max(stall-due, 0); latencies[i] != want {
				t.Errorf("arrival %d: latency %v; want %v, from its due time to the end of the stall", i, latencies[i], want)
			}
		}
		if stats.behind(time.Millisecond) || stats.Lag.quantile(1) != 0 {
			t.Errorf("lag max %v: the generator kept its timeline and must not be reported behind", stats.Lag.quantile(1))
		}
		if stats.MaxInFlight < 50 {
			t.Errorf("at most %d in flight; want the 50 arrivals of the stall at once", stats.MaxInFlight)
		}
	})
}

// With too few slots for the rate, the generator cannot keep its timeline:
// the lag says so, and every arrival is still sent.
func TestOpenLoopFallingBehindIsDetected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stats := openLoop{Rate: 100, Duration: time.Second, MaxInFlight: 2}.Run(t.Context(), nil, func(context.Context, arrival) {
			time.Sleep(100 * time.Millisecond) // 2 slots × 10/s = 20/s, a fifth of the rate
		})
		if stats.Scheduled != 100 {
			t.Fatalf("scheduled %d; want 100", stats.Scheduled)
		}
		if !stats.behind(10 * time.Millisecond) {
			t.Errorf("lag p99 %v: want the run reported behind", stats.Lag.quantile(0.99))
		}
		// The last arrival, due at 990 ms, waits for the 98 before it at
		// 20/s: it starts at about 4.9 s.
		if got := stats.Lag.quantile(1); got < 3900*time.Millisecond || got > 4*time.Second {
			t.Errorf("max lag %v; want about 3.9 s", got)
		}
		if stats.MaxInFlight != 2 {
			t.Errorf("max in flight %d; want 2", stats.MaxInFlight)
		}
	})
}

// A cancelled context stops the timeline and Run returns once the arrivals
// under way have.
func TestOpenLoopStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 255*time.Millisecond)
		defer cancel()
		stats := openLoop{Rate: 100, Duration: time.Hour}.Run(ctx, nil, func(context.Context, arrival) {})
		if !stats.Stopped || stats.Scheduled != 26 {
			t.Errorf("stopped %v after %d arrivals; want stopped after 26 (0 to 250 ms)", stats.Stopped, stats.Scheduled)
		}
	})
}
