package gosdk

import "errors"

var (
	// ErrInvalidOption means New was given a bad option: a nil Option, a
	// nil logger or server, a duration or count that is not positive, a
	// touch interval that is not below half of the store's idle timeout, or
	// go-sdk options the adapter cannot honour (see WithStreamableHTTPOptions).
	ErrInvalidOption = errors.New("gosdk: invalid option")

	// ErrNoSession means a tool handler's context belongs to no stored
	// session: the request used the sessionless protocol revision
	// (2026-07-28), or it was not served through a Sessions.
	ErrNoSession = errors.New("gosdk: no session in context")

	// ErrReservedKey means application state named a key that starts with
	// ReservedPrefix, which the adapter keeps for what it negotiated.
	ErrReservedKey = errors.New("gosdk: reserved metadata key")

	// ErrInvalidArgument means a helper was given an argument it cannot
	// use, such as a nil function.
	ErrInvalidArgument = errors.New("gosdk: invalid argument")

	// ErrModifyUnsupported means ModifyState was called on a store that
	// does not implement mcpsession.Modifier.
	ErrModifyUnsupported = errors.New("gosdk: store does not implement mcpsession.Modifier")

	// ErrHandlesUnsupported means a handle helper was called on a store
	// that does not implement mcpsession.HandleStore.
	ErrHandlesUnsupported = errors.New("gosdk: store does not implement mcpsession.HandleStore")

	// ErrNoPrincipal means a tool handler's request has no principal: it
	// was not served through a Sessions.
	ErrNoPrincipal = errors.New("gosdk: no principal for the request")
)

// ErrNoStreams means Notify or Broadcast was called on a Sessions without
// streams across replicas (WithBus and WithEventStore).
var ErrNoStreams = errors.New("gosdk: no streams across replicas (WithBus and WithEventStore)")
