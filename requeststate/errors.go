package requeststate

import "errors"

// ErrRefused is what every refusal of a state matches: a handler that gets
// it answers as for any bad argument, and reveals no more (see the package
// documentation, "Refusals"). ErrTampered, ErrExpired, ErrOtherPrincipal,
// ErrOtherRequest and ErrReplayed each match it, and say why, for the
// server's own logs and metrics.
var ErrRefused = errors.New("requeststate: state refused")

var (
	// ErrTampered means the token is not a state this Sealer's keys
	// sealed: not base64url, too short or too long, of another format
	// version, sealed with a key the Sealer does not have (an unknown
	// key, or one retired since, all its states having expired), or
	// altered in any byte.
	ErrTampered error = &refusal{"requeststate: state tampered with or unreadable"}

	// ErrExpired means the state was sealed for longer ago than the TTL.
	ErrExpired error = &refusal{"requeststate: state expired"}

	// ErrOtherPrincipal means the state was sealed for another principal.
	// It is checked before anything else the state says, so that another
	// principal learns nothing of it, not even whether it has expired.
	ErrOtherPrincipal error = &refusal{"requeststate: state sealed for another principal"}

	// ErrOtherRequest means the state was sealed for another method, or
	// for parameters that differ from the request's in more than
	// inputResponses, requestState and _meta.
	ErrOtherRequest error = &refusal{"requeststate: state sealed for another request"}

	// ErrReplayed means OpenOnce has opened the state before, on this
	// replica or another.
	ErrReplayed error = &refusal{"requeststate: state already used"}
)

// refusal is a refusal's sentinel: it matches ErrRefused too.
type refusal struct{ msg string }

func (e *refusal) Error() string { return e.msg }
func (e *refusal) Unwrap() error { return ErrRefused }
