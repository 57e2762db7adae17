package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// nearestRank is the textbook q-quantile of sorted values: the value at
// rank ceil(q·n).
func nearestRank(sorted []int64, q float64) int64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// The histogram's quantiles are the nearest-rank quantiles of the values,
// rounded up by less than 1/128, on data spread over nine decades.
func TestHistogramQuantilesMatchNearestRank(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h histogram
	values := make([]int64, 100_000)
	for i := range values {
		v := int64(math.Exp(r.Float64() * math.Log(1e10))) // 1 ns to 10 s, log-uniform
		values[i] = v
		h.record(time.Duration(v))
	}
	slices.Sort(values)
	for _, q := range []float64{0, 0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 0.9999, 1} {
		want := nearestRank(values, q)
		if q == 0 {
			want = values[0]
		}
		got := int64(h.quantile(q))
		if got < want || float64(got) > float64(want)*(1+1.0/subBuckets)+1 {
			t.Errorf("q=%v: %d; want %d, rounded up by under 1/%d", q, got, want, subBuckets)
		}
	}
	if h.quantile(1) != time.Duration(values[len(values)-1]) {
		t.Errorf("max %v; want exactly %d", h.quantile(1), values[len(values)-1])
	}
}

// Small cases where the answer is known exactly.
func TestHistogramExact(t *testing.T) {
	var h histogram
	if h.quantile(0.99) != 0 || h.mean() != 0 {
		t.Fatal("an empty histogram answers 0")
	}
	for _, ms := range []int{1, 2, 3, 4, 100} { // one outlier in five
		h.record(time.Duration(ms) * time.Millisecond)
	}
	// p50 is the third value; p80 the fourth; p81 and up the outlier.
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 3 * time.Millisecond}, {0.8, 4 * time.Millisecond}, {0.81, 100 * time.Millisecond}, {0.99, 100 * time.Millisecond}} {
		got := h.quantile(c.q)
		if got < c.want || float64(got) > float64(c.want)*(1+1.0/subBuckets) {
			t.Errorf("q=%v: %v; want %v", c.q, got, c.want)
		}
	}
	if h.mean() != 22*time.Millisecond {
		t.Errorf("mean %v; want 22ms", h.mean())
	}
	var m histogram
	m.record(500 * time.Microsecond)
	m.merge(&h)
	if m.count() != 6 || m.quantile(0) != 500*time.Microsecond || m.quantile(1) != 100*time.Millisecond {
		t.Errorf("merged: n=%d min=%v max=%v", m.count(), m.quantile(0), m.quantile(1))
	}
}

// Every value falls in a bucket whose bounds hold it, and buckets are in
// order.
func TestHistogramBuckets(t *testing.T) {
	prevHigh := int64(-1)
	for i := range histBuckets - 1 {
		high := bucketHigh(i)
		if high <= prevHigh {
			t.Fatalf("bucket %d ends at %d, not after bucket %d's %d", i, high, i-1, prevHigh)
		}
		if bucketOf(high) != i || bucketOf(prevHigh+1) != i {
			t.Fatalf("bucket %d holds %d..%d, but bucketOf gives %d and %d", i, prevHigh+1, high, bucketOf(prevHigh+1), bucketOf(high))
		}
		prevHigh = high
	}
	if bucketOf(math.MaxInt64) != histBuckets-1 {
		t.Error("the largest values go in the last bucket")
	}
}
