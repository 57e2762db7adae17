package driver

// EventStatements is the SQL of package eventstore: the events of sessions'
// SSE streams, each at a position of its stream, in mcp_events; each
// stream's next position in mcp_streams; each session's event count in
// mcp_event_sessions. A session's streams and events go when the session's
// row goes.
type EventStatements struct {
	// Open(session, stream, idle, lifetime) creates the stream, at
	// position 0, if the session is live and has no such stream; it
	// selects one row (1) when the stream exists afterwards, none when
	// the session is not live.
	Open string

	// Next(session, stream, idle, lifetime) takes the stream's next
	// position, creating the stream if the session is live and has none,
	// and selects it; no row when the session is not live.
	Next string

	// Insert(session, stream, pos, data) appends an event (data NULL for
	// a priming entry) and selects its seq, unique in the table. On
	// Postgres it wakes the listeners with WakeKey('e', session).
	Insert string

	// Count(session) adds one to the session's event count and selects
	// the new count.
	Count string

	// Trim(session, keep) deletes the session's oldest events but the
	// newest keep.
	Trim string

	// Recount(session) sets the session's event count to what it holds.
	Recount string

	// After(session, stream, pos) selects seq, pos and data of the
	// stream's events after pos, in position order.
	After string

	// SincePriming(session, stream, before) selects seq, pos and data of
	// the stream's retained events before position before and after the
	// last priming entry (data NULL) before it, in position order: all
	// the retained ones before it when there is no such entry.
	SincePriming string

	// Bounds(session, stream) selects the stream's next position and the
	// position of its first retained event (NULL if none); no row when
	// there is no such stream.
	Bounds string

	// Find(session, seq) selects the stream and position of the event.
	Find string

	// Purge(session) is the statements that delete the session's
	// streams, events and count, to run in order in one transaction.
	Purge []string
}
