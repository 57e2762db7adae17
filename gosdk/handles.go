package gosdk

import (
	"context"

	"github.com/mcpsession/mcpsession/internal/adapter"
)

// The handle helpers: explicit state handles (MCP 2026-07-28, SEP-2567)
// for tool handlers, kept in the Sessions' store (which must implement
// mcpsession.HandleStore, as sqlstore's does; otherwise they return
// ErrHandlesUnsupported). A tool that creates state returns its handle to
// the client (in structuredContent, say), and later calls pass it back as
// an argument, to any replica. Each handle belongs to the principal of the
// request that created it (see WithPrincipal), and every helper acts for
// the principal of ctx's request: in either protocol era, since a legacy
// session's requests have a principal too.
//
// A handle that is unknown, expired, another principal's or malformed is
// an error matching mcpsession.ErrHandleNotFound, whichever helper gets
// it, and nothing is changed: turn it into a tool error
// (IsError: true in the CallToolResult, or an error from a typed
// handler of mcp.AddTool), not a protocol error. Handles expire when
// unused for the store's handle idle timeout
// (sqlstore.WithHandleIdleTimeout); UpdateHandle, ModifyHandle and
// TouchHandle count as use, GetHandle does not.

// CreateHandle stores state (nil is {}) under a new handle owned by the
// request's principal and returns the handle: 130 random bits, a valid MCP
// id. State follows the rules of session metadata (a JSON object;
// mcpsession.ErrInvalidMetadata, ErrTooLarge).
func CreateHandle(ctx context.Context, state map[string]any) (string, error) {
	return adapter.CreateHandle(ctx, state)
}

// GetHandle returns the handle's state, read from the store now, in a map
// that is the caller's. It does not slide the handle's expiry.
func GetHandle(ctx context.Context, handle string) (map[string]any, error) {
	return adapter.GetHandle(ctx, handle)
}

// UpdateHandle merges patch into the handle's state, shallowly and
// atomically, as Store.Update merges session metadata, and slides the
// handle's expiry. For a change that depends on the current value, use
// ModifyHandle.
func UpdateHandle(ctx context.Context, handle string, patch map[string]any) error {
	return adapter.UpdateHandle(ctx, handle, patch)
}

// ModifyHandle runs a read-modify-write of the handle's state under the
// handle's lock: fn receives the current state and returns the whole new
// one, and concurrent ModifyHandles of one handle, on any replica, run one
// after another. fn should be quick and must not call the store. If fn
// returns an error, nothing is written and ModifyHandle returns it; a nil
// fn is an error matching mcpsession.ErrInvalidArgument.
func ModifyHandle(ctx context.Context, handle string, fn func(state map[string]any) (map[string]any, error)) error {
	return adapter.ModifyHandle(ctx, handle, fn)
}

// TouchHandle slides the handle's expiry without changing its state, for
// a tool that only reads it.
func TouchHandle(ctx context.Context, handle string) error { return adapter.TouchHandle(ctx, handle) }

// DeleteHandle removes the handle if the request's principal owns it. It
// returns nil whether or not there was such a handle, so it reveals
// nothing about other principals' handles.
func DeleteHandle(ctx context.Context, handle string) error { return adapter.DeleteHandle(ctx, handle) }
