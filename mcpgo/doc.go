// Package mcpgo keeps the sessions of an mcp-go (github.com/mark3labs/mcp-go)
// streamable-HTTP server in a [mcpsession.Store], so that several replicas
// behind a load balancer serve every session, and sessions outlive a
// replica's restart.
//
// # Getting started
//
// Open a store, make a Sessions, and hand its options to both mcp-go
// constructors and its middleware to the HTTP server:
//
//	store, err := sqlstore.Open(ctx, postgres.Dialect(), dsn, sqlstore.WithAutoMigrate(), sqlstore.WithIdleTimeout(30*time.Minute))
//	...
//	sessions, err := mcpgo.New(store, mcpgo.WithLogger(logger))
//	...
//	mcpServer := server.NewMCPServer("name", "1.0.0",
//		append(sessions.ServerOptions(), server.WithLogging())...)
//	streamable := server.NewStreamableHTTPServer(mcpServer, sessions.HTTPOptions()...)
//	mux.Handle("/mcp", sessions.Handler(streamable))
//
// All three are needed. [Sessions.ServerOptions] installs mcp-go hooks (use
// [Sessions.RegisterHooks] instead if you have a server.Hooks of your own).
// [Sessions.HTTPOptions] installs the session id manager and the context
// function that restores state; they fill slots of which mcp-go keeps one,
// so give them after your own options (and your own context function with
// [WithHTTPContextFunc]). [Sessions.Handler] does what mcp-go does not:
// checking GET and DELETE, and answering 503 rather than 404 when the store
// fails. Call the StreamableHTTPServer's Shutdown when the replica stops;
// the sessions stay in the store.
//
// Run a janitor (package janitor) over the store so that sessions nobody
// ended are deleted; reads already treat them as gone once idle longer than
// the store's idle timeout.
//
// # What it changes
//
// Out of the box, mcp-go keeps what a session negotiated (protocol version,
// client info, client capabilities, log level) in the memory of the replica
// that served initialize, and accepts any well-formed session id anywhere. A
// [Sessions] changes that:
//
//   - initialize creates the session in the store, with what the server
//     negotiated; logging/setLevel stores the new level;
//   - every request that carries an Mcp-Session-Id, on whichever replica it
//     lands, GET included, is checked against the store: an unknown, expired
//     or deleted session is HTTP 404, so the client initializes again; a
//     store that fails is 503, so the client keeps its session and retries;
//   - before a handler runs, the replica's session object gets the stored
//     state, so GetClientInfo, GetClientCapabilities, the log level and
//     server.RequestProtocolVersion read the same on every replica;
//   - use slides the session's idle expiry, with at most one store write per
//     touch interval for a busy session ([WithTouchInterval]);
//   - a client's DELETE ends the session for every replica; a replica's own
//     Shutdown or idle sweep (for both of which mcp-go calls Terminate) only
//     drops its memory of it;
//   - requests of the sessionless revision (2026-07-28) pass through to
//     mcp-go and reach the store only through the state handles their
//     tools use;
//   - each request's principal is resolved once ([WithPrincipal]), and a
//     session's requests from another principal than the one that
//     initialized it are 403.
//
// Tool handlers keep per-session application state in the same record:
// [State] reads it, [UpdateState] merges keys, and [ModifyState] runs a
// read-modify-write that concurrent calls from any replica cannot
// interleave (it needs a store that implements [mcpsession.Modifier], as
// sqlstore's does).
//
// # State handles and principals
//
// The sessionless revision has no session to keep state in. Its
// replacement (SEP-2567) is the state handle: a tool creates a piece of
// state and returns an opaque handle, and later calls pass it back as an
// argument, to any replica. [CreateHandle], [GetHandle], [UpdateHandle],
// [ModifyHandle], [TouchHandle] and [DeleteHandle] keep handles in the
// same store (as an [mcpsession.HandleStore]), in either protocol era.
//
// Each handle belongs to the principal of the request that created it,
// and every helper acts for the principal of its own request: the string
// that [WithPrincipal]'s function gives for the request, by default the
// anonymous "". A real server derives it from a token its authentication
// middleware has verified. Another principal's handle, like an unknown,
// expired or malformed one, is [mcpsession.ErrHandleNotFound], which a
// tool answers as a tool error (mcp.NewToolResultError). Without
// authentication, handles are bearer tokens of 130 random bits: keep the
// store's handle idle timeout (sqlstore.WithHandleIdleTimeout) bounded.
//
// Sessions record their principal too, at initialize, and serve no other:
// a request with a session id from another principal is 403 Forbidden,
// as go-sdk's own handler answers a token user other than the session's.
// The principals must be equal; a session initialized anonymously is not
// open to a signed-in user either.
//
// # Multi round-trip requests
//
// A tool that needs the user's answer returns an InputRequiredResult
// (server.NewInputRequestBuilder) and the client retries with the answer,
// on any replica. Its requestState is attacker-controlled: seal it with
// SealState and open the retry's with OpenState, given a
// requeststate.Sealer (WithSealer) whose keys live in the store's database,
// so that every replica opens what any sealed, bound to the principal, the
// method and the params, for a TTL; OpenState with once set makes it
// single use across replicas. A refused state is answered with the JSON-RPC
// error -32602 "invalid requestState" and the reason goes to the log only.
// The helpers need the tool handler middleware of ServerOptions. For
// clients of earlier revisions, mcp-go elicits server-to-client itself and
// calls the handler again: the same code serves both eras.
//
// # The record
//
// What the adapter negotiated lives in the session's metadata under keys
// that start with [mcpsession.ReservedPrefix] ("mcp.protocolVersion",
// "mcp.clientInfo", "mcp.clientCapabilities", "mcp.logLevel",
// "mcp.touchedAt", "mcp.principal", the principal that initialized the
// session, and, with streams across replicas, "mcp.delivery", what GET
// streams sent of the session's stream), each a top-level key so that
// Store.Update's shallow merge never makes one write undo another. The
// helpers hide these keys from tool code and refuse to set them
// ([ErrReservedKey]).
//
// # Touches
//
// A store's idle expiry slides on every write. Reading a session on every
// request is unavoidable; writing it on every request is not. The adapter
// writes "mcp.touchedAt" (with Store.Update) only when no replica has
// written the session within the touch interval: the stored touchedAt is
// what every replica sees, and a per-replica record of its own recent
// writes stops concurrent requests on one replica from all writing. The
// interval must be below half of the store's idle timeout, and defaults to
// a minute or a quarter of the idle timeout, whichever is shorter.
//
// # What a store alone cannot share
//
// A store shares a session's state, not its connections. Without a bus, two
// things stay on the replica that holds the connection, and need sticky
// routing (by the Mcp-Session-Id header) if clients use them:
//
//   - A live SSE stream: the GET stream on which a server sends
//     notifications, and a POST response upgraded to SSE. Notifications for
//     a session must be produced on the replica holding its stream; another
//     replica has no connection to send them on.
//   - Server-to-client requests (sampling, elicitation, roots): the server
//     waits for the client's reply in the memory of the replica that asked.
//     A reply POSTed to another replica finds no one waiting there, and
//     mcp-go answers it with 404 ("No active session"), which the client
//     takes as the end of its session.
//
// Per-session tools and resources added with mcp-go's AddSessionTool and
// AddSessionResource are kept in memory too, on one replica, bus or not.
//
// # Streams across replicas
//
// [WithStreams] (a bus and an event store, packages bus and eventstore,
// both over the store's database; each replica runs its bus) carries the
// rest, so
// that two replicas answer as mcp-go's one server does:
//
//   - Server-to-client requests. mcp-go (v1.6) sends sampling/createMessage,
//     roots/list and elicitation/create on the POST's own stream; every
//     server-to-client request's id goes out naming its replica
//     ("mcpsession/<replica>/..."). The answer, POSTed to any replica, is
//     published on the bus to that one, which gives it to mcp-go with its
//     own id, and mcp-go's answer comes back for the client: 202, or 400
//     "No pending sampling request" for an answer nobody waits for, as on
//     one server (404 would tell the client its session is gone).
//   - Every replica's mcp-go holds the sessions it serves, as the one that
//     served initialize does: SendNotificationToSpecificClient and the
//     register hook work on any replica. Once the client has opened a GET
//     stream, on any replica, each replica holding the session runs
//     mcp-go's listening pump, and what mcp-go sends the session outside a
//     POST's stream (SendNotificationToSpecificClient, a request whose POST
//     stream had ended) goes to the session's stream in the event store.
//   - GET streams are served by the adapter from the event store, after
//     mcp-go's own checks of the GET (a probe: an unsupported version, a
//     server WithDisableStreaming, DNS rebinding): as mcp-go's, they start
//     with no event; they send first what no GET stream sent, and every
//     event once over all of a session's GET streams (the session's record
//     keeps what they sent); a GET ends the session's other GET streams of
//     the same stream, on every replica. Events are woken by NOTIFY on
//     Postgres and by the bus's poll on SQLite. [Sessions.Notify] is how
//     application code sends a session a notification there, from any
//     replica.
//   - Last-Event-ID, on any replica: the events after it on its stream
//     (mcp-go stores each POST stream's events with the adapter's event store, installed
//     by HTTPOptions) replayed once, in order, then followed, even while
//     another replica writes them, to the stream's response or the
//     session's end. Event ids are the events' seq in the database. A GET
//     with the Last-Event-ID of a session gone is 400, as mcp-go answers.
//   - notifications/cancelled reaches mcp-go on every replica, where it
//     cancels the request it names if that runs there; the sessionless
//     revision's too.
//   - DELETE ends the session's streams on every replica within a bus
//     delivery, and mcp-go's memory of it there.
//   - [Sessions.Broadcast] reaches the subscriptions/listen streams
//     (2026-07-28) of every replica that opted in.
//
// # Tasks on any replica
//
// [WithTasks] (a tasks.Store over the store's database) keeps the tasks of
// mcp-go's task tools in the database. mcp-go still runs a task on the
// replica the tools/call reached; the adapter, through mcp-go's task hooks:
//
//   - stores the task before the CreateTaskResult goes out, which names the
//     row's id (130 random bits) rather than mcp-go's UUID;
//   - answers tasks/get, tasks/list (the caller's principal's tasks, and in
//     a legacy session that session's and those of none, paged as
//     WithPaginationLimit pages), tasks/result (waiting, woken through the
//     bus, for a terminal status reached on any replica) and tasks/cancel
//     from the store, on any replica, once mcp-go has accepted the request:
//     its checks of the request, the session and the era stay mcp-go's, and
//     the answers keep mcp-go's form (a GetTaskResult, mcp-go's error codes
//     and messages; a failed task's tasks/result is -32603 with its error,
//     a cancelled one's -32800);
//   - renews the leases of the tasks it runs, cancels mcp-go's task (ending
//     its handler's context) when a cancel on another replica reaches it on
//     the bus, and writes down the result, failure or cancellation mcp-go
//     reports. A task whose replica died fails, "the server running this
//     task stopped before it finished", once its lease lapses;
//   - sends notifications/tasks/status of a legacy session's task, when it
//     completes, fails or is cancelled, to that session's GET stream
//     wherever it is open (Notify; it needs WithStreams), naming the row's
//     id. mcp-go's own (it sends them to every session its replica holds,
//     naming its UUID, which no client can use) are dropped.
//
// Another principal's task is exactly an unknown one ("task not found"),
// and nothing changes. In 2026-07-28 mcp-go v1.6 serves tools/call with a
// task, tasks/get and tasks/cancel, and answers tasks/list and tasks/result
// with -32601 ("removed in protocol version 2026-07-28"), before any hook
// runs; the adapter keeps that form rather than SEP-2663's, so that N
// replicas answer exactly as one mcp-go does, and follows mcp-go when it
// adopts the extension's. A subscriptions/listen stream (2026-07-28) gets
// no status notifications: mcp-go v1.6 delivers on it only the types its
// filter names (tools, prompts and resources list changes, resource
// updates) and drops every other, notifications/tasks/status included, and
// a sessionless task has no stream to name; its client polls tasks/get.
// The response of a task request on a POST stream that mcp-go recorded in
// the event store keeps mcp-go's text. [Sessions.Shutdown] stops the lease
// renewal: tasks still running on a replica that shuts down fail once
// their leases lapse.
//
// What stays on one replica (per-session tools, resource
// subscriptions; SendNotificationToAllClients reaches the sessions the
// calling replica holds) is listed in docs/adapters.md, "Limits". A conformance
// suite of mcp-go v1.6.0's own HTTP tests (conformance_*_test.go) runs on
// mcp-go's handler, one replica and two. Call [Sessions.Shutdown] before
// the StreamableHTTPServer's Shutdown: it ends the streams the adapter
// serves, which would hold an http.Server's Shutdown.
//
// # Versions
//
// The adapter is for mcp-go v1.6.x (built and tested against v1.6.0). It
// no longer supports v1.2: it relies on v1.6's server-to-client requests on
// the POST's stream, its listening pump and its server-wide table of
// pending requests.
//
// # Clients
//
// mcp-go's own client (v1.6) prefers the sessionless revision, for which
// there is no session to keep; pin it to a session-based revision with
// client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION) to use
// sessions. After a 404 it returns transport.ErrSessionTerminated and does
// not initialize again by itself: the caller must call Initialize.
package mcpgo
