package janitor_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/janitor"
)

// memoryStore is the smallest Cleaner: the time each session was last used.
// Like sqlstore's Store, it reports its idle timeout, which the Janitor
// takes as its ttl.
type memoryStore struct {
	mu       sync.Mutex
	lastUsed map[string]time.Time
	idle     time.Duration
}

func (s *memoryStore) IdleTimeout() time.Duration { return s.idle }

func (s *memoryStore) Cleanup(ctx context.Context, ttl time.Duration) (int64, error) {
	if ttl < time.Millisecond {
		return 0, mcpsession.ErrInvalidArgument
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for id, t := range s.lastUsed {
		if time.Since(t) > ttl {
			delete(s.lastUsed, id)
			n++
		}
	}
	return n, nil
}

func ExampleNew() {
	now := time.Now()
	store := &memoryStore{
		idle: 30 * time.Minute,
		lastUsed: map[string]time.Time{
			"abandoned": now.Add(-2 * time.Hour),
			"forgotten": now.Add(-time.Hour),
			"active":    now,
		},
	}

	j, err := janitor.New(store,
		janitor.WithInterval(5*time.Minute),
		janitor.WithOnSweep(func(r janitor.SweepResult) {
			fmt.Printf("sweep: removed %d sessions idle for over %v\n", r.Removed, r.TTL)
		}),
	)
	if err != nil {
		log.Fatal(err)
	}

	// Run(ctx) would sweep every five minutes or so; Sweep sweeps now.
	n, err := j.Sweep(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("removed:", n, "left:", len(store.lastUsed))
	// Output:
	// sweep: removed 2 sessions idle for over 30m0s
	// removed: 2 left: 1
}

// busyStore is a Cleaner whose database another replica is sweeping.
type busyStore struct{}

func (busyStore) Cleanup(context.Context, time.Duration) (int64, error) {
	return 0, mcpsession.ErrCleanupInProgress
}

func ExampleJanitor_Sweep() {
	j, err := janitor.New(busyStore{}, janitor.WithTTL(time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	_, err = j.Sweep(context.Background())
	switch {
	case errors.Is(err, mcpsession.ErrCleanupInProgress):
		fmt.Println("another replica is sweeping; nothing to do")
	case err != nil:
		log.Fatal(err)
	}
	// Output:
	// another replica is sweeping; nothing to do
}
