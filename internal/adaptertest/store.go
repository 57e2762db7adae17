package adaptertest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcpsession/mcpsession/internal/record"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// ErrOutage is what a CountingStore's failing updates return.
var ErrOutage = errors.New("database unavailable")

// CountingStore counts the calls reaching a real store, and can make its
// updates fail as a database outage would.
type CountingStore struct {
	*sqlstore.Store
	Gets, Creates, Updates, Touches, Modifies, Deletes atomic.Int64
	// Touches counts the Updates that write only the adapters' touchedAt.
	FailUpdates atomic.Bool
}

// Create implements mcpsession.Store.
func (c *CountingStore) Create(ctx context.Context, id string, m map[string]any) error {
	c.Creates.Add(1)
	return c.Store.Create(ctx, id, m)
}

// Get implements mcpsession.Store.
func (c *CountingStore) Get(ctx context.Context, id string) (map[string]any, error) {
	c.Gets.Add(1)
	return c.Store.Get(ctx, id)
}

// Update implements mcpsession.Store; with FailUpdates set it fails with
// ErrOutage.
func (c *CountingStore) Update(ctx context.Context, id string, m map[string]any) error {
	c.Updates.Add(1)
	if len(m) == 1 && m[record.KeyTouchedAt] != nil {
		c.Touches.Add(1)
	}
	if c.FailUpdates.Load() {
		return ErrOutage
	}
	return c.Store.Update(ctx, id, m)
}

// Modify implements mcpsession.Modifier.
func (c *CountingStore) Modify(ctx context.Context, id string, fn func(map[string]any) (map[string]any, error)) error {
	c.Modifies.Add(1)
	return c.Store.Modify(ctx, id, fn)
}

// Delete implements mcpsession.Store.
func (c *CountingStore) Delete(ctx context.Context, id string) error {
	c.Deletes.Add(1)
	return c.Store.Delete(ctx, id)
}

// Total is the number of calls counted.
func (c *CountingStore) Total() int64 {
	return c.Gets.Load() + c.Creates.Load() + c.Updates.Load() + c.Modifies.Load() + c.Deletes.Load()
}

// Clock is a clock the test steps by hand.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock at the current time.
func NewClock() *Clock { return &Clock{now: time.Now()} }

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance steps the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
