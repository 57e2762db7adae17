// Package eventstore keeps the events of MCP sessions' SSE streams in the
// store's database, so that a stream broken on one replica is resumed
// (Last-Event-ID) on any other, and a stream is followed from a replica
// other than the one writing it. Each replica makes one [Store] and gives
// it to its adapter with its bus (mcpgo.WithStreams, gosdk.WithStreams),
// which stores every message the SDK sends on a stream and replays them.
//
// # Getting started
//
//	events, err := eventstore.New(store) // store is a *sqlstore.Store, migrated
//	if err != nil {
//		return err
//	}
//	sessions, err := mcpgo.New(store, mcpgo.WithStreams(b, events)) // b: the replica's bus
//
// # Rules
//
// Each stream of a session numbers its events from 0, with no gap,
// whoever appends them; every event also gets a seq, unique in the
// database, which orders all of a session's events and serves as an event
// id where the SDK lets the store choose one (mcp-go). A session's streams
// and events go with the session's row: deleted with it, swept with it
// when it expires, so an ended session leaves nothing behind. Each session
// keeps its newest events only (WithMaxEvents, 1000 by default); a client
// that resumes from before them is refused, never served a silent gap.
package eventstore
