// Package requeststate seals the requestState of MCP's multi round-trip
// requests (2026-07-28, SEP-2322) so that any replica can open it, and
// open it once. Begin with [New] over the store, one [Sealer] per process.
//
// A tool that needs an answer from the user returns an InputRequiredResult
// with its inputRequests and a requestState; the client retries the same
// request with the answers and the state echoed back, and that retry lands
// on whichever replica the load balancer picks. The state is in the
// client's hands meanwhile: the spec calls it attacker-controlled input
// that MUST be integrity-protected wherever it steers authorization or
// business logic, SHOULD be bound to the principal, a short expiry, the
// method and its parameters, and, where at most once matters, MUST be
// made single use by the server. A [Sealer] does all of that, with keys it
// keeps in the store's database, so that every replica opens what any
// replica sealed with no configuration.
//
// # Getting started
//
// Make one Sealer per process over the store (its migrations hold the
// tables), seal when returning the InputRequiredResult, and open the state
// the retry carries with the retry's own principal, method and params:
//
//	sealer, err := requeststate.New(ctx, store) // store is a *sqlstore.Store
//
//	// the first call
//	req := requeststate.Request{Principal: who, Method: "tools/call", Params: rawParams}
//	token, err := sealer.Seal(ctx, req, state)
//	// ... return the InputRequiredResult with token as its requestState
//
//	// the retry, on any replica
//	state, err := sealer.OpenOnce(ctx, retryReq, retryToken)
//	if errors.Is(err, requeststate.ErrRefused) {
//		// an error result; never act on the state
//	}
//
// The adapters (mcpgo, gosdk) wrap this for tool handlers, acting for the
// request's principal. Run [Sealer.Sweep] from the janitor
// (janitor.WithSweeper) so that used ids and retired keys are deleted.
//
// # What a token is
//
// AES-256-GCM (the standard library's) with a random 96-bit nonce, over a
// random 128-bit id, the expiry (one TTL from sealing, 10 minutes by
// default, [WithTTL]), SHA-256 of the principal, the method, a SHA-256
// digest of the params and the caller's bytes; the format version and the
// key's id are authenticated with it. The digest leaves out the members a
// retry adds or changes (inputResponses, requestState, _meta), and is of
// the params in canonical form, so the order of members and white space do
// not matter. The token is base64url without padding: about 190 characters
// plus 4/3 of the state.
//
// Keys live in the store: one per rotation epoch (24 hours by default,
// [WithRotation]), inserted by the first replica that needs it, cached in
// memory, used to seal during its epoch and to open for one TTL more, then
// deleted by the sweep. [WithKeys] gives the keys instead, for those who
// keep keys out of the database. Give every replica the same TTL and
// rotation (or keys), and keep the replicas' clocks within a minute of one
// another: that much skew is allowed for wherever one replica's clock
// judges what another's wrote.
//
// # Refusals
//
// [Sealer.Open] and [Sealer.OpenOnce] refuse a state with an error that
// matches [ErrRefused] and says why: [ErrTampered], [ErrOtherPrincipal],
// [ErrOtherRequest], [ErrExpired] or [ErrReplayed]. Why is for the server's
// logs: tell the client no more than that the state was not accepted,
// and never act on a refused state. Other errors (the database's, when a
// key must be read or a state recorded) are not refusals. No error holds
// the token, a key or the principal.
//
// # Threat model
//
// Sealing gives integrity and confidentiality against the client and
// anyone on the way: a state cannot be forged or altered, read, used by
// another principal, carried to another method or other arguments, or
// used after its expiry. Binding is not single use: until it expires, a
// state opened with [Sealer.Open] opens again, for its own principal and
// request, as often as it is sent. Handlers for which a second run would
// do harm (a payment, a confirmation) use [Sealer.OpenOnce], which records
// the state's id in the store, on the first open on any replica, until the
// state expires; it costs one write per open, which is why it is opt in.
// Sealing gives nothing against whoever can read the database (the ring's
// keys are there: use WithKeys to keep them elsewhere) or holds a key, and
// the principal is only as good as the server's authentication: the
// anonymous principal "" binds nothing, so an anonymous state is a bearer
// token for its lifetime.
package requeststate
