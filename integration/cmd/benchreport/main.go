package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mcpsession/mcpsession/integration/internal/mdsection"
	"github.com/mcpsession/mcpsession/internal/testdb"
	_ "github.com/mcpsession/mcpsession/mcpsessiontest" // registers the container runtime
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

// config is what the flags say.
type config struct {
	count     int
	benchtime string
	quick     bool
	passes    []string
	from      string
}

func parseFlags() (config, error) {
	var c config
	var passes string
	flag.IntVar(&c.count, "count", 6, "samples per benchmark")
	flag.StringVar(&c.benchtime, "benchtime", "500ms", "benchtime of the operation and growth benchmarks")
	flag.BoolVar(&c.quick, "quick", false, "2 samples and short benchtimes: proves the pipeline, not the figures")
	flag.StringVar(&passes, "passes", strings.Join(passNames(), ","), "comma-separated passes to run")
	flag.StringVar(&c.from, "from", "", "write the report from this raw benchmark output instead of running the benchmarks")
	flag.Parse()
	if flag.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if c.quick {
		c.count = 2
		c.benchtime = "100ms"
	}
	if c.count < 1 {
		return c, fmt.Errorf("-count %d: must be at least 1", c.count)
	}
	if _, err := time.ParseDuration(c.benchtime); err != nil {
		return c, fmt.Errorf("-benchtime: %w", err)
	}
	for p := range strings.SplitSeq(passes, ",") {
		if !slices.Contains(passNames(), p) {
			return c, fmt.Errorf("-passes: unknown pass %q (known: %s)", p, strings.Join(passNames(), ", "))
		}
		c.passes = append(c.passes, p)
	}
	return c, nil
}

// paths are where benchreport reads and writes.
type paths struct {
	root        string // the repository
	integration string // the integration module
	raw         string // raw benchmark output
	md, png     string
}

func findPaths() (paths, error) {
	dir, err := os.Getwd()
	if err != nil {
		return paths{}, err
	}
	// Run from the integration module (or below it): find its go.mod.
	for {
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(mod, []byte("module github.com/mcpsession/mcpsession/integration\n")) {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return paths{}, errors.New("run from the integration module: cd integration && go run ./cmd/benchreport")
		}
		dir = parent
	}
	root := filepath.Dir(dir)
	return paths{
		root:        root,
		integration: dir,
		raw:         filepath.Join(dir, "bench", "results.txt"),
		md:          filepath.Join(root, "BENCHMARKS.md"),
		png:         filepath.Join(root, "BENCHMARKS.png"),
	}, nil
}

func run() error {
	cfg, err := parseFlags()
	if err != nil {
		return err
	}
	p, err := findPaths()
	if err != nil {
		return err
	}
	started := time.Now()

	var (
		raw []byte
		env *environment
		ran []ranPass
	)
	if cfg.from != "" {
		if raw, err = os.ReadFile(cfg.from); err != nil {
			return err
		}
		if env, ran, err = readHeader(raw); err != nil {
			return fmt.Errorf("%s: %w", cfg.from, err)
		}
	} else {
		if env, ran, raw, err = runBenchmarks(cfg, p); err != nil {
			return err
		}
		if err := os.WriteFile(p.raw, raw, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "benchreport: raw output in %s\n", rel(p.root, p.raw))
	}

	res, err := parseResults(raw)
	if err != nil {
		return err
	}
	if err := writeChart(p.png, res); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	md := report(reportInput{
		env: env, passes: ran, res: res, quick: env.Quick,
		rawPath: rel(p.root, p.raw), pngPath: rel(p.root, p.png),
		elapsed: elapsed(env, started),
	})
	// The sections other generators wrote (loadgen's capacity, growth and
	// churn) stay.
	if prev, err := os.ReadFile(p.md); err == nil {
		md = mdsection.Carry(string(prev), md)
	}
	if err := os.WriteFile(p.md, []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "benchreport: wrote %s and %s\n", rel(p.root, p.md), rel(p.root, p.png))
	return nil
}

func elapsed(env *environment, started time.Time) time.Duration {
	if env.Elapsed > 0 {
		return env.Elapsed
	}
	return time.Since(started)
}

func rel(root, path string) string {
	r, err := filepath.Rel(root, path)
	if err != nil {
		return path
	}
	return filepath.ToSlash(r)
}

// runBenchmarks starts Postgres (unless the environment names one), runs
// every pass, and returns what it learnt about the machine, the passes as
// they ran, and the raw output: a header of configuration lines that the
// benchmark format keeps, then each pass's output.
func runBenchmarks(cfg config, p paths) (*environment, []ranPass, []byte, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	env := &environment{Quick: cfg.quick, Date: time.Now().UTC()}
	goEnv := os.Environ()
	switch {
	case os.Getenv(testdb.PostgresEnv) != "":
		env.PostgresSource = "the server of " + testdb.PostgresEnv
		env.postgresDSN = os.Getenv(testdb.PostgresEnv)
	default:
		rt, img, err := testdb.PostgresImage()
		if err != nil {
			if os.Getenv(testdb.RequireEnv) == "1" {
				return nil, nil, nil, fmt.Errorf("%w, and %s is not set", err, testdb.PostgresEnv)
			}
			fmt.Fprintf(os.Stderr, "benchreport: %v, and %s is not set: the Postgres benchmarks will be left out\n", err, testdb.PostgresEnv)
			env.PostgresSource = "none: " + err.Error()
			break
		}
		fmt.Fprintf(os.Stderr, "benchreport: starting Postgres from %s\n", img)
		startCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		srv, err := rt.StartPostgres(startCtx, testdb.ServerOptions{})
		cancel()
		if err != nil {
			return nil, nil, nil, err
		}
		defer func() {
			tctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := srv.Terminate(tctx); err != nil {
				fmt.Fprintln(os.Stderr, "benchreport:", err)
			}
		}()
		env.PostgresSource = "a container from " + srv.Image() + ", started by the integration suite's harness for this run"
		env.postgresDSN = srv.DSN()
		goEnv = append(goEnv, testdb.PostgresEnv+"="+srv.DSN())
	}
	env.collect(ctx, p.integration)

	var out bytes.Buffer
	ran := []ranPass{}
	for _, ps := range plan(cfg) {
		for rep := range ps.Reps {
			if err := ctx.Err(); err != nil {
				return nil, nil, nil, err
			}
			args := ps.args()
			label := ps.Name
			if ps.Reps > 1 {
				label = fmt.Sprintf("%s %d/%d", ps.Name, rep+1, ps.Reps)
			}
			fmt.Fprintf(os.Stderr, "benchreport: %s: go %s\n", label, strings.Join(quoteArgs(args), " "))
			start := time.Now()
			if err := goTest(ctx, p.integration, goEnv, args, &out); err != nil {
				return nil, nil, nil, fmt.Errorf("pass %s: %w", label, err)
			}
			if rep == 0 {
				ran = append(ran, ranPass{pass: ps})
			}
			ran[len(ran)-1].Took += time.Since(start)
		}
	}
	env.Elapsed = time.Since(env.Date)
	header, err := writeHeader(env, ran)
	if err != nil {
		return nil, nil, nil, err
	}
	return env, ran, append(header, out.Bytes()...), nil
}

// goTest runs `go args...` in dir, copying its standard output to out and
// to this process's standard output as it comes.
func goTest(ctx context.Context, dir string, env, args []string, out *bytes.Buffer) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = io.MultiWriter(out, os.Stdout)
	cmd.Stderr = os.Stderr
	// On an interrupt, let go test stop its benchmarks (and the test kit
	// its containers) rather than killing it outright.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = time.Minute
	return cmd.Run()
}

func quoteArgs(args []string) []string {
	q := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, "^$|()*? ") {
			a = "'" + a + "'"
		}
		q[i] = a
	}
	return q
}

// pass is one `go test` command over some of the benchmarks.
type pass struct {
	Name      string
	Bench     string // -bench regexp
	Benchtime string
	Count     int
	// Reps is how many times the command runs; its samples add up.
	Reps int
	// What is the prose that says what the pass measures.
	What string
}

func (p pass) args() []string {
	return []string{"test", "-run", "^$", "-bench", p.Bench, "-benchmem",
		"-benchtime", p.Benchtime, "-count", strconv.Itoa(p.Count), "-timeout", "2h", "./bench"}
}

// ranPass is a pass as it ran.
type ranPass struct {
	pass
	Took time.Duration
}

func passNames() []string {
	return []string{"ops", "growth", "cleanup", "lostkeys", "roundtrips", "toolcall", "execmode", "cache", "delivery", "updatebus"}
}

// plan is the passes to run, with the benchtimes the benchmarks need.
func plan(cfg config) []pass {
	cleanupTime, lostTime, rtTime, seenTime, deliveryTime := "2x", "20x", "500x", "200x", "200x"
	if cfg.quick {
		cleanupTime, lostTime, rtTime, seenTime, deliveryTime = "1x", "5x", "100x", "40x", "20x"
	}
	all := []pass{
		{Name: "ops", Bench: "^Benchmark(Get|Create|Update|Touch|Delete|HandleGet|HandleUpdate)$", Benchtime: cfg.benchtime, Count: 1, Reps: cfg.count,
			What: "the five session operations and the two of state handles; run once per sample, so that the store, its baseline, the cache and the peers alternate"},
		{Name: "growth", Bench: "^BenchmarkGetGrowth$", Benchtime: cfg.benchtime, Count: cfg.count, Reps: 1,
			What: "Get on 10,000 and 1,000,000 rows"},
		{Name: "cleanup", Bench: "^BenchmarkCleanup(Creates)?$", Benchtime: cleanupTime, Count: cfg.count, Reps: 1,
			What: "sweeps of 100,000 expired rows among 1,000,000, alone and with Creates beside them"},
		{Name: "lostkeys", Bench: "^BenchmarkLostKeys$", Benchtime: lostTime, Count: cfg.count, Reps: 1,
			What: "rounds of 32 concurrent Updates of different keys of one session"},
		{Name: "roundtrips", Bench: "^BenchmarkRoundTrips$", Benchtime: rtTime, Count: 1, Reps: 1,
			What: "round trips per operation, counted on the client's sockets"},
		{Name: "toolcall", Bench: "^BenchmarkToolCall$", Benchtime: cfg.benchtime, Count: 1, Reps: 2 * cfg.count,
			What: "one tools/call through each SDK's in-memory sessions and through its adapter; run once per sample, so that they alternate, and twice as many samples as the other passes: one HTTP round trip inside one process varies by a quarter from sample to sample on a 2-core machine"},
		{Name: "cache", Bench: "^BenchmarkCacheSeenElsewhere$", Benchtime: seenTime, Count: cfg.count, Reps: 1,
			What: "writes through one process's cache seen by a second process that has the session cached"},
		{Name: "execmode", Bench: "^BenchmarkExecMode$", Benchtime: cfg.benchtime, Count: cfg.count, Reps: 1,
			What: "Get and Update in each pgx query exec mode, straight to the server and through PgBouncer in session and transaction mode"},
		{Name: "delivery", Bench: "^BenchmarkCrossReplicaDelivery$", Benchtime: deliveryTime, Count: cfg.count, Reps: 1,
			What: "a message from one replica to another, one at a time: a bus message, and a notification from Notify to a GET stream on the other replica"},
		{Name: "updatebus", Bench: "^BenchmarkUpdateBus$", Benchtime: cfg.benchtime, Count: 1, Reps: cfg.count,
			What: "Update at 16 goroutines without a bus, with a bus running, and with its traffic; run once per sample, so that they alternate"},
	}
	var out []pass
	for _, p := range all {
		if slices.Contains(cfg.passes, p.Name) {
			out = append(out, p)
		}
	}
	return out
}
