// Package conformance runs the store against real databases, beyond what
// the root module's unit tests can reach: the conformance kit (storetest)
// on a Postgres container and on a SQLite file, hostile input well past the
// kit's, and a database role that holds nothing but SELECT, INSERT, UPDATE
// and DELETE on mcp_sessions.
//
// It has tests only. Run them with `go test ./conformance` from the
// integration module; the Postgres server comes from internal/pgtest (the test kit
// mcpsessiontest).
package conformance
