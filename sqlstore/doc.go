// Package sqlstore keeps MCP sessions and state handles in PostgreSQL or
// SQLite, so that every replica of a service can serve every client and
// nothing is lost on restart. Begin with [Open] and a dialect; its Store
// implements mcpsession.Store, Cleaner, Toucher and Modifier for sessions,
// and mcpsession.HandleStore and HandleCleaner for state handles.
//
// # Getting started
//
//	store, err := sqlstore.Open(ctx, postgres.Dialect(), "postgres://app:secret@db:5432/app",
//		sqlstore.WithAutoMigrate(),
//		sqlstore.WithIdleTimeout(30*time.Minute))
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//
//	id := mcpsession.NewID()
//	err = store.Create(ctx, id, map[string]any{"protocolVersion": "2025-06-18"})
//	err = store.Update(ctx, id, map[string]any{"logLevel": "debug"}) // shallow merge
//	md, err := store.Get(ctx, id)
//
// Open takes the dialect of the database and its DSN: postgres.Dialect()
// (package dialects/postgres, pgx v5) with a postgres:// or postgresql://
// DSN, or sqlite.Dialect() (package dialects/sqlite, modernc.org/sqlite,
// pure Go, no cgo) with sqlite:PATH or sqlite::memory:. A program links
// only the dialects it imports. [New] wraps a *sql.DB you opened yourself.
//
// # Semantics
//
// Both databases behave identically; the conformance kit in package
// storetest checks every rule on both.
//
//   - Create stores a new session (nil metadata is {}); a live session with
//     the same id is left untouched and Create returns ErrExists.
//   - Get returns a fresh map, or ErrNotFound for a missing or expired
//     session. It never writes.
//   - Update merges shallowly in one statement, as jsonb || does: each
//     top-level key given replaces the stored value whole, null is stored
//     as null, keys not given stay. Concurrent Updates of different keys
//     never lose one.
//   - Delete is nil whether or not the session existed.
//   - Touch marks a session as used now.
//   - Modify is a read-modify-write under the session's row lock.
//   - Cleanup deletes expired sessions in batches, walking an index.
//
// Expiry: [WithIdleTimeout] expires sessions not written for a while (reads
// do not count), [WithMaxLifetime] sessions created too long ago. Both are
// measured on the database's clock, so replicas whose clocks disagree still
// agree. Expired sessions read as missing at once; Cleanup, usually from a
// janitor (package janitor), removes their rows.
//
// Bad input is refused before any SQL runs and writes nothing: ids that
// break the MCP rule (ErrInvalidID), metadata encoding/json cannot encode,
// or holding U+0000 or invalid UTF-8 (ErrInvalidMetadata), metadata over
// [WithMaxMetadataBytes] (ErrTooLarge). Database errors are wrapped with the
// operation ("sqlstore: update session: …"); context errors stay matchable
// with errors.Is (errors.Is(err, ctx.Err()) holds once ctx has ended). A
// database that cannot serve a call now (unreachable, restarting, failing
// over) is mcpsession.ErrUnavailable, one that accepts no writes (a hot
// standby) mcpsession.ErrReadOnly; the dialect decides which driver error is
// which.
//
// # Schema
//
// The table is mcp_sessions, created by the goose migrations of package
// migrations, which [WithAutoMigrate] applies at Open (several replicas may
// do so at once). Without it, apply them with the goose CLI; the store then
// needs no right beyond SELECT, INSERT, UPDATE and DELETE on mcp_sessions.
//
// Reads judge idle expiry by updated_at, which no index holds; the idle
// sweep walks the index of updated_floor, a lower bound of updated_at
// that Create sets and Cleanup raises on the live sessions it passes.
// Writes of a live session thus change no indexed column, and on Postgres
// they are HOT updates (no index entry, no index WAL) whenever the new row
// version fits on its page, for which the tables keep a tenth of each page
// free (fillfactor 90). What that costs: Cleanup rewrites each session
// still in use about once per ttl, and holds its row lock for one batch
// statement while it does. What it does not cost: precision. Since
// updated_floor never exceeds updated_at, Cleanup(ttl) deletes exactly the
// sessions idle for longer than ttl, as a walk of updated_at would, and a
// session is never readable after its idle timeout. (Migration 00007 made
// this change; it fills updated_floor from updated_at.) State handles work
// the same way.
//
// # Production Postgres
//
// PgBouncer in transaction mode: add default_query_exec_mode=exec (or
// simple_protocol) to the DSN. The store prepares nothing itself on
// Postgres, pgx does as the DSN says, and in those modes it prepares
// nothing on the server, which a transaction pooler requires. The cleanup
// lease and goose's migration lock are rows, not session locks, so both
// hold there too.
//
// Failover: a DSN may name several hosts, and target_session_attrs=read-write
// picks the primary among them; keep connect_timeout well below your calls'
// deadlines, since a hung host costs every new connection that long. The
// store needs no reopening after a failover. [Open] refuses a server that
// accepts no writes unless the store is opened [WithReadOnly]. [WithRetry]
// retries Get, Touch, Delete and Update while the database is unavailable,
// within the caller's deadline. A Create that failed with ErrUnavailable
// may still have committed; retried, it then fails with ErrExists.
//
// # SQLite
//
// Open enables WAL, synchronous=NORMAL and a 10 s busy timeout. SQLite has
// one writer per database: the Store lets one write statement run at a time
// within the process, queueing the others in order (and honouring their
// contexts) rather than letting them spin on SQLITE_BUSY; other processes
// on the same file wait on the busy timeout. Reads run in parallel.
package sqlstore
