// Package bus carries messages between the replicas of a service through the
// database they share, with no broker of its own: Postgres is the engine.
//
// A message is a row of mcp_bus (a topic and a payload), kept a short while.
// Every replica's [Bus] reads the rows in id order and hands each to the
// functions that subscribed to its topic in that process. On Postgres, the
// statement that publishes a message also sends a NOTIFY, at commit, with
// the message's id and nothing else; a dedicated connection LISTENs, and a
// notification only wakes the reader early. A backstop poll reads the table
// anyway, so a notification lost with the listener's connection delays a
// message but never drops it; the listener reconnects with backoff and
// re-listens by itself. Where LISTEN cannot work (SQLite, with several
// processes on one file; Postgres behind PgBouncer in transaction mode) the
// Bus only polls.
//
// Ids are allocated when a row is inserted but become visible when its
// transaction commits, so on Postgres a reader can see id 12 before id 11.
// The Bus remembers the ids it skipped and reads them again for a while, so
// a late commit is still delivered (after the ones around it). Each message
// reaches each running Bus once; a Bus delivers what was published after its
// Run started ([Bus.Ready]).
//
// Besides messages, writes of other packages can wake listeners with a key
// (such as eventstore.WakeKey): [Bus.Watch] hears those, as they happen, only while
// the listener is up ([Bus.Listening]); they are hints, never stored.
//
// # Getting started
//
//	b, err := bus.New(store) // store is a *sqlstore.Store
//	if err != nil {
//		return err
//	}
//	go b.Run(ctx)
//	stop := b.Subscribe("replica/"+self, func(m bus.Message) { handle(m.Payload) })
//	defer stop()
//	<-b.Ready()
//	_, err = b.Publish(ctx, "replica/"+other, payload)
//
// # Latency
//
// With LISTEN, a message published on one replica reaches another's
// subscribers within a round trip or two after commit; without it, within
// the poll interval (WithPollInterval, 100 ms by default).
package bus
