// Package mcpsession is the contract for keeping MCP (Model Context
// Protocol) server state outside the memory of one process, so that every
// replica of a service serves every client and nothing is lost on restart.
//
// # Getting started
//
// A service opens a store (package sqlstore) on every replica, over one
// database, gives it to the adapter of its SDK (module mcpgo for mcp-go,
// gosdk for the official go-sdk) and runs a janitor over it:
//
//	store, err := sqlstore.Open(ctx, postgres.Dialect(), dsn, sqlstore.WithAutoMigrate())
//	sessions, err := mcpgo.New(store) // or gosdk.New(store, server)
//	j, err := janitor.New(store)      // go j.Run(ctx)
//
// This package is the contract they share: the interfaces a store
// implements, the errors every store and adapter returns, and ids.
//
// # Two eras of state
//
// MCP has two eras of state. Clients of the 2025-11-25 revision and older
// get a session id (the Mcp-Session-Id header) at initialize and send it on
// every later request, on whichever replica it lands: a [Store] keeps each
// session's metadata (protocol version, client info, capabilities, log
// level, application state) under that id, and a [Cleaner] removes the
// sessions nobody ended. The 2026-07-28 revision has no sessions
// (SEP-2567): a tool mints an explicit state handle, returns it, and later
// calls pass it back as an argument; a [HandleStore] keeps each handle's
// state, owned by a principal, with a bounded idle lifetime.
//
// The session contract mirrors the Session.Store behaviour of the Elixir
// library ConduitMCP: Create, Get, Update (a shallow merge), Delete and an
// optional Cleanup(ttl) that a periodic janitor calls.
//
// This package holds only the contract: the interfaces, the errors every
// implementation returns, and ids ([NewID], [ValidateID],
// [ValidatePrincipal]). The rest of the module, one reason to change each:
//
//   - sqlstore: the Store and HandleStore on PostgreSQL and SQLite;
//   - dialects: what differs between the two databases as a user sees it,
//     and the dialects themselves, one package each (dialects/postgres,
//     dialects/sqlite), each owning its SQL and its migrations;
//   - migrations: the schema, goose SQL files per dialect, applied by Up;
//   - janitor: the background sweeper of expired sessions and handles,
//     and of other stores' sweepers;
//   - storetest: the conformance kit any Store or HandleStore can run;
//   - bus: messages between replicas through the database (LISTEN/NOTIFY
//     on Postgres, polling on SQLite);
//   - eventstore: the events of SSE streams, for resumption on any replica;
//   - cache: a per-replica read cache kept coherent through the bus;
//   - requeststate: the requestState of multi round-trip requests, sealed
//     so that any replica opens it, and at most once if need be;
//   - tasks: MCP tasks that any replica creates, polls, lists, awaits and
//     cancels, failed when the replica running one stops.
//
// The SDK adapters are modules of their own: mcpgo (mark3labs/mcp-go) and
// gosdk (modelcontextprotocol/go-sdk).
//
// # Errors
//
// Every Store returns errors that match, with [errors.Is], one of the
// sentinels below, or wrap a database or context error:
//
//   - [ErrNotFound]: no live session has that id (never created, deleted, or
//     expired).
//   - [ErrExists]: Create was given the id of a live session.
//   - [ErrInvalidID]: the id breaks the MCP rule for session ids (1 to 255
//     bytes, each a visible ASCII character, 0x21 to 0x7E).
//   - [ErrInvalidMetadata]: the metadata cannot be stored as a JSON object
//     that reads back as it was: a value encoding/json cannot encode,
//     invalid UTF-8, U+0000, nesting deeper than [MaxMetadataDepth], or a
//     number beyond float64's range.
//   - [ErrTooLarge]: the encoded metadata is over the store's limit. It also
//     matches ErrInvalidMetadata.
//   - [ErrInvalidArgument]: a call was given an argument it cannot use
//     (Cleanup a ttl under one millisecond, Modify a nil function).
//   - [ErrCleanupInProgress]: another process holds the database's cleanup
//     lock; the caller should skip this sweep rather than fail.
//   - [ErrCallInModify]: the store was called from inside a Modify
//     function, where the call could wait forever for Modify's own lock.
//   - [ErrInvalidPrincipal]: a handle's principal is too long, or holds
//     invalid UTF-8 or U+0000.
//   - [ErrUnavailable]: the database could not serve the call now
//     (unreachable, connection lost, shutting down, failing over); the
//     same call may succeed a moment later.
//   - [ErrReadOnly]: the database accepts no writes (a hot standby, or a
//     store opened read-only).
//
// A call that fails with one of these writes nothing, except
// ErrUnavailable, which cannot tell: a write cut off by a broken
// connection may have been committed.
//
// Every constructor of the module's packages (sqlstore.Open and New,
// bus.New, eventstore.New, cache.New, janitor.New, requeststate.New,
// tasks.New, and the adapters' New) refuses a bad option, or options that
// conflict, with an error matching [ErrInvalidOption], before it opens or
// starts anything; a call given an argument it cannot use returns one
// matching [ErrInvalidArgument], and one that needs what the store lacks
// one matching [ErrUnsupported].
//
// The SDK adapters' helpers return the errors of the second block below
// ([ErrNoSession], [ErrReservedKey], [ErrNoPrincipal], …), which each
// adapter re-exports under the same names.
package mcpsession
