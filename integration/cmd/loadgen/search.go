package main

import (
	"math"
)

// searchOptions bound the capacity search.
type searchOptions struct {
	start, max float64 // the first rate tried, and the highest
	// tolerance ends the bisection once the gap between the highest rate
	// that passed and the lowest that failed is at most this fraction of
	// the latter.
	tolerance float64
	maxSteps  int
	min       float64 // below this a rate is not tried
}

// searchStep is one rate tried.
type searchStep struct {
	Rate float64
	Pass bool
}

// searchResult is the highest rate that passed (0 if none did), and each
// step.
type searchResult struct {
	Best float64
	// Capped: the highest rate allowed passed; the capacity is at least
	// that.
	Capped bool
	// Bracketed: a failing rate above Best was found within tolerance.
	Bracketed bool
	Steps     []searchStep
}

// searchCapacity finds the highest rate that passes, trying one rate per
// step: it doubles from the start until a rate fails (or the maximum
// passes), halves from the start while rates fail, then bisects between
// the highest pass and the lowest failure until they are within tolerance
// or the steps run out. It assumes that a system that fails at a rate
// fails at every higher one; a noisy step can only move the bracket, never
// make it cross (a pass above a failure is not possible: the next rate is
// always between the two).
func searchCapacity(o searchOptions, try func(rate float64) bool) searchResult {
	var res searchResult
	lo, hi := 0.0, math.Inf(1)
	rate := math.Min(math.Max(o.start, o.min), o.max)
	for len(res.Steps) < o.maxSteps {
		pass := try(rate)
		res.Steps = append(res.Steps, searchStep{Rate: rate, Pass: pass})
		if pass {
			lo = math.Max(lo, rate)
		} else {
			hi = math.Min(hi, rate)
		}
		switch {
		case math.IsInf(hi, 1): // nothing failed yet: up
			if rate >= o.max {
				res.Capped = true
				res.Best = lo
				return res
			}
			rate = math.Min(2*rate, o.max)
		case lo == 0: // nothing passed yet: down
			rate = roundRate(hi / 2)
			if rate < o.min {
				return res
			}
		default:
			if (hi-lo)/hi <= o.tolerance {
				res.Best, res.Bracketed = lo, true
				return res
			}
			rate = roundRate((lo + hi) / 2)
			if rate <= lo || rate >= hi { // rates too close to split
				res.Best, res.Bracketed = lo, true
				return res
			}
		}
	}
	res.Best = lo
	res.Bracketed = lo > 0 && !math.IsInf(hi, 1) && (hi-lo)/hi <= o.tolerance
	return res
}

// roundRate keeps rates readable: whole numbers, two significant digits
// past 100.
func roundRate(r float64) float64 {
	if r < 100 {
		return math.Round(r)
	}
	p := math.Pow(10, math.Floor(math.Log10(r))-1)
	return math.Round(r/p) * p
}
