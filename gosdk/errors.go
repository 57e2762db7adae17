package gosdk

import "github.com/mcpsession/mcpsession"

// The errors of the adapter's helpers are package mcpsession's, under the
// same names here, so that errors.Is matches either name. A bad option is
// an error matching mcpsession.ErrInvalidOption, and a helper given an
// argument it cannot use (a nil function) one matching
// mcpsession.ErrInvalidArgument.

// ErrNoSession means a tool handler's context belongs to no stored session:
// the request used the sessionless protocol revision (2026-07-28), or it
// was not served through a Sessions.
var ErrNoSession = mcpsession.ErrNoSession

// ErrReservedKey means application state named a key that starts with
// mcpsession.ReservedPrefix, which the adapter keeps for what it negotiated.
var ErrReservedKey = mcpsession.ErrReservedKey

// ErrModifyUnsupported means ModifyState was called on a store that does
// not implement mcpsession.Modifier.
var ErrModifyUnsupported = mcpsession.ErrModifyUnsupported

// ErrHandlesUnsupported means a handle helper was called on a store that
// does not implement mcpsession.HandleStore.
var ErrHandlesUnsupported = mcpsession.ErrHandlesUnsupported

// ErrNoPrincipal means a tool handler's request has no principal: the
// principal function (WithPrincipal) failed or returned an invalid one, or
// the request was not served through a Sessions.
var ErrNoPrincipal = mcpsession.ErrNoPrincipal
