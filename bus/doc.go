// Package bus carries messages between the replicas of a service through
// the database they share, with no broker of its own. Each replica runs
// one [Bus] and gives it to what must reach the other replicas: a read
// cache's invalidations (package cache), a task's changes (package tasks),
// an adapter's streams and the client's answers to server-to-client
// requests (mcpgo.WithStreams, gosdk.WithStreams).
//
// # Getting started
//
//	b, err := bus.New(store) // store is a *sqlstore.Store, migrated
//	if err != nil {
//		return err
//	}
//	go b.Run(ctx) // for as long as the replica serves
//	<-b.Ready()   // then serve: nothing the other replicas send is missed
//	c, err := cache.New(store, b)
//
// # How it works
//
// A message is a row of mcp_bus (a topic and a payload), kept a short
// while (WithRetention). Every replica's Bus reads the rows in id order and
// hands each to the packages that subscribed to its topic in that process.
// On Postgres, the statement that publishes a message also sends a NOTIFY,
// at commit, with the message's id and nothing else; a dedicated
// connection LISTENs, and a notification only wakes the reader early. A
// backstop poll reads the table anyway (WithBackstop), so a notification
// lost with the listener's connection delays a message but never drops it;
// the listener reconnects with backoff and re-listens by itself. Where
// LISTEN cannot work (SQLite, with several processes on one file; Postgres
// behind PgBouncer in transaction mode, sqlstore.WithTransactionPooling;
// WithPollOnly) the Bus only polls.
//
// Ids are allocated when a row is inserted but become visible when its
// transaction commits, so on Postgres a reader can see id 12 before id
// 11. The Bus remembers the ids it skipped and reads them again for a
// while, so a late commit is still delivered (after the ones around it).
// Each message reaches each running Bus once; a Bus delivers what was
// published after its Run started ([Bus.Ready]).
//
// # Latency
//
// With LISTEN, a message published on one replica reaches another's
// subscribers within a round trip or two after commit; without it, within
// the poll interval (WithPollInterval, 100 ms by default).
package bus
