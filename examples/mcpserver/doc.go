// Command mcpserver is an MCP server (streamable HTTP, mcp-go) whose
// sessions live in a SQL database, so that several copies of it behave as
// one service.
//
// Usage:
//
//	go run ./examples/mcpserver [-addr 127.0.0.1:8080] [-db sqlite:mcpsessions.db] [-idle-timeout 30m]
//
// The endpoint is /mcp. -db takes sqlite:PATH, sqlite::memory: or a
// postgres:// DSN; the server creates its table itself. It runs a janitor
// that deletes sessions unused for longer than -idle-timeout, logs with
// log/slog to stderr, and on SIGINT or SIGTERM closes its streams, lets
// requests in flight finish (up to 10s) and exits 0; the sessions stay in
// the database.
//
// Tools:
//
//   - whoami: a JSON text with the session's client name, protocol version
//     and log level.
//   - counter: increments a per-session counter kept in the session's
//     metadata and returns the new value.
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
// What no database can share, a live SSE stream and server-to-client
// requests (sampling, elicitation), stays on the copy that holds the
// connection: see package mcpgo.
package main
