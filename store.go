package mcpsession

import (
	"context"
	"time"
)

// Store keeps MCP sessions by id. Implementations are safe for concurrent
// use, by several goroutines and, for shared databases, several processes.
//
// Metadata is a JSON object: values round-trip as encoding/json decodes them
// (numbers come back as float64, objects as map[string]any, arrays as []any).
type Store interface {
	// Create stores a new session with the given metadata (nil means an
	// empty object). It returns an error matching ErrExists if a live
	// session already has the id, and leaves that session untouched.
	Create(ctx context.Context, id string, metadata map[string]any) error

	// Get returns a copy of the session's metadata that the caller owns. It
	// returns an error matching ErrNotFound if no live session has the id.
	// Get never writes.
	Get(ctx context.Context, id string) (map[string]any, error)

	// Update merges metadata into the session's metadata, shallowly: each
	// top-level key given replaces the stored value whole (nested objects
	// and arrays are replaced, not merged; a nil value is stored as JSON
	// null), and keys not given are kept. It marks the session as used now.
	// The merge is atomic: concurrent Updates of different keys all land.
	// It returns an error matching ErrNotFound if no live session has the
	// id, and then writes nothing.
	Update(ctx context.Context, id string, metadata map[string]any) error

	// Delete removes the session. It returns nil whether or not the session
	// existed.
	Delete(ctx context.Context, id string) error
}

// Cleaner removes expired sessions. A janitor calls it periodically.
type Cleaner interface {
	// Cleanup deletes the sessions that have not been used for more than
	// ttl, and returns how many it deleted. A ttl under one millisecond is
	// an error matching ErrInvalidArgument and deletes nothing. When another
	// process is already cleaning the same database, Cleanup may return an
	// error matching ErrCleanupInProgress without deleting anything.
	Cleanup(ctx context.Context, ttl time.Duration) (int64, error)
}

// Toucher is implemented by stores that can mark a session as used without
// changing its metadata, which slides its idle expiry.
type Toucher interface {
	// Touch marks the session as used now. It returns an error matching
	// ErrNotFound if no live session has the id.
	Touch(ctx context.Context, id string) error
}

// Modifier is implemented by stores that can run a read-modify-write of one
// session's metadata under the session's lock.
type Modifier interface {
	// Modify reads the session's metadata, calls fn with it, and stores
	// what fn returns as the whole new metadata (so keys can be removed),
	// marking the session as used now. Concurrent Modify calls on one
	// session run one after another, from any process. If fn returns an
	// error, nothing is written and Modify returns that error. It returns
	// an error matching ErrNotFound if no live session has the id.
	Modify(ctx context.Context, id string, fn func(metadata map[string]any) (map[string]any, error)) error
}

// HandleCleaner is implemented by stores that keep handles (HandleStore).
// A janitor calls it after Cleaner.Cleanup.
type HandleCleaner interface {
	// CleanupHandles deletes the handles past the store's own handle idle
	// timeout (or max lifetime) and returns how many it deleted. When
	// another process is already cleaning the same database, it may return
	// an error matching ErrCleanupInProgress without deleting anything.
	CleanupHandles(ctx context.Context) (int64, error)
}

// HandleStore keeps explicit state handles, the sessionless revision's
// replacement for session state (MCP 2026-07-28, SEP-2567): a tool creates a
// piece of state, returns its opaque handle to the client, and later calls
// pass the handle back as an argument, to any replica.
//
// Each handle belongs to one principal, an opaque string the application
// derives from its authenticated user ("" is the anonymous principal). Every
// call names the principal, and a handle used with any other principal
// behaves exactly as an unknown one: an error matching ErrNotFound, nothing
// revealed and nothing changed. An anonymous handle is a bearer token: the
// store mints it from crypto/rand with at least 128 bits.
//
// State is a JSON object under the same rules as session metadata, and a
// handle expires when it goes unused for the store's handle idle timeout.
// Implementations are safe for concurrent use, by several goroutines and,
// for shared databases, several processes.
type HandleStore interface {
	// CreateHandle stores state (nil means an empty object) under a new
	// handle owned by principal, and returns the handle, a valid MCP id.
	CreateHandle(ctx context.Context, principal string, state map[string]any) (string, error)

	// GetHandle returns a copy of the handle's state that the caller owns.
	// It returns an error matching ErrNotFound if principal has no live
	// handle of that name. GetHandle never writes.
	GetHandle(ctx context.Context, handle, principal string) (map[string]any, error)

	// UpdateHandle merges patch into the handle's state as Store.Update
	// merges metadata (shallowly, atomically) and marks the handle as used
	// now. It returns an error matching ErrNotFound, and writes nothing,
	// if principal has no live handle of that name.
	UpdateHandle(ctx context.Context, handle, principal string, patch map[string]any) error

	// ModifyHandle runs a read-modify-write of the handle's state under
	// the handle's lock, as Modifier.Modify does for sessions.
	ModifyHandle(ctx context.Context, handle, principal string, fn func(state map[string]any) (map[string]any, error)) error

	// TouchHandle marks the handle as used now, which slides its idle
	// expiry. It returns an error matching ErrNotFound if principal has
	// no live handle of that name.
	TouchHandle(ctx context.Context, handle, principal string) error

	// DeleteHandle removes the handle if principal owns it. It returns nil
	// whether or not there was such a handle.
	DeleteHandle(ctx context.Context, handle, principal string) error
}

// ReservedPrefix starts the top-level metadata keys the SDK adapters (mcpgo,
// gosdk) keep in a session's record for what the session negotiated
// (protocol version, client info and capabilities, log level, principal,
// the time of the last touch). Both adapters write the same keys, so that
// a session initialized through one is served by the other. The state
// helpers (State, UpdateState, ModifyState) never show these keys, and
// refuse them with ErrReservedKey.
const ReservedPrefix = "mcp."
