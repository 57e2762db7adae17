package main

import (
	"math"
	"math/bits"
	"time"
)

// histogram counts durations in log-linear buckets: exact below
// subBuckets nanoseconds, then subBuckets buckets per power of two, so that
// a bucket's width is at most 1/subBuckets of its lower bound (under 0.8%).
// It takes fixed memory whatever the count, merges, and answers any
// quantile, which a run of millions of requests needs and a sorted slice of
// every latency would not do cheaply every few seconds.
type histogram struct {
	counts   [histBuckets]uint64
	n        uint64
	sum      float64 // nanoseconds, for the mean
	min, max int64
}

const (
	subBucketBits = 7
	subBuckets    = 1 << subBucketBits
	// histMaxExp bounds the values kept apart: 2^44 ns is about 4.9 hours;
	// longer durations share the last bucket (and max stays exact).
	histMaxExp = 44
	// histBuckets: the exact ones, subBuckets for each power of two up to
	// histMaxExp, and one for everything longer.
	histBuckets = (histMaxExp-subBucketBits+1)*subBuckets + 1
)

// bucketOf is the index of v's bucket.
func bucketOf(v int64) int {
	if v < subBuckets {
		return int(max(v, 0))
	}
	e := bits.Len64(uint64(v)) - 1 // v in [2^e, 2^(e+1))
	if e >= histMaxExp {
		return histBuckets - 1
	}
	shift := e - subBucketBits
	sub := int(v >> shift) // in [subBuckets, 2*subBuckets)
	return (shift+1)*subBuckets + sub - subBuckets
}

// bucketHigh is the largest value bucket i holds.
func bucketHigh(i int) int64 {
	if i == histBuckets-1 {
		return math.MaxInt64
	}
	if i < subBuckets {
		return int64(i)
	}
	shift := i/subBuckets - 1
	sub := int64(i%subBuckets + subBuckets)
	return (sub+1)<<shift - 1
}

func (h *histogram) record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

func (h *histogram) merge(o *histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

func (h *histogram) count() uint64 { return h.n }

// quantile is the nearest-rank q-quantile (0 ≤ q ≤ 1): the smallest
// recorded value that at least q of the values do not exceed, rounded up to
// its bucket's upper bound (never above the largest value recorded). So it
// overstates a latency by less than 1/subBuckets, never understates it. An
// empty histogram answers 0.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	if q <= 0 {
		return time.Duration(h.min)
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(max(bucketHigh(i), h.min), h.max))
		}
	}
	return time.Duration(h.max)
}

func (h *histogram) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}
