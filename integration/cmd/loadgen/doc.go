// Command loadgen measures what one Postgres primary holds for a fleet of
// examples/mcpserver replicas, end to end, under open-loop load. From the
// integration module:
//
//	go run ./cmd/loadgen [flags]            one run of one configuration
//	go run ./cmd/loadgen -capacity …        the highest rate at p99 < 50 ms per configuration
//	go run ./cmd/loadgen -growth …          the store at 10^4 … 10^7 sessions
//	go run ./cmd/loadgen -churn -duration 1h -rate 200 -report ../BENCHMARKS.md
//	                                        an hour of churn, the tables sampled and charted
//	go run ./cmd/loadgen -churn-compare before=a.csv,after=b.csv -out DIR
//	                                        soaks already run, charted side by side
//
// `make capacity` runs the capacity and growth passes into BENCHMARKS.md
// (under 30 minutes on two cores: it prints its plan first);
// `go run ./cmd/loadgen -help` lists every flag and operation.
//
// # What runs
//
// loadgen starts a PostgreSQL 15 server of its own from the native
// binaries (-pg-bin; a temporary cluster on a free loopback port, as the
// postgres user when run as root, pgstattuple from the contrib package),
// or uses the server of -dsn. It builds examples/mcpserver once, starts
// -replicas processes of it on loopback ports over one database (-cache,
// -sdk, -memory for mcp-go's own in-memory sessions), optionally behind
// PgBouncer in transaction mode (-pgbouncer), and puts an in-process
// reverse proxy in front: round-robin, or -sticky (each legacy session, by
// Mcp-Session-Id, and each principal's sessionless requests, by its
// Authorization header, to one replica). The servers run at -server-nice,
// so that the generator's timeline keeps its place on a machine whose
// cores they share.
//
// # Open loop
//
// Operations are due on a fixed timeline, -rate per second, and each is
// sent at its due time in a goroutine of its own whatever the answers to
// the earlier ones; its latency counts from its due time, as wrk2 and
// vegeta count it. A server that stalls thus shows the whole queue it
// built, not one slow request (coordinated omission). The generator
// records how late it sent each operation; when that lag's p99 exceeds
// -max-lag the run is reported behind schedule (and a capacity step
// fails), since its latencies then include the generator's own delay.
//
// # The mix
//
// -mix weighs the operations of a fleet in transition between the protocol
// eras: legacy sessions pinned to 2025-11-25 (initialize, counter, whoami,
// a GET stream that receives notify's notifications, DELETE or
// abandonment) and sessionless 2026-07-28 calls on state handles; tasks
// (task.research: a task-augmented call of research, then tasks/get until
// it ends, on whichever replica); multi round-trip requests (mrtr.confirm:
// the call and its retry with the sealed requestState). The generator
// keeps pools of live sessions, streams and handles (-sessions, -streams,
// -handles), filled before the timeline starts.
//
// # What it measures
//
// Per operation, p50, p90, p99 and max (a log-linear histogram, rounded
// up by under 0.8%), errors by kind, and the achieved rate; over each
// run's window (after -warmup): Postgres CPU per request (the time the
// postmaster and its children ran, from /proc/PID/task/*/schedstat in
// nanoseconds, and the backends that exited through the postmaster's
// cutime and cstime), WAL bytes per request
// (pg_current_wal_lsn before and after), the replicas' and PgBouncer's CPU
// per request, and the most client connections on the database
// (pg_stat_activity, sampled every 250 ms).
//
// Capacity mode searches, per replica count and configuration, the highest
// rate whose p99 stays under -slo with few errors (doubling, then
// bisecting, -capacity-step per rate) and reports it beside the ceiling
// measured in the same run: the same replicas with sessions in mcp-go's
// memory behind a sticky proxy. Growth mode bulk-loads sessions as the
// store writes them and times Get, Update, Touch and Cleanup through the
// library and the mix through the fleet at each size, with table and index
// bytes per session. Churn mode runs the mix for -duration with a short
// idle timeout (-churn-idle), so that sessions and handles expire and the
// janitors sweep them, and samples the tables every -churn-sample: live and
// dead tuples, sizes, the HOT-update ratio, autovacuum runs, pgstattuple's
// dead and free space and pgstatindex's leaf density, into a CSV and a PNG.
//
// Each mode writes its section of -report (BENCHMARKS.md), between markers
// of its own that `make bench` keeps, and its raw results (JSON, CSV, PNG)
// into -out (default integration/capacity when -report is set).
package main
