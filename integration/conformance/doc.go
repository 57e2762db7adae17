// Package conformance runs the store against real databases, beyond what
// the root module's unit tests can reach: hostile input well past the
// conformance kit's, and the kit through a database role that holds nothing
// but SELECT, INSERT, UPDATE and DELETE on the store's tables. (The kit
// itself runs once, in package sqlstore, on SQLite and on the Postgres that
// make test provides.)
//
// It has tests only. Run them with `go test ./conformance` from the
// integration module; the Postgres server comes from the test kit,
// mcpsessiontest.
package conformance
