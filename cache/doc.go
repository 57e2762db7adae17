// Package cache keeps, on each replica, the sessions it has read, so that
// most reads of a busy session are answered from memory, while every replica
// still sees every other's writes: a deleted session answers not found
// everywhere, and an Update on one replica is read on the others.
//
// A [Store] wraps an mcpsession.Store (sqlstore's, typically) and a
// bus.Bus over the same database, and takes the wrapped store's place:
// give it to the adapter and the janitor.
//
// # Getting started
//
//	c, err := cache.New(store, b) // b: the replica's bus, running
//	if err != nil {
//		return err
//	}
//	defer c.Close()
//	sessions, err := mcpgo.New(c) // or gosdk.New(c, server)
//
// # How it works
//
// Get is served from memory when it can be, and always returns a fresh
// map the caller may change; the adapters' session check on every request,
// which only reads, skips that copy. Every write
// through the Store (Create, Update, Modify, Delete, and Cleanup when it
// sweeps what reads still see) drops the session's entry on this replica
// at once and publishes its key on the bus; every replica's Store drops its
// entry when the key arrives. A read that was in flight when a key arrived
// is not kept. The keys of the writes of one 10 ms interval travel in one
// message, on the bus topic
// "mcpsession/cache/invalidate", so that invalidation costs the database
// one message per interval, not one per write.
//
// Three limits keep an entry from going stale:
//
//   - expiry stays on the database's clock: an entry lives no longer than
//     the time the database said the session had left when it was read
//     (sqlstore's GetWithTTL; a store without that method gets entries of
//     WithMaxStaleness, capped by its idle timeout), measured on this
//     replica's monotonic clock, so a replica whose wall clock is wrong
//     keeps nothing past its end;
//   - WithMaxStaleness (1 s by default) bounds the age of any entry,
//     even when the bus is late;
//   - on Postgres the Store caches only while the bus is Listening: when
//     the listener's connection is down, or the bus only polls (behind
//     PgBouncer in transaction mode), it drops every entry and reads
//     through to the database until the listener is back. On SQLite, where
//     every replica polls the bus, polled invalidations are what there is,
//     and WithMaxStaleness is what holds.
//
// A session in use is read again before its entry ends: a hit in the last
// fifth of an entry's life starts a background read, kept under the same rules as a miss's, so that requests
// of a busy session are not the ones that wait for the database each time
// an entry ends.
//
// Memory is bounded by WithMaxEntries and WithMaxBytes (an estimate of the
// decoded metadata), the least recently used entries going first.
//
// State handles, and writes made behind the Store's back (another process
// without a cache, a janitor on the raw store), are not cached or not
// announced: the former go straight through, and for the latter
// WithMaxStaleness is the bound.
package cache
