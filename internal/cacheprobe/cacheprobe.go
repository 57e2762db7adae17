// Package cacheprobe is what this module's tests and benchmarks read of a
// package cache Store that its users do not: its counters, and a way to
// wait until its invalidations have left. A cache.Store made by cache.New
// implements Probe.
package cacheprobe

import "context"

// Stats are counters of a cache's reads.
type Stats struct {
	Hits, Misses int64
	// Refreshes counts the background reads that hits started
	// (the cache's refresh ahead).
	Refreshes int64
	// Bypassed counts reads that did not look in the cache, because it
	// was not sure of itself (see package cache).
	Bypassed int64
	// Dropped counts invalidations that could not be published.
	Dropped int64
	// Entries is how many sessions are kept now.
	Entries int
}

// Probe is what a cache shows its own module.
type Probe interface {
	// Stats returns the cache's counters.
	Stats() Stats
	// Flush returns once the invalidations of the writes made through the
	// cache before the call have been published (or could not be), or
	// when ctx ends. A message published on the bus after Flush returns
	// reaches every replica after them: tests use it to wait until the
	// other replicas know.
	Flush(ctx context.Context) error
}

// Of returns s's Probe, and whether s is a cache.
func Of(s any) (Probe, bool) {
	p, ok := s.(Probe)
	return p, ok
}
