// Package bench holds the benchmarks of the session store: every operation
// of sqlstore.Store on PostgreSQL and SQLite, each beside a baseline that
// issues the same SQL straight on the driver, and beside the stores people
// use today. Outside its tests it holds only GetAllocations, the
// allocations of the store's Get explained; cmd/benchreport runs the
// benchmarks and turns their output into BENCHMARKS.md.
//
// # What runs
//
//   - BenchmarkGet, BenchmarkCreate, BenchmarkUpdate, BenchmarkTouch and
//     BenchmarkDelete: one goroutine and 16, on metadata of about 500 bytes
//     (what an MCP server keeps after initialize) and about 64 KiB.
//   - BenchmarkHandleGet and BenchmarkHandleUpdate: the same for state
//     handles (GetHandle, UpdateHandle), the store beside its raw
//     baseline only (the peers have no handles).
//   - BenchmarkCleanup: one sweep of 100,000 expired sessions among
//     1,000,000, the store's batched Cleanup beside one raw DELETE;
//     BenchmarkCleanupCreates: the same sweep while another goroutine
//     creates sessions, with the p50 and p99 latency of those Creates.
//   - BenchmarkGetGrowth: Get on a table of 10,000 and of 1,000,000 rows.
//   - BenchmarkLostKeys: 32 goroutines updating different keys of one
//     session at once, and the keys missing afterwards.
//   - BenchmarkRoundTrips: the round trips each operation makes.
//   - BenchmarkToolCall: one MCP tools/call over streamable HTTP through
//     each SDK (mcp-go, go-sdk) with its own in-memory sessions, and
//     through the project's adapter for it (mcpgo, gosdk) with the sessions
//     in Postgres and in SQLite, one goroutine and 16.
//   - BenchmarkExecMode: Get and Update in each pgx query exec mode a DSN
//     selects (the prepared default, exec, simple_protocol), straight to
//     the server and through PgBouncer in session and transaction mode:
//     what running behind a transaction pooler costs. It runs on nodes of
//     the production-Postgres image (internal/pgtest's HAImage, built by
//     `make ha-image`), and is left out with one line without it.
//   - BenchmarkCrossReplicaDelivery: a message from one replica to another
//     (a store and a bus each, on one database), one at a time: a bus
//     message (level=bus), and a notification from the mcpgo adapter's
//     Notify to a client reading the session's GET stream on the other
//     replica (level=stream); the p50 and p99 latency of the deliveries.
//     Postgres wakes the bus with NOTIFY, SQLite polls.
//   - BenchmarkUpdateBus: Update at 16 goroutines on one store alone,
//     with a bus running over it, and with the bus carrying 500 messages
//     a second: what the bus costs the store.
//
// Sub-benchmarks are named key=value, so that benchstat and benchreport
// group them: BenchmarkGet/dialect=postgres/impl=store/size=500B/par=1.
//
// # Implementations
//
//   - impl=store: sqlstore.Store, opened with sqlstore.Open.
//   - impl=raw: the SQL of each dialect's driver (Statements() of
//     internal/driver, its Handles for the handle
//     benchmarks), with the store's parameters, on the same table: through a pgxpool.Pool on Postgres, through database/sql
//     on modernc.org/sqlite on SQLite. It encodes metadata with
//     json.Marshal and decodes it with json.Unmarshal into map[string]any
//     straight from the driver's buffer, as the store does, so the ratio
//     store/raw is the store's own cost.
//   - impl=cache: package cache over impl=store, its bus running in the
//     benchmark's process. Its Get sub-benchmarks first read every seeded
//     session once, untimed, so that the timed reads are hits (an entry
//     in use is read again in the background before its bound ends), and
//     report misses/op: the timed reads that went to the database.
//   - impl=scs: github.com/alexedwards/scs/v2 with its pgxstore, on the same
//     Postgres, values encoded by scs's GobCodec.
//   - impl=redis: a Redis session store as ConduitMCP documents one
//     (GET / SET … EX of a JSON document; Update is GET, merge, SET), with
//     go-redis, on a redis-server the benchmarks start on a loopback port
//     of their own.
//
// # Servers
//
// Postgres comes from the test kit, mcpsessiontest: the server of
// MCPSESSION_TEST_POSTGRES_DSN, or one container for the run.
// SQLite files live in the benchmarks' temporary directories. Without
// Postgres, or without redis-server on the PATH, the benchmarks that need
// them are left out with one line on stderr.
//
// # Running
//
//	cd integration && go run ./cmd/benchreport          # what make bench runs
//	cd integration && go test -run '^$' -bench Get -benchmem ./bench
package bench
