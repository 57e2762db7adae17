// Package janitor removes the MCP sessions and state handles nobody ended,
// and whatever else expires in the store's database: a background sweeper
// that calls a [mcpsession.Cleaner] periodically, the way ConduitMCP's
// session cleanup process does. Begin with [New] over the store and run
// [Janitor.Run] for the life of the process.
//
// Clients of a streamable-HTTP MCP server often vanish without a DELETE, so
// their sessions would stay in the store for ever. A store's reads already
// treat a session idle for longer than its idle timeout as gone; a
// [Janitor] deletes those rows, once per interval, with the same ttl.
//
// # Getting started
//
// Build a Janitor with [New] and run it for the life of the process:
//
//	func main() {
//		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//		defer stop()
//
//		store := ... // an mcpsession.Cleaner, such as sqlstore's Store
//		j, err := janitor.New(store, janitor.WithLogger(slog.Default()))
//		if err != nil {
//			log.Fatal(err)
//		}
//		go j.Run(ctx) // returns nil once ctx ends
//
//		// ... serve MCP until ctx ends ...
//	}
//
// # The ttl
//
// One setting decides when a session is dead, for reads and for sweeps. If
// the Cleaner has an IdleTimeout() time.Duration method that returns a
// positive duration (sqlstore's Store does), that is the ttl. [WithTTL]
// overrides it; with neither, New returns an error matching
// mcpsession.ErrInvalidOption.
//
// # Other tables
//
// [WithSweeper] adds what else expires in the store's database, such as
// the used states and retired keys of package requeststate (give it the
// Sealer's Sweep), or the tasks of package tasks (the Store's Sweep deletes
// those past their ttl, and writes down as failed those whose lease
// lapsed): each sweep runs it after the sessions and handles.
//
// # Timing
//
// [Janitor.Run] sweeps first one interval after it starts (one minute by
// default, see [WithInterval]), and then one interval after each sweep
// ends, so sweeps of one Janitor never overlap; [Janitor.Sweep] sweeps now,
// waiting for a sweep in progress to end. Every wait is jittered by a
// random fraction of up to 10% so that replicas started together do not sweep together.
//
// While sweeps fail, Run backs off: after k failures in a row it waits
// interval * 2^(k-1), at most 8 intervals; a successful sweep resets the
// wait to one interval. When several replicas share a database, the store
// lets one sweep at a time and Cleanup returns an error matching
// [mcpsession.ErrCleanupInProgress] to the others: Run counts that as a
// skipped sweep, not a failure.
//
// # Observing
//
// The Janitor logs through [log/slog] ([WithLogger]): an Info line for each
// sweep that removed sessions, a Warn line for each failed sweep (with the
// wait before the next), and Debug lines for the rest. For metrics,
// [WithOnSweep] registers a function that receives a [SweepResult] after
// every sweep, the equivalent of ConduitMCP's
// [:conduit_mcp, :session, :cleanup] telemetry event.
package janitor
