package mcpgo

import "errors"

var (
	// ErrInvalidOption means New was given a bad option: a nil Option, a
	// nil logger or function, or a touch interval that is not positive or
	// not below half of the store's idle timeout.
	ErrInvalidOption = errors.New("mcpgo: invalid option")

	// ErrNoSession means a tool handler's context belongs to no stored
	// session: the request used the sessionless protocol revision
	// (2026-07-28), or it was not served through a Sessions (its
	// HTTPOptions were not given to the StreamableHTTPServer).
	ErrNoSession = errors.New("mcpgo: no session in context")

	// ErrReservedKey means application state named a key that starts with
	// ReservedPrefix, which the adapter keeps for what it negotiated.
	ErrReservedKey = errors.New("mcpgo: reserved metadata key")

	// ErrInvalidArgument means a helper was given an argument it cannot
	// use, such as a nil function.
	ErrInvalidArgument = errors.New("mcpgo: invalid argument")

	// ErrModifyUnsupported means ModifyState was called on a store that
	// does not implement mcpsession.Modifier.
	ErrModifyUnsupported = errors.New("mcpgo: store does not implement mcpsession.Modifier")

	// ErrHandlesUnsupported means a handle helper was called on a store
	// that does not implement mcpsession.HandleStore.
	ErrHandlesUnsupported = errors.New("mcpgo: store does not implement mcpsession.HandleStore")

	// ErrNoPrincipal means a tool handler's request has no principal: the
	// principal function (WithPrincipal) failed or returned an invalid
	// one, or the request was not served through a Sessions (its
	// HTTPOptions were not given to the StreamableHTTPServer).
	ErrNoPrincipal = errors.New("mcpgo: no principal for the request")
)

// ErrNoStreams means Notify or Broadcast was called on a Sessions without
// streams across replicas (WithBus and WithEventStore).
var ErrNoStreams = errors.New("mcpgo: no streams across replicas (WithBus and WithEventStore)")
