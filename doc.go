// Package mcpsession is the contract for storing MCP (Model Context Protocol)
// server sessions outside the memory of one process, so that every replica of
// a service can serve every session and sessions survive restarts.
//
// An MCP server speaking streamable HTTP hands each client a session id
// (the Mcp-Session-Id header) at initialize and must recognise it on every
// later request, on whichever replica the request lands, and answer 404 once
// the session is gone. A [Store] keeps each session's metadata (protocol
// version, client info, capabilities, log level, application state) under
// that id; a [Cleaner] removes the sessions nobody ended.
//
// The contract mirrors the Session.Store behaviour of the Elixir library
// ConduitMCP: Create, Get, Update (a shallow merge), Delete and an optional
// Cleanup(ttl) that a periodic janitor calls.
//
// This package holds only the contract: the interfaces, the errors every
// implementation returns, and session ids ([NewID], [ValidateID]). The SQL
// implementation for PostgreSQL and SQLite lives in package sqlstore, the
// background sweeper in package janitor, and the conformance kit that any
// Store can run in package storetest.
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
//   - [ErrInvalidTTL]: Cleanup was given a ttl under one millisecond.
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
package mcpsession
