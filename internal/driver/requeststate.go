package driver

// RequestStateStatements is the SQL of package requeststate: the key ring
// in mcp_requeststate_keys, one key per rotation epoch, and the ids of the
// states opened for single use in mcp_requeststate_used. Times are Unix
// milliseconds from the caller's clock, not the database's: a state's
// expiry is sealed inside it by the replica that sealed it, and every
// comparison with it must use the same kind of clock.
type RequestStateStatements struct {
	// PutKey(epoch, key, retire) inserts key as the epoch's key unless the
	// epoch has one, moves the epoch's retire_at to retire if that is
	// later, and selects the epoch's key: the first inserter's, whoever
	// calls. Every replica thus converges on one key per epoch with no
	// lock and one round trip.
	PutKey string

	// Key(epoch) selects the epoch's key; no row when it has none.
	Key string

	// Use(id, expires) inserts a state's id, kept until expires, unless
	// the table holds it: one row is affected the first time, none after.
	Use string

	// TrimUsed(cutoff, limit) deletes up to limit ids whose expiry is
	// cutoff or earlier, walking the expiry index oldest first.
	TrimUsed string

	// TrimKeys(cutoff) deletes the keys whose retire_at is cutoff or
	// earlier.
	TrimKeys string
}
