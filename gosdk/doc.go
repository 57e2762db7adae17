// Package gosdk keeps the sessions of a go-sdk
// (github.com/modelcontextprotocol/go-sdk) streamable-HTTP server in a
// [mcpsession.Store], so that several replicas behind a load balancer serve
// every session, sessions outlive a replica's restart, and one endpoint
// serves clients of both protocol eras.
//
// # Getting started
//
// Open a store, build the mcp.Server as usual, and serve it through a
// Sessions instead of mcp.NewStreamableHTTPHandler:
//
//	store, err := sqlstore.Open(ctx, postgres.Dialect(), dsn, sqlstore.WithAutoMigrate(), sqlstore.WithIdleTimeout(30*time.Minute))
//	...
//	server := mcp.NewServer(&mcp.Implementation{Name: "name", Version: "1.0.0"}, nil)
//	mcp.AddTool(server, ...)
//	sessions, err := gosdk.New(store, server, gosdk.WithLogger(logger))
//	...
//	mux.Handle("/mcp", sessions)
//	...
//	sessions.Shutdown(ctx) // then http.Server.Shutdown; the sessions stay in the store
//
// New adds receiving middleware to the server; give each mcp.Server to one
// Sessions and serve it through that alone. Options of go-sdk's handler go
// through [WithStreamableHTTPOptions] (JSONResponse and Stateless
// included), which refuses the two the store replaces (EventStore,
// SessionTimeout).
//
// The adapter answers as go-sdk's own handler does: its statuses and
// bodies, and go-sdk's check of the MCP-Protocol-Version header against the
// server's versions (ServerOptions.SupportedProtocolVersions narrows them).
// go-sdk's transport sees each request's version as under its own handler,
// so that a POST's event stream starts with go-sdk's priming event from
// 2025-11-25 on, and a handler's CloseSSEStream ends it with a close event
// that go-sdk's client resumes from. go-sdk's own HTTP tests are the
// referee (the conformance suite in this package's tests); docs/adapters.md's
// Limits table lists where the adapter answers otherwise, and why.
//
// The adapter never logs session ids (bearer credentials), but go-sdk's
// ServerOptions.Logger does, at Info, whenever a go-sdk session disconnects,
// which a replica's sessions in memory do more often than go-sdk's own (see
// below): give that logger a handler at Warn or above if ids must stay out
// of your logs.
//
// Run a janitor (package janitor) over the store so that sessions nobody
// ended are deleted; reads already treat them as gone once idle longer
// than the store's idle timeout.
//
// # What it changes
//
// go-sdk's mcp.StreamableHTTPHandler keeps its sessions in a map in memory:
// a replica that did not serve initialize answers 404 to the session's id,
// and a restart forgets every session. Its only alternative, Stateless
// mode, loses the client's info, its log level and every server-to-client
// request, and go-sdk serves the sessionless revision (2026-07-28) only in
// that mode, so one go-sdk handler cannot serve legacy clients with
// sessions and modern clients at once. [Sessions] is an http.Handler built
// from go-sdk's public pieces (Server.Connect with a
// StreamableServerTransport carrying the session id, and
// ServerSessionOptions.State) that takes the handler's place:
//
//   - initialize creates the session in the store with what go-sdk
//     negotiated (protocol version, client info, client capabilities), before
//     the client receives its session id; notifications/initialized and
//     logging/setLevel are stored too;
//   - every request that carries an Mcp-Session-Id, on whichever replica it
//     lands, is checked against the store: unknown, expired or deleted is
//     HTTP 404 (POST, GET and DELETE), so the client initializes again; a
//     store that fails is 503, so the client keeps its session and retries;
//     no session id on GET or DELETE is 400, and a POST without one that is
//     no initialize is answered as go-sdk answers it, storing nothing;
//   - a replica with no go-sdk session for a stored session makes one from
//     the record, so InitializeParams (client info, capabilities, protocol
//     version) read the same on every replica, and the log level that
//     ServerSession.Log applies is the one last set on any replica;
//   - use slides the session's idle expiry, with at most one store write per
//     touch interval for a busy session ([WithTouchInterval]);
//   - a client's DELETE ends the session for every replica; a replica's own
//     [Sessions.Shutdown], its idle close ([WithLocalIdleTimeout]) and its
//     bound on sessions in memory ([WithMaxLocalSessions]) only drop its
//     memory of it;
//   - requests of the sessionless revision (an MCP-Protocol-Version header,
//     or a _meta protocol version, of 2026-07-28 or later) that name no
//     session are served on the same endpoint by go-sdk's own stateless
//     handler, and reach the store only through the state handles their
//     tools use; one that names a session is refused as go-sdk's handler
//     refuses it (-32022);
//   - each request's principal is resolved once ([WithPrincipal]; by
//     default the auth.TokenInfo user), and a session's requests from
//     another principal than the one that initialized it are 403, as
//     go-sdk's own handler answers them.
//
// Tool handlers keep per-session application state in the same record:
// [State] reads it, [UpdateState] merges keys, and [ModifyState] runs a
// read-modify-write that concurrent calls from any replica cannot
// interleave (it needs a store that implements [mcpsession.Modifier], as
// sqlstore's does). [LogLevel] returns the level go-sdk applies, which
// go-sdk itself has no getter for.
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
// that [WithPrincipal]'s function gives for the request. By default it is
// the UserID of the auth.TokenInfo that go-sdk's auth.RequireBearerToken
// put in the request's context once its TokenVerifier accepted the token
// (the user go-sdk's own handler binds sessions to), and without one the
// anonymous "". Another principal's handle, like an unknown, expired or
// malformed one, is [mcpsession.ErrHandleNotFound], which a tool answers
// as a tool error (return it from a typed mcp.AddTool handler, or set
// IsError). Without authentication, handles are bearer tokens of 130
// random bits: keep the store's handle idle timeout
// (sqlstore.WithHandleIdleTimeout) bounded.
//
// Sessions record their principal too, at initialize ("mcp.principal"),
// and serve no other: a request with a session id from another principal
// is 403 Forbidden, POST, GET and DELETE alike, as go-sdk's handler
// answers a TokenInfo user other than the session's. Unlike go-sdk, the
// principals must be equal: a session initialized anonymously is not
// open to a signed-in user either, since its handlers (which see the
// session's context, not the request's) would act for whichever came
// first. In a session, the helpers act for the session's principal, which
// is every request's.
//
// # Multi round-trip requests
//
// A tool that needs the user's answer returns a CallToolResult with
// InputRequests and a RequestState, and the client retries with the
// answer, on any replica. The state is attacker-controlled: seal it with
// SealState and open the retry's with OpenState, given a
// requeststate.Sealer (WithSealer) whose keys live in the store's database,
// so that every replica opens what any sealed, bound to the principal, the
// method and the params, for a TTL; OpenState with once set makes it
// single use across replicas. A refused state is answered with the JSON-RPC
// error -32602 "invalid requestState", from typed handlers too, and the
// reason goes to the log only. For clients of earlier revisions, go-sdk
// elicits server-to-client itself and calls the handler again.
//
// # The record
//
// What the adapter negotiated lives in the session's metadata under keys
// that start with [mcpsession.ReservedPrefix], the same as the mcp-go
// adapter's (module mcpgo): "mcp.protocolVersion" (negotiated),
// "mcp.clientInfo", "mcp.clientCapabilities" (as the client sent them),
// "mcp.logLevel", "mcp.touchedAt" and "mcp.principal", and two that only
// go-sdk needs: "mcp.initialized", once notifications/initialized was
// handled, and "mcp.requestedProtocolVersion", when the client asked for a
// version other than the one negotiated (go-sdk hands handlers the requested
// one). Each is a top-level key so that Store.Update's shallow merge never
// makes one write undo another. The helpers hide these keys from tool code
// and refuse to set them ([ErrReservedKey]).
//
// # Sessions in memory
//
// go-sdk needs a session object in memory to serve a request, and keeps in
// it what a request may leave running: a GET stream, a server-to-client
// request waiting for its answer, a subscription. Each replica holds at
// most one go-sdk session per stored session, made from the record the
// first time a request for it lands there, and closed (locally) when no
// request has used it for the local idle timeout or when room is needed
// for newer ones, and forgotten when go-sdk closes it itself (as
// ServerOptions.KeepAlive does when pings fail, which they do on a replica
// that holds no GET stream of the session; a call that go-sdk session is
// serving then gets no answer, as with go-sdk's own handler, so with
// KeepAlive give clients a GET stream and the adapter WithStreams, which
// carries the pings to it). When another replica changes
// the log level, the replica's go-sdk session is handed the same
// logging/setLevel request at its next request, or within a touch interval
// while it holds a GET stream (your receiving middleware sees it, with a
// JSON-RPC id starting "mcpsession-sync-"), so that its streams and
// waiting requests are kept.
//
// As with go-sdk's own handler, a session's handlers get the context of
// the request that made the session on this replica (initialize, or the
// first request there); what belongs to each request is in req.Extra
// (Header, TokenInfo).
//
// # Touches
//
// A store's idle expiry slides on every write. Reading a session on every
// request is unavoidable; writing it on every request is not. The adapter
// writes "mcp.touchedAt" only when no replica has written the session
// within the touch interval. The interval must be below half of the
// store's idle timeout, and defaults to a minute or a quarter of the idle
// timeout, whichever is shorter.
//
// # What go-sdk cannot share
//
// A store shares a session's state, not its connections, and go-sdk keeps
// some state only in its session objects. Without a bus:
//
//   - A live SSE stream (the GET stream, or a POST's response stream) is
//     held by one replica's go-sdk session. Messages a handler sends in the
//     context of its request go out on that request's stream, wherever it
//     runs; anything else the server sends a session (a log message sent
//     with another context, resource updates, list-changed notifications)
//     reaches the client only from the replica holding its GET stream.
//   - Server-to-client requests (sampling, elicitation, roots, ping, and
//     the elicitation go-sdk sends a client of an earlier revision for a
//     multi round-trip request) wait for their answer in the memory of the
//     replica that asked. An answer POSTed to another replica is refused
//     there at once (400, with a Warn log matching mcpsession.ErrNoStreams),
//     where go-sdk would drop it: go-sdk's client then fails the call, but
//     the handler that asked waits until its context ends. A client's
//     notifications/cancelled cancels a request only on the replica it is
//     POSTed to.
//   - Stream resumption (Last-Event-ID) needs an event store shared by the
//     replicas; go-sdk's is in memory, so WithStreamableHTTPOptions refuses
//     EventStore, and a GET with Last-Event-ID is 400, as go-sdk answers
//     without one.
//
// Routing by Mcp-Session-Id (sticky sessions) keeps those working for
// clients that need them; or give the adapter a bus (see below). Bus or
// not:
//
//   - Resource subscriptions (resources/subscribe) live in go-sdk's memory
//     of the replica that received them.
//   - Last-Event-ID on a POST is ignored, where go-sdk refuses it (400):
//     go-sdk's streams carry event ids only with an event store, which its
//     handler has none of by default and the adapter has with streams
//     across replicas, and some clients echo the last id they saw on every
//     POST.
//
// # Streams across replicas
//
// [WithStreams] (a bus and an event store, packages bus and eventstore,
// both over the store's database; each replica runs its bus) carries
// streams and server-to-client messages across replicas:
//
//   - Each go-sdk session of the adapter has an event store over the
//     shared event store: go-sdk stores every message it writes on a
//     session's streams (positions per stream from 0, ids
//     "<stream>_<index>"), the standalone stream's ("") included, on
//     whichever replica writes it.
//   - GET streams are served by the adapter from the event store, not by a
//     go-sdk session: go-sdk's opening comment, then every event of the
//     session's standalone stream, whichever replica wrote it, woken by
//     NOTIFY on Postgres and by the bus's poll on SQLite.
//     [Sessions.Notify] is how application code sends a session a
//     notification there, from any replica.
//   - Last-Event-ID, on any replica: the events after it on its stream
//     replayed once, in order, then followed, even while another replica
//     writes them, to the stream's response or the session's end, where
//     go-sdk alone would replay and stop.
//   - Server-to-client requests (go-sdk sends them on the stream of the
//     request whose handler asks) go out with the session's next number as
//     their id, counted in the event store for every replica (1, 2, 3…, as
//     go-sdk numbers them): the answer, POSTed to any replica, is handed to
//     the go-sdk session that asked, there or, over the bus, on another
//     replica, with go-sdk's id, as if POSTed there. Handlers call
//     ServerSession.CreateMessage, Elicit, ListRoots and Ping as usual.
//   - A client's notifications/cancelled, POSTed to any replica, reaches
//     every replica's go-sdk session of the session: the one running the
//     request cancels its handler's context.
//   - DELETE ends the session's streams on every replica within a bus
//     delivery, and drops the go-sdk sessions of it there.
//   - [Sessions.Broadcast] reaches the subscriptions/listen streams
//     (2026-07-28) of every replica that opted in; go-sdk's own
//     notifications of list changes and ResourceUpdated reach only the
//     listen streams of the replica that sends them.
//
// # Clients
//
// go-sdk's own client (v1.8.0) prefers the sessionless revision (it sends
// server/discover first), for which there is no session to keep; pin it to
// a session-based revision with &mcp.ClientSessionOptions{ProtocolVersion:
// "2025-11-25"} to use sessions. Its Close sends DELETE, which ends the
// session for every replica.
package gosdk
