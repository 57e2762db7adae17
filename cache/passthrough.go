package cache

import (
	"context"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/cacheprobe"
	"github.com/mcpsession/mcpsession/internal/optional"
)

var (
	_ Store                    = (*store)(nil)
	_ cacheprobe.Probe         = (*store)(nil)
	_ mcpsession.Store         = (*store)(nil)
	_ mcpsession.Toucher       = (*store)(nil)
	_ mcpsession.Modifier      = (*store)(nil)
	_ mcpsession.Cleaner       = (*store)(nil)
	_ optional.IdleTimeouter   = (*store)(nil)
	_ optional.SharedGetter    = (*store)(nil)
	_ mcpsession.HandleStore   = (*store)(nil)
	_ mcpsession.HandleCleaner = (*store)(nil)
)

// Every write goes to the wrapped store, then drops the session here and
// announces it, whatever the write returned: a write that failed may still
// have committed (a connection lost at the wrong moment).

// Create creates the session in the wrapped store.
func (c *store) Create(ctx context.Context, id string, md map[string]any) error {
	err := c.next.Create(ctx, id, md)
	c.invalidate(id)
	return err
}

// Update merges into the session in the wrapped store.
func (c *store) Update(ctx context.Context, id string, md map[string]any) error {
	err := c.next.Update(ctx, id, md)
	c.invalidate(id)
	return err
}

// Delete deletes the session from the wrapped store.
func (c *store) Delete(ctx context.Context, id string) error {
	err := c.next.Delete(ctx, id)
	c.invalidate(id)
	return err
}

// Modify runs the wrapped store's Modify.
func (c *store) Modify(ctx context.Context, id string, fn func(map[string]any) (map[string]any, error)) error {
	m, ok := c.next.(mcpsession.Modifier)
	if !ok {
		return mcpsession.ErrModifyUnsupported
	}
	err := m.Modify(ctx, id, fn)
	c.invalidate(id)
	return err
}

// Touch marks the session as used in the wrapped store. It announces
// nothing: a touch only makes a session live longer, and an entry that ends
// too early is only read again.
func (c *store) Touch(ctx context.Context, id string) error {
	t, ok := c.next.(mcpsession.Toucher)
	if !ok {
		return mcpsession.ErrUnsupported
	}
	return t.Touch(ctx, id)
}

// Cleanup runs the wrapped store's Cleanup. A sweep with a ttl shorter than
// the store's idle timeout deletes sessions that reads still see, and then
// everything is dropped everywhere; the usual sweep (the janitor's default
// ttl is the idle timeout) deletes only what every entry has outlived.
func (c *store) Cleanup(ctx context.Context, ttl time.Duration) (int64, error) {
	cl, ok := c.next.(mcpsession.Cleaner)
	if !ok {
		return 0, mcpsession.ErrUnsupported
	}
	n, err := cl.Cleanup(ctx, ttl)
	if n > 0 && ttl < c.IdleTimeout() {
		c.flushAll()
		select {
		case c.pending <- "*":
		default:
			c.dropped.Add(1)
		}
	}
	return n, err
}

// IdleTimeout is the wrapped store's, or 0.
func (c *store) IdleTimeout() time.Duration {
	if it, ok := c.next.(optional.IdleTimeouter); ok {
		return it.IdleTimeout()
	}
	return 0
}

func (c *store) handles() (mcpsession.HandleStore, error) {
	h, ok := c.next.(mcpsession.HandleStore)
	if !ok {
		return nil, mcpsession.ErrHandlesUnsupported
	}
	return h, nil
}

// CreateHandle, GetHandle, UpdateHandle, ModifyHandle, TouchHandle and
// DeleteHandle go straight to the wrapped store: handles are not cached.
func (c *store) CreateHandle(ctx context.Context, principal string, state map[string]any) (string, error) {
	h, err := c.handles()
	if err != nil {
		return "", err
	}
	return h.CreateHandle(ctx, principal, state)
}

// GetHandle reads the handle from the wrapped store.
func (c *store) GetHandle(ctx context.Context, handle, principal string) (map[string]any, error) {
	h, err := c.handles()
	if err != nil {
		return nil, err
	}
	return h.GetHandle(ctx, handle, principal)
}

// UpdateHandle merges into the handle in the wrapped store.
func (c *store) UpdateHandle(ctx context.Context, handle, principal string, patch map[string]any) error {
	h, err := c.handles()
	if err != nil {
		return err
	}
	return h.UpdateHandle(ctx, handle, principal, patch)
}

// ModifyHandle runs the wrapped store's ModifyHandle.
func (c *store) ModifyHandle(ctx context.Context, handle, principal string, fn func(map[string]any) (map[string]any, error)) error {
	h, err := c.handles()
	if err != nil {
		return err
	}
	return h.ModifyHandle(ctx, handle, principal, fn)
}

// TouchHandle marks the handle as used in the wrapped store.
func (c *store) TouchHandle(ctx context.Context, handle, principal string) error {
	h, err := c.handles()
	if err != nil {
		return err
	}
	return h.TouchHandle(ctx, handle, principal)
}

// DeleteHandle deletes the handle from the wrapped store.
func (c *store) DeleteHandle(ctx context.Context, handle, principal string) error {
	h, err := c.handles()
	if err != nil {
		return err
	}
	return h.DeleteHandle(ctx, handle, principal)
}

// CleanupHandles runs the wrapped store's CleanupHandles.
func (c *store) CleanupHandles(ctx context.Context) (int64, error) {
	hc, ok := c.next.(mcpsession.HandleCleaner)
	if !ok {
		return 0, mcpsession.ErrUnsupported
	}
	return hc.CleanupHandles(ctx)
}
