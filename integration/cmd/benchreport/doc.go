// Command benchreport runs the session store's benchmarks (package
// integration/bench) and writes what they measured to BENCHMARKS.md and
// BENCHMARKS.png at the root of the repository; the raw benchmark output
// goes to integration/bench/results.txt. `make bench` runs it:
//
//	cd integration && go run ./cmd/benchreport
//
// It runs `go test -bench` several times, each pass with the benchtime and
// count its benchmarks need: the five session operations and the state
// handles' get and update are run once per count,
// so that the store, its raw baseline and the peers alternate and share
// whatever else the machine is doing; cleanup, growth and lost keys run
// their counts in one process each, since their tables take a while to
// seed. It then computes medians and confidence intervals as benchstat
// does (golang.org/x/perf/benchmath), ratios of the store to the raw
// driver and to the peers, and checks each target of the benchmark issue.
// Everything in BENCHMARKS.md comes from that run, except the fixed prose
// and the sections loadgen writes (make capacity), which it keeps as they
// are (package integration/internal/mdsection).
//
// Postgres is one container for the whole run, started with the test
// kit, mcpsessiontest (set MCPSESSION_TEST_POSTGRES_IMAGE
// on hosts without a registry), or the server of
// MCPSESSION_TEST_POSTGRES_DSN when that is set. The Redis peer needs
// redis-server on the PATH.
//
// A full run takes about 25 minutes on two cores, and a few more for the
// streams' passes (delivery waits for SQLite's polls). The Create and Delete
// benchmarks hold every session a run creates or deletes at once; at 64 KiB
// that is up to a few GB in Redis's memory and on Postgres's and SQLite's
// disks.
//
// Flags:
//
//	-count N       samples per benchmark (default 6; the toolcall pass takes 2N)
//	-benchtime D   benchtime of the operation and growth benchmarks (default 500ms)
//	-quick         2 samples and short benchtimes: proves the pipeline, in a few minutes
//	-passes LIST   run only these passes (ops,growth,cleanup,lostkeys,roundtrips,toolcall,execmode,cache,delivery,updatebus)
//	-from FILE     write the report from an existing raw output instead of running
package main
