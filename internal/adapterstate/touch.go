package adapterstate

import (
	"sync"
	"time"
)

// TouchGate decides which request writes a session's touch. The cluster-wide
// record is the session's touchedAt key, which every adapter write sets; the
// gate adds this replica's own claims, so that requests that read the
// session before a write landed do not all write too.
//
// A claim only matters until the interval after it has passed (after that
// touchedAt alone decides), so the gate drops older claims, at most once per
// interval: its memory is bounded by the sessions this replica wrote within
// the last two intervals.
type TouchGate struct {
	interval time.Duration

	mu     sync.Mutex
	claims map[string]time.Time
	pruned time.Time
}

// NewTouchGate returns a gate that lets one write through per interval.
func NewTouchGate(interval time.Duration) *TouchGate {
	return &TouchGate{interval: interval, claims: make(map[string]time.Time)}
}

// Claim reports whether the caller should write a touch of id now, given the
// touchedAt the caller read; if so it records the claim. A touchedAt more
// than one interval in the future is another replica's clock running fast,
// and is not trusted to hold writes back.
func (g *TouchGate) Claim(id string, stored, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.prune(now)
	last := stored
	if c, ok := g.claims[id]; ok && c.After(last) {
		last = c
	}
	if !last.IsZero() && now.Sub(last) < g.interval && last.Sub(now) <= g.interval {
		return false
	}
	g.claims[id] = now
	return true
}

// Release withdraws a claim whose write failed, so that the next request
// tries again.
func (g *TouchGate) Release(id string, at time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.claims[id]; ok && c.Equal(at) {
		delete(g.claims, id)
	}
}

// Note records a write of id that set touchedAt to now.
func (g *TouchGate) Note(id string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.prune(now)
	g.claims[id] = now
}

// Forget drops id, which this replica deleted or stopped serving.
func (g *TouchGate) Forget(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.claims, id)
}

func (g *TouchGate) prune(now time.Time) {
	if now.Sub(g.pruned) < g.interval {
		return
	}
	for id, c := range g.claims {
		if now.Sub(c) >= g.interval {
			delete(g.claims, id)
		}
	}
	g.pruned = now
}

// Size is the number of claims held.
func (g *TouchGate) Size() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.claims)
}
