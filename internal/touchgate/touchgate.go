// Package touchgate decides when an SDK adapter writes a session only to
// slide its idle expiry: at most once per touch interval, across replicas,
// so that a busy session costs one write per interval instead of one per
// request.
package touchgate

import (
	"fmt"
	"sync"
	"time"

	"github.com/mcpsession/mcpsession"
)

// DefaultInterval is the touch interval when the adapter is given none,
// unless the store's idle timeout calls for a shorter one.
const DefaultInterval = time.Minute

// Interval returns the touch interval for a store whose sessions expire
// after idle unused (0: never). Given 0, it is DefaultInterval or a
// quarter of idle, whichever is shorter. A given interval must be below
// half of idle, or sessions in use would expire. Errors match
// mcpsession.ErrInvalidOption.
func Interval(given, idle time.Duration) (time.Duration, error) {
	switch {
	case given == 0:
		interval := DefaultInterval
		if idle > 0 {
			interval = min(DefaultInterval, idle/4)
		}
		if interval <= 0 {
			return 0, fmt.Errorf("%w: the store's idle timeout %v is too short for a touch interval", mcpsession.ErrInvalidOption, idle)
		}
		return interval, nil
	case idle > 0 && given >= idle/2:
		return 0, fmt.Errorf("%w: WithTouchInterval(%v): must be below half of the store's idle timeout %v, or sessions in use expire",
			mcpsession.ErrInvalidOption, given, idle)
	}
	return given, nil
}

// Gate decides which request writes a session's touch. The cluster-wide
// record is the session's touchedAt key, which every adapter write sets; the
// gate adds this replica's own claims, so that requests that read the
// session before a write landed do not all write too.
//
// A claim only matters until the interval after it has passed (after that
// touchedAt alone decides), so the gate drops older claims, at most once per
// interval: its memory is bounded by the sessions this replica wrote within
// the last two intervals.
type Gate struct {
	interval time.Duration

	mu     sync.Mutex
	claims map[string]time.Time
	pruned time.Time
}

// New returns a gate that lets one write through per interval.
func New(interval time.Duration) *Gate {
	return &Gate{interval: interval, claims: make(map[string]time.Time)}
}

// Claim reports whether the caller should write a touch of id now, given the
// touchedAt the caller read; if so it records the claim. A touchedAt more
// than one interval in the future is another replica's clock running fast,
// and is not trusted to hold writes back.
func (g *Gate) Claim(id string, stored, now time.Time) bool {
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
func (g *Gate) Release(id string, at time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.claims[id]; ok && c.Equal(at) {
		delete(g.claims, id)
	}
}

// Note records a write of id that set touchedAt to now.
func (g *Gate) Note(id string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.prune(now)
	g.claims[id] = now
}

// Forget drops id, which this replica deleted or stopped serving.
func (g *Gate) Forget(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.claims, id)
}

func (g *Gate) prune(now time.Time) {
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
func (g *Gate) Size() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.claims)
}
