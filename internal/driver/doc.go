// Package driver is the seam between this module's packages and the
// databases they run on, as riverdriver is river's: what each database
// (package dialects/postgres, package dialects/sqlite) supplies, the SQL
// text of every statement among it, and the helpers the drivers share.
// Packages sqlstore, bus, eventstore and migrations state each behaviour
// once over a [Driver]; nothing in them names a particular database.
//
// It is internal: a user names a dialect (postgres.Dialect(),
// sqlite.Dialect()) and never sees a Driver, so it may change in any
// commit, goose's types in its signatures included.
//
// Every statement takes durations as whole milliseconds in a bigint
// parameter, with 0 meaning "no limit". A session is live while its
// updated_at is no more than the idle timeout ago and its created_at no
// more than the max lifetime ago; Cleanup deletes exactly the rows that
// are not.
package driver
