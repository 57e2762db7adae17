package main

import (
	"testing"
	"time"
)

// kneeSystem is a fake service whose p99 is flat up to its knee and then
// rises linearly: it passes a 50 ms SLO up to knee + (50 ms − base)/slope.
// A fake is right here: the test is of the search, not of a database.
type kneeSystem struct {
	base  time.Duration
	knee  float64
	slope time.Duration // added per operation/s past the knee
	tried []float64
}

func (k *kneeSystem) p99(rate float64) time.Duration {
	if rate <= k.knee {
		return k.base
	}
	return k.base + time.Duration((rate-k.knee)*float64(k.slope))
}

func (k *kneeSystem) try(rate float64) bool {
	k.tried = append(k.tried, rate)
	return k.p99(rate) < 50*time.Millisecond
}

func (k *kneeSystem) threshold() float64 {
	return k.knee + float64(50*time.Millisecond-k.base)/float64(k.slope)
}

func TestSearchFindsTheKnee(t *testing.T) {
	for _, c := range []struct {
		name  string
		sys   kneeSystem
		start float64
	}{
		{"from below", kneeSystem{base: 3 * time.Millisecond, knee: 1000, slope: 100 * time.Microsecond}, 100}, // threshold 1470
		{"from above", kneeSystem{base: 3 * time.Millisecond, knee: 1000, slope: 100 * time.Microsecond}, 8000},
		{"steep knee", kneeSystem{base: 10 * time.Millisecond, knee: 333, slope: 10 * time.Millisecond}, 100}, // threshold 337
		{"slow system", kneeSystem{base: 20 * time.Millisecond, knee: 12, slope: time.Millisecond}, 100},      // threshold 42
	} {
		t.Run(c.name, func(t *testing.T) {
			sys := c.sys
			res := searchCapacity(searchOptions{start: c.start, max: 100_000, min: 1, tolerance: 0.1, maxSteps: 20}, sys.try)
			want := sys.threshold()
			if res.Best > want || res.Best < want*0.88 {
				t.Errorf("best %.0f; want within 10%% (and rounding) below the threshold %.1f; tried %v", res.Best, want, sys.tried)
			}
			if !res.Bracketed || res.Capped {
				t.Errorf("bracketed %v, capped %v; want a bracket", res.Bracketed, res.Capped)
			}
			for _, s := range res.Steps {
				if s.Pass != (sys.p99(s.Rate) < 50*time.Millisecond) {
					t.Errorf("step at %.0f recorded pass=%v", s.Rate, s.Pass)
				}
			}
			if len(res.Steps) > 10 {
				t.Errorf("%d steps; a factor-80 range needs no more than 10", len(res.Steps))
			}
		})
	}
}

// A system faster than the highest rate allowed: the search says the
// capacity is at least that, after log2(max/start)+1 steps.
func TestSearchCapped(t *testing.T) {
	sys := kneeSystem{base: time.Millisecond, knee: 1e9, slope: time.Millisecond}
	res := searchCapacity(searchOptions{start: 100, max: 1600, min: 1, tolerance: 0.1, maxSteps: 20}, sys.try)
	if !res.Capped || res.Best != 1600 || len(res.Steps) != 5 {
		t.Errorf("capped %v at %.0f after %d steps (%v); want capped at 1600 after 5", res.Capped, res.Best, len(res.Steps), sys.tried)
	}
}

// A system that fails at every rate: nothing passes, and the search stops
// below the minimum rate.
func TestSearchNothingPasses(t *testing.T) {
	sys := kneeSystem{base: time.Second, knee: 0, slope: time.Millisecond}
	res := searchCapacity(searchOptions{start: 100, max: 1000, min: 5, tolerance: 0.1, maxSteps: 20}, sys.try)
	if res.Best != 0 || res.Bracketed {
		t.Errorf("best %.0f, bracketed %v; want 0, not bracketed", res.Best, res.Bracketed)
	}
	if last := sys.tried[len(sys.tried)-1]; last < 5 {
		t.Errorf("tried %v: a rate under the minimum", sys.tried)
	}
}

// The step budget is a hard bound; the best pass so far is the answer.
func TestSearchStepBudget(t *testing.T) {
	sys := kneeSystem{base: 3 * time.Millisecond, knee: 1000, slope: 100 * time.Microsecond}
	res := searchCapacity(searchOptions{start: 100, max: 100_000, min: 1, tolerance: 0.01, maxSteps: 6}, sys.try)
	if len(sys.tried) != 6 || len(res.Steps) != 6 {
		t.Fatalf("tried %v; want 6 steps", sys.tried)
	}
	if res.Best != 1200 || res.Bracketed {
		// 100 200 400 800 1600 (fail) 1200 (pass), gap 25% > 1%
		t.Errorf("best %.0f, bracketed %v after %v; want 1200, not bracketed", res.Best, res.Bracketed, sys.tried)
	}
}
