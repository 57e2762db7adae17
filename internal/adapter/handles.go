package adapter

import (
	"context"
	"errors"
	"fmt"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/principal"
)

// The handle helpers: what a tool handler does with a state handle (MCP
// 2026-07-28, SEP-2567), for the principal of its request, in either
// protocol era. Each adapter re-exports them under the same names; they
// find the Core and the principal in the handler's context (Bind,
// principal.With).
//
// A handle that is unknown, expired, another principal's or malformed (no
// store could have minted it) is mcpsession.ErrHandleNotFound alike, so
// that one errors.Is turns every such call into a tool error; the store
// already answers the first three so, and the fourth, which the store
// calls invalid, reveals no more than they do.

// serving returns the Core serving ctx's request.
func serving(ctx context.Context) (*Core, error) {
	c := bound(ctx)
	if c == nil {
		return nil, fmt.Errorf("%w: the request was not served through the adapter", mcpsession.ErrNoPrincipal)
	}
	return c, nil
}

// Principal returns the principal of ctx's request, as the adapter's
// principal function gave it ("" for the anonymous principal), or an error
// matching mcpsession.ErrNoPrincipal.
func Principal(ctx context.Context) (string, error) {
	if _, err := serving(ctx); err != nil {
		return "", err
	}
	return principal.Of(ctx)
}

// handleStore returns the store as a HandleStore and the principal of
// ctx's request.
func handleStore(ctx context.Context) (mcpsession.HandleStore, string, error) {
	c, err := serving(ctx)
	if err != nil {
		return nil, "", err
	}
	hs, ok := c.store.(mcpsession.HandleStore)
	if !ok {
		return nil, "", mcpsession.ErrHandlesUnsupported
	}
	p, err := principal.Of(ctx)
	if err != nil {
		return nil, "", err
	}
	return hs, p, nil
}

// handleFor is handleStore for a call that names handle: a malformed one
// is ErrHandleNotFound before the store is asked.
func handleFor(ctx context.Context, handle string) (mcpsession.HandleStore, string, error) {
	hs, p, err := handleStore(ctx)
	if err != nil {
		return nil, "", err
	}
	if mcpsession.ValidateID(handle) != nil {
		return nil, "", mcpsession.ErrHandleNotFound
	}
	return hs, p, nil
}

// CreateHandle stores state under a new handle owned by the request's
// principal and returns the handle.
func CreateHandle(ctx context.Context, state map[string]any) (string, error) {
	hs, p, err := handleStore(ctx)
	if err != nil {
		return "", err
	}
	return hs.CreateHandle(ctx, p, state)
}

// GetHandle returns the handle's state, read from the store now, without
// sliding its expiry.
func GetHandle(ctx context.Context, handle string) (map[string]any, error) {
	hs, p, err := handleFor(ctx, handle)
	if err != nil {
		return nil, err
	}
	st, err := hs.GetHandle(ctx, handle, p)
	return st, notFound(err)
}

// UpdateHandle merges patch into the handle's state and slides its expiry.
func UpdateHandle(ctx context.Context, handle string, patch map[string]any) error {
	hs, p, err := handleFor(ctx, handle)
	if err != nil {
		return err
	}
	return notFound(hs.UpdateHandle(ctx, handle, p, patch))
}

// ModifyHandle runs a read-modify-write of the handle's state under its
// lock and slides its expiry.
func ModifyHandle(ctx context.Context, handle string, fn func(state map[string]any) (map[string]any, error)) error {
	if fn == nil {
		return fmt.Errorf("%w: ModifyHandle with a nil function", mcpsession.ErrInvalidArgument)
	}
	hs, p, err := handleFor(ctx, handle)
	if err != nil {
		return err
	}
	return notFound(hs.ModifyHandle(ctx, handle, p, fn))
}

// TouchHandle slides the handle's expiry.
func TouchHandle(ctx context.Context, handle string) error {
	hs, p, err := handleFor(ctx, handle)
	if err != nil {
		return err
	}
	return notFound(hs.TouchHandle(ctx, handle, p))
}

// DeleteHandle removes the handle if the request's principal owns it. It
// returns nil whether or not there was one, as the store does, malformed
// handles included.
func DeleteHandle(ctx context.Context, handle string) error {
	hs, p, err := handleFor(ctx, handle)
	switch {
	case errors.Is(err, mcpsession.ErrHandleNotFound):
		return nil
	case err != nil:
		return err
	}
	return hs.DeleteHandle(ctx, handle, p)
}

// notFound makes a store's refusal of the handle itself (ErrInvalidID,
// which a store with rules stricter than MCP's might give) the not-found
// every other unusable handle is.
func notFound(err error) error {
	if errors.Is(err, mcpsession.ErrInvalidID) {
		return mcpsession.ErrHandleNotFound
	}
	return err
}
