// Command mcpserver is an MCP server (streamable HTTP, with mcp-go or the
// official go-sdk) whose sessions live in a SQL database, so that several
// copies of it behave as one service.
//
// Usage:
//
//	go run ./examples/mcpserver [-sdk mcp-go|go-sdk] [-addr 127.0.0.1:8080] [-db sqlite:mcpsessions.db] [-idle-timeout 30m]
//
// -sdk picks the MCP SDK: mcp-go (github.com/mark3labs/mcp-go, through
// package mcpgo; the default) or go-sdk
// (github.com/modelcontextprotocol/go-sdk, through package gosdk). Each is
// wired in a file of its own (mcpgo.go, gosdk.go); the tools, the flags and
// the behaviour are the same, but for what the SDKs themselves do
// differently: a DELETE answers 200 (mcp-go) or 204 (go-sdk), and before
// any logging/setLevel whoami's log level is mcp-go's default, "error", or
// go-sdk's, "" (it sends no log messages).
//
// -memory keeps the sessions in mcp-go's memory instead, with no database
// (mcp-go only, without -cache): a baseline for the load generator
// (integration/cmd/loadgen), where each session and each principal's
// handles work only on the replica that created them.
//
// The endpoint is /mcp. -db takes sqlite:PATH, sqlite::memory: or a
// postgres:// DSN; the server creates its tables itself. It runs a janitor
// that deletes sessions and state handles unused for longer than
// -idle-timeout, and a bus (package bus) with an event store (package
// eventstore) over the same database, which carry the sessions' streams
// and server-to-client messages between the copies. It logs with log/slog
// to stderr, and on SIGINT or SIGTERM closes its streams, lets
// requests in flight finish (up to 10s) and exits 0; the sessions stay in
// the database.
//
// Tools:
//
//   - whoami: a JSON text with the session's client name, protocol version
//     and log level.
//   - counter: increments a counter and returns the new count, as text
//     and as structuredContent {"count": N}, plus "handle": H when the
//     count lives in a state handle. Its optional string argument handle
//     names the counter to increment, on any copy; without it, a legacy
//     session (2025-11-25 and older) counts in the session, and a request
//     without a session (2026-07-28) starts a new counter, returning count
//     1 and its handle. An unknown, expired or another principal's handle
//     is a tool error (isError), not a protocol error.
//   - sample: asks the client with sampling/createMessage to reply to its
//     argument prompt and returns the sampled text. The client may POST
//     its answer to any copy. Both SDKs send the request on the
//     tools/call's own stream (mcp-go, when that stream has ended, on the
//     session's GET stream, wherever that is open).
//   - notify: sends notifications/message, with its argument message as
//     the data, to the calling session's GET stream, on whichever copy it
//     is open (or keeps it for the client to resume with Last-Event-ID).
//
// sample and notify need a session (2025-11-25 and older): the sessionless
// revision has neither server-to-client requests nor a GET stream.
//
// The principal that owns handles and sessions is, for demonstration, a
// hash of the request's Authorization: Bearer token, or anonymous without
// one: the example verifies no token. A real server verifies the token
// first and uses the verified user's id (see packages mcpgo and gosdk,
// WithPrincipal).
//
// Two copies on different addresses over one database are one service:
//
//	go run ./examples/mcpserver -addr 127.0.0.1:8080 &
//	go run ./examples/mcpserver -addr 127.0.0.1:8081 &
//
// A session initialized on one is served by the other: counter called on
// each in turn returns 1, 2, 3, 4, and after a DELETE on one the other
// answers 404. By hand:
//
//	curl -si http://127.0.0.1:8080/mcp -H 'Content-Type: application/json' \
//	  -H 'Accept: application/json, text/event-stream' \
//	  -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'
//	# copy the Mcp-Session-Id response header, then, on the other copy:
//	curl -s http://127.0.0.1:8081/mcp -H 'Content-Type: application/json' \
//	  -H 'Accept: application/json, text/event-stream' -H 'Mcp-Session-Id: ID' \
//	  -d '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"counter"}}'
//	curl -si -X DELETE http://127.0.0.1:8080/mcp -H 'Mcp-Session-Id: ID'
//
// Clients at their defaults speak the sessionless revision (2026-07-28),
// with no session: both SDKs serve them whoami on any copy, and counter on
// a handle; pinned to 2025-11-25 they get a session, as above.
//
// The GET stream of a session, its resumption (Last-Event-ID) and the
// answers to server-to-client requests work on any copy: see packages mcpgo
// and gosdk, "Streams across replicas", for what still stays on one.
package main
