// Package relay is what the SDK adapters (module mcpgo for mcp-go, module
// gosdk for the official go-sdk) share to carry a session's streams and
// server-to-client messages across replicas, over package bus and package
// eventstore, with no broker of its own. Each adapter keeps only what
// depends on its SDK: where messages enter and leave the SDK.
//
// What a Relay does, the same for both SDKs:
//
//   - Server-to-client request ids. An SDK numbers its requests from a
//     counter of its own process, so two replicas hand a client the same
//     ids. On the way out, a request's id becomes a wire id naming this
//     replica ("mcpsession/<replica>/n/<id>", see OutgoingID); the client
//     answers with it, the answer POSTed to any replica is routed to the
//     one that asked (RouteResponses, over the bus), and there it gets its
//     SDK's id back before the SDK sees it.
//   - The standalone (GET) stream. Everything meant for a session's GET
//     stream, from any replica, is appended to the event store's stream ""
//     of the session; the replica holding the client's GET serves it from
//     there (ServeGET), replaying after Last-Event-ID and then following
//     the store, woken by the bus: at once on Postgres (the append's
//     NOTIFY, bus.Watch), within a bus poll elsewhere (a wake message).
//     Notify is application code's way in; Call sends a request that way
//     and waits for its answer.
//   - Resumption. A GET with Last-Event-ID, on any replica, replays the
//     stream it names from the event store and then follows it, even while
//     another replica writes it, until the stream's response (a POST's
//     stream) or the session's end.
//   - A session's end. SessionEnded ends the session's streams on every
//     replica within a bus delivery.
//   - 2026-07-28. Broadcast fans a notification out to the
//     subscriptions/listen streams of every replica that opted in to it
//     (Listen).
//
// Bus messages carry session ids (table mcp_bus, kept a minute, like
// mcp_sessions itself); NOTIFY payloads and logs never do.
//
// It is internal to the mcpsession module tree.
package relay
