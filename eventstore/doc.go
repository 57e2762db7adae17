// Package eventstore keeps the events of MCP sessions' SSE streams in the
// store's database, so that a stream broken on one replica can be resumed
// (Last-Event-ID) on any other, and a stream can be followed from a replica
// other than the one writing it.
//
// Each stream of a session numbers its events from 0, with no gap, whoever
// appends them (Append takes the next position under the stream's row
// lock); every event also gets a seq, unique in the database, which orders
// all of a session's events and serves as an event id where the SDK lets
// the store choose one (mcp-go). An event without data is a priming entry,
// which go-sdk writes to fix a position.
//
// A session's streams and events go with the session's row: deleted with
// it, swept with it when it expires, so an ended session leaves nothing
// behind. Each session keeps its newest events only, WithMaxEvents of them
// (1000 by default); reading after a position whose successors were dropped
// is ErrPurged, never a silent gap.
//
// Appends wake, on Postgres, the listeners of the store's schema with
// WakeKey(session); a package bus Watch on that key learns of new events at
// once, and should poll too (wake keys are hints).
//
// The adapters (packages mcpgo and gosdk) build the SDKs' EventStore
// interfaces on this one.
package eventstore
