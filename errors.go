package mcpsession

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound means no live session has the id: it was never created,
	// was deleted, or has expired. ErrHandleNotFound matches it too.
	ErrNotFound = errors.New("mcpsession: session not found")

	// ErrHandleNotFound means the principal has no live handle of that
	// name: it was never created, was deleted, has expired, or belongs to
	// another principal (which is not revealed). It wraps ErrNotFound, so
	// errors.Is(err, ErrNotFound) holds for it too.
	ErrHandleNotFound error = &childError{"mcpsession: handle not found", ErrNotFound}

	// ErrExists means Create was given the id of a live session.
	ErrExists = errors.New("mcpsession: session already exists")

	// ErrInvalidID means a session id breaks the MCP rule: 1 to 255 bytes,
	// each a visible ASCII character (0x21 to 0x7E).
	ErrInvalidID = errors.New("mcpsession: invalid session id")

	// ErrInvalidMetadata means the metadata cannot be stored as a JSON
	// object: encoding/json cannot encode a value, or a string or key holds
	// invalid UTF-8 or U+0000.
	ErrInvalidMetadata = errors.New("mcpsession: invalid metadata")

	// ErrTooLarge means the encoded metadata is over the store's limit. It
	// wraps ErrInvalidMetadata, so errors.Is(err, ErrInvalidMetadata) holds
	// for it too.
	ErrTooLarge = fmt.Errorf("%w: too large", ErrInvalidMetadata)

	// ErrInvalidPrincipal means a handle's principal cannot be stored: it
	// is over MaxPrincipalLength bytes, or holds invalid UTF-8 or U+0000.
	ErrInvalidPrincipal = errors.New("mcpsession: invalid principal")

	// ErrCallInModify means a store method was called from inside the
	// function given to Modify (or ModifyHandle). That function runs while
	// Modify holds a lock which the call could wait for until the function
	// returns (SQLite's one write lock, a row lock), so the call is refused
	// at once, whatever session it names, and writes nothing. Read what the
	// function needs before Modify, and write what it decides after.
	ErrCallInModify = errors.New("mcpsession: store called from inside a Modify function")

	// ErrCleanupInProgress means another process holds the database's
	// cleanup lease: it is sweeping. A janitor treats it as a skipped
	// sweep, not a failure.
	ErrCleanupInProgress = errors.New("mcpsession: cleanup in progress elsewhere")

	// ErrUnavailable means the database could not serve the call now: it
	// could not be reached, the connection broke during the call, or the
	// server refused it for the moment (shutting down, starting up, out
	// of connections, a failover in progress). The same call may succeed
	// a moment later; the error also wraps the driver's.
	//
	// A read (Get) or an idempotent write (Touch, Delete, Update) that
	// failed with it may be retried as it is. A write that failed with it
	// may still have been applied: the server may have committed it just
	// before the connection broke. A retried Create of such a session
	// then fails with ErrExists; with an id from NewID, which nobody else
	// has, that means the first attempt committed.
	ErrUnavailable = errors.New("mcpsession: database unavailable")

	// ErrInvalidOption means a constructor of this module (sqlstore.Open
	// and New, bus.New, eventstore.New, cache.New, janitor.New,
	// requeststate.New, tasks.New, storetest's kit) was given an option it
	// cannot use, or options that conflict. The error's text names the
	// option and what is wrong with it. Nothing was opened, started or
	// changed.
	ErrInvalidOption = errors.New("mcpsession: invalid option")

	// ErrReadOnly means the database accepts no writes: the store reached
	// a hot standby (use a DSN that finds the primary, such as libpq's
	// target_session_attrs=read-write), or the store was opened read-only.
	// Nothing was written.
	ErrReadOnly = errors.New("mcpsession: database is read-only")

	// ErrInvalidArgument means a call of this module's packages was given
	// an argument it cannot use: a nil function, a Cleanup ttl under one
	// millisecond, a value over a documented limit, text that is not valid
	// UTF-8. The error's text says which. Nothing was changed.
	ErrInvalidArgument = errors.New("mcpsession: invalid argument")

	// ErrUnsupported means the store does not implement what the call
	// needs: one of this package's optional interfaces (Modifier, Toucher,
	// Cleaner, HandleStore, HandleCleaner). ErrModifyUnsupported and
	// ErrHandlesUnsupported match it too.
	ErrUnsupported = errors.New("mcpsession: the store does not implement this")
)

// The errors of the SDK adapters (modules mcpgo and gosdk), defined once
// here: each adapter re-exports them under the same names, so that
// errors.Is matches either name.
var (
	// ErrNoSession means a tool handler's context belongs to no stored
	// session: the request used the sessionless protocol revision
	// (2026-07-28), or it was not served through the adapter.
	ErrNoSession = errors.New("mcpsession: no session in context")

	// ErrReservedKey means application state named a key that starts with
	// ReservedPrefix, under which the adapters keep what a session
	// negotiated.
	ErrReservedKey = errors.New("mcpsession: reserved metadata key")

	// ErrModifyUnsupported means ModifyState was called on a store that
	// does not implement Modifier. It matches ErrUnsupported too.
	ErrModifyUnsupported error = &childError{"mcpsession: store does not implement mcpsession.Modifier", ErrUnsupported}

	// ErrHandlesUnsupported means a handle helper was called on a store
	// that does not implement HandleStore. It matches ErrUnsupported too.
	ErrHandlesUnsupported error = &childError{"mcpsession: store does not implement mcpsession.HandleStore", ErrUnsupported}

	// ErrNoPrincipal means a tool handler's request has no principal: the
	// adapter's principal function failed or returned an invalid one, or
	// the request was not served through the adapter.
	ErrNoPrincipal = errors.New("mcpsession: no principal for the request")

	// ErrNoStreams means an adapter was asked to send a client something
	// (Notify, Broadcast) without streams across replicas: it was given no
	// bus and event store.
	ErrNoStreams = errors.New("mcpsession: no streams across replicas")
)

// childError is a sentinel that also matches its parent sentinel.
type childError struct {
	msg    string
	parent error
}

func (e *childError) Error() string { return e.msg }
func (e *childError) Unwrap() error { return e.parent }
