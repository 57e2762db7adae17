// Package events is the implementation behind package eventstore: the
// events of MCP sessions' SSE streams in the store's database (see package
// eventstore for the rules). eventstore.Store is this package's Store under
// its public name, so that the adapters' relay and event stores convert
// it, (*events.Store)(e), and append, replay and find events, while the
// user sees only New and the options.
package events
