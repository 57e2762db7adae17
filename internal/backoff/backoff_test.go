package backoff

import (
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"
)

func TestJitter(t *testing.T) {
	for _, tc := range []struct {
		d, fraction, r float64
		want           time.Duration
	}{
		{float64(time.Second), 0.2, 0, 800 * time.Millisecond},
		{float64(time.Second), 0.2, 0.5, time.Second},
		{float64(time.Second), 0.2, 0.75, 1100 * time.Millisecond},
		{float64(time.Second), 0, 0.99, time.Second},
		{math.MaxInt64 * 8.0, 0.1, 0.5, math.MaxInt64},
		{0.1, 0.1, 0.5, 1},
	} {
		if got := Jitter(tc.d, tc.fraction, tc.r); got != tc.want {
			t.Errorf("Jitter(%v, %v, %v) = %v; want %v", tc.d, tc.fraction, tc.r, got, tc.want)
		}
	}
}

func TestSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if !Sleep(t.Context(), time.Minute) || time.Since(start) != time.Minute {
			t.Fatalf("Sleep of a minute returned after %v", time.Since(start))
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start = time.Now()
		if Sleep(ctx, time.Minute) || time.Since(start) != time.Second {
			t.Fatalf("Sleep with a context ending in 1s returned true, or after %v", time.Since(start))
		}
	})
}
