package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// config is the command line.
type config struct {
	// the fleet
	replicas    int
	sdk         string
	cache       bool
	memory      bool
	sticky      bool
	bouncer     bool
	idleTimeout time.Duration

	// the load
	rate        float64
	duration    time.Duration
	warmup      time.Duration
	mixSpec     string
	mix         *mix
	sessions    int
	handles     int
	streams     int
	principals  int
	timeout     time.Duration
	maxInFlight int
	maxLag      time.Duration
	progress    time.Duration

	// Postgres
	dsn      string
	pgBin    string
	pgSet    multiFlag
	workDir  string
	keep     bool
	poolSize int

	// modes
	capacity bool
	capacityConfig
	growth bool
	growthConfig
	churn bool
	churnConfig
	compare string // -churn-compare

	cpuProfile string

	report  string // BENCHMARKS.md, "" for none
	outDir  string // CSV and PNG
	command string // the command line, for the report
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{command: "loadgen " + strings.Join(args, " ")}
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: loadgen [flags]   (from the integration module: go run ./cmd/loadgen)\n\n%s\noperations of -mix:\n", usageText)
		for _, op := range strings.Split(defaultMix, ",") {
			name, _, _ := strings.Cut(op, "=")
			fmt.Fprintf(stderr, "  %-26s %s\n", name, opHelp[name])
		}
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	fs.IntVar(&c.replicas, "replicas", 1, "mcpserver replicas behind the proxy")
	fs.StringVar(&c.sdk, "sdk", "mcp-go", "the replicas' SDK: mcp-go or go-sdk")
	fs.BoolVar(&c.cache, "cache", false, "the replicas' read cache (mcpserver -cache)")
	fs.BoolVar(&c.memory, "memory", false, "sessions in mcp-go's memory, no store (mcpserver -memory); implies -sticky")
	fs.BoolVar(&c.sticky, "sticky", false, "the proxy sends each session and each principal to one replica (default round-robin)")
	fs.BoolVar(&c.bouncer, "pgbouncer", false, "PgBouncer in transaction mode between the replicas and Postgres")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", 30*time.Minute, "the replicas' -idle-timeout (sessions and handles)")

	fs.Float64Var(&c.rate, "rate", 50, "operations per second, open loop")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long a run (or the churn soak) lasts, warm-up included")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "the start of each run left out of latencies and costs")
	fs.StringVar(&c.mixSpec, "mix", defaultMix, "operation weights, op=weight,… (see below)")
	fs.IntVar(&c.sessions, "sessions", 200, "live legacy sessions kept (made before the run; kept between half and twice)")
	fs.IntVar(&c.handles, "handles", 200, "live state handles kept (made before the run; at most twice)")
	fs.IntVar(&c.streams, "streams", 50, "GET streams open at most")
	fs.IntVar(&c.principals, "principals", 50, "bearer tokens the clients use")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "each request's bound")
	// Each operation under way holds three descriptors in the generator
	// (its connection to the proxy, the proxy's end, the proxy's
	// connection to a replica): 5,000 stays under a limit of 20,000.
	fs.IntVar(&c.maxInFlight, "max-inflight", 5000, "operations under way at most; past it the generator falls behind, and says so")
	fs.DurationVar(&c.maxLag, "max-lag", 10*time.Millisecond, "a run whose sends are this late at p99 is reported behind schedule")
	fs.DurationVar(&c.progress, "progress", 5*time.Second, "a progress line this often (0: none)")

	fs.StringVar(&c.dsn, "dsn", "", "use this Postgres (postgres://…; the generator creates and drops databases there, and cannot read its CPU time) instead of starting one")
	fs.StringVar(&c.pgBin, "pg-bin", "/usr/lib/postgresql/15/bin", "where initdb and postgres are")
	fs.Var(&c.pgSet, "pg-set", "a Postgres setting key=value for the server the generator starts (repeatable)")
	fs.StringVar(&c.workDir, "workdir", "", "where the cluster, logs and binary go (default: a temporary directory, removed unless -keep)")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory")
	fs.IntVar(&serverNice, "server-nice", 10, "the niceness Postgres, PgBouncer and the replicas run at, below the generator's (0: the same)")
	fs.IntVar(&c.poolSize, "pgbouncer-pool", 20, "PgBouncer's server connections per database")

	fs.BoolVar(&c.capacity, "capacity", false, "capacity mode: the highest rate at p99 < -slo for each configuration")
	c.capacityConfig.flags(fs)
	fs.BoolVar(&c.growth, "growth", false, "growth mode: store operations and per-request costs at each -growth-sizes")
	c.growthConfig.flags(fs)
	fs.BoolVar(&c.churn, "churn", false, "churn mode: -duration at a steady -rate with short-lived sessions, the tables sampled")
	c.churnConfig.flags(fs)
	fs.StringVar(&c.compare, "churn-compare", "", "label=churn.csv,label=churn.csv: draw earlier churn soaks side by side into -out/churn-compare.png (no server runs)")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write the generator's own CPU profile here (to check that it is not the bottleneck)")
	fs.StringVar(&c.report, "report", "", "write each mode's section into this markdown file (make capacity: BENCHMARKS.md)")
	fs.StringVar(&c.outDir, "out", "", "where raw results, charts and CSV go (default with -report: integration/capacity)")

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	bad := func(format string, a ...any) (*config, error) {
		fmt.Fprintf(stderr, "loadgen: "+format+"\n", a...)
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		return bad("unexpected arguments %q", fs.Args())
	}
	var err error
	if c.mix, err = parseMix(c.mixSpec); err != nil {
		return bad("%v", err)
	}
	switch {
	case c.sdk != "mcp-go" && c.sdk != "go-sdk":
		return bad("-sdk %q: want mcp-go or go-sdk", c.sdk)
	case c.memory && (c.cache || c.sdk != "mcp-go" || c.bouncer):
		return bad("-memory serves with -sdk mcp-go, without -cache or -pgbouncer")
	case c.replicas < 1:
		return bad("-replicas %d: want at least 1", c.replicas)
	case c.rate <= 0 || c.duration <= 0 || c.warmup < 0 || c.warmup >= c.duration:
		return bad("want -rate > 0 and 0 ≤ -warmup < -duration")
	case c.sessions < 1 || c.handles < 1 || c.streams < 0 || c.principals < 1:
		return bad("want -sessions, -handles and -principals ≥ 1, -streams ≥ 0")
	case c.timeout <= 0 || c.idleTimeout < time.Millisecond:
		return bad("want -timeout > 0 and -idle-timeout ≥ 1ms")
	}
	if c.memory {
		c.sticky = true
	}
	if c.churn && (c.capacity || c.growth) {
		return bad("-churn runs alone (-capacity and -growth run together, in that order)")
	}
	if c.compare != "" && (c.churn || c.capacity || c.growth || c.outDir == "") {
		return bad("-churn-compare runs alone and writes into -out")
	}
	if err := c.capacityConfig.check(); err != nil {
		return bad("%v", err)
	}
	if err := c.growthConfig.check(); err != nil {
		return bad("%v", err)
	}
	if err := c.churnConfig.check(); err != nil {
		return bad("%v", err)
	}
	return c, nil
}

const usageText = `loadgen starts Postgres (or uses -dsn), builds examples/mcpserver, starts
-replicas copies of it over one database behind a round-robin (or -sticky)
proxy, and drives them open loop: -rate operations per second on a fixed
timeline, each latency counted from its due time. It prints a progress line
every -progress and a summary per operation, with Postgres CPU, WAL and the
replicas' CPU per request and the connections used.

Modes (each writes its section of -report):
  -capacity  the highest rate at p99 < -slo for each configuration, beside the
             sticky mcp-go-in-memory ceiling measured in the same run
  -growth    store operations and per-request costs at 10^4 … 10^7 sessions
  -churn     a soak at a steady rate; tables, bloat and autovacuum sampled

-churn-compare before=a/churn.csv,after=b/churn.csv -out DIR draws soaks
already run side by side (HOT updates, dead tuples, bytes per live row).
`

// paths are where the repository and its outputs are.
type paths struct{ root, integration string }

func findPaths() (paths, error) {
	dir, err := os.Getwd()
	if err != nil {
		return paths{}, err
	}
	for {
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(mod, []byte("module github.com/mcpsession/mcpsession/integration\n")) {
			return paths{root: filepath.Dir(dir), integration: dir}, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return paths{}, errors.New("run from the integration module: cd integration && go run ./cmd/loadgen")
		}
		dir = parent
	}
}

// env is what every mode shares: the work directory, the server, the
// binary, and PgBouncer once one is needed.
type env struct {
	cfg     *config
	paths   paths
	work    string
	target  *pgTarget
	bin     string
	bouncer *bouncer
	out     io.Writer
	dbSeq   int
}

func setup(ctx context.Context, cfg *config, out io.Writer) (*env, error) {
	p, err := findPaths()
	if err != nil {
		return nil, err
	}
	e := &env{cfg: cfg, paths: p, out: out}
	if cfg.workDir != "" {
		e.work = cfg.workDir
		err = os.MkdirAll(e.work, 0o755)
	} else {
		e.work, err = os.MkdirTemp("", "loadgen-")
	}
	if err != nil {
		return nil, err
	}
	// Postgres and PgBouncer run as another user, inside.
	if err := os.Chmod(e.work, 0o755); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "work directory %s\n", e.work)
	fmt.Fprintln(out, "building examples/mcpserver")
	if e.bin, err = buildServer(ctx, p.root, e.work); err != nil {
		e.close()
		return nil, err
	}
	if cfg.dsn != "" {
		e.target, err = externalPostgres(ctx, cfg.dsn)
	} else {
		e.target, err = startPostgres(ctx, pgOptions{bin: cfg.pgBin, settings: cfg.pgSet, workDir: e.work})
	}
	if err != nil {
		e.close()
		return nil, err
	}
	fmt.Fprintf(out, "%s: %s (%s)\n", e.target.version, e.target.source, e.target.settings)
	return e, nil
}

func (e *env) close() {
	if e.bouncer != nil {
		e.bouncer.stop()
	}
	if e.target != nil {
		e.target.stop()
	}
	if !e.cfg.keep && e.cfg.workDir == "" && e.work != "" {
		_ = os.RemoveAll(e.work)
	} else if e.work != "" {
		fmt.Fprintf(e.out, "kept %s\n", e.work)
	}
}

// logDir is where the replicas of one configuration log.
func (e *env) logDir(name string) string { return filepath.Join(e.work, "logs", name) }

// newDatabase makes a fresh database for one configuration.
func (e *env) newDatabase(ctx context.Context, prefix string) (string, error) {
	e.dbSeq++
	name := fmt.Sprintf("loadgen_%s_%d_%d", prefix, os.Getpid(), e.dbSeq)
	return name, e.target.createDatabase(ctx, name)
}

// fleetDSN is the DSN the replicas get for db, through PgBouncer when spec
// says so (starting it the first time).
func (e *env) fleetDSN(ctx context.Context, spec fleetSpec, db string) (string, error) {
	if !spec.Bouncer {
		return e.target.dsn(db, nil), nil
	}
	if e.bouncer == nil {
		b, err := startBouncer(ctx, e.target, e.cfg.poolSize, e.work)
		if err != nil {
			return "", err
		}
		e.bouncer = b
	}
	return e.bouncer.dsn(e.target, db), nil
}

// session is one configuration up and ready: its database, fleet, monitor
// and driver with pools filled.
type session struct {
	db     string
	fleet  *fleet
	mon    *monitor
	driver *driver
}

func (e *env) open(ctx context.Context, spec fleetSpec, prefix string, m *mix, o driverOptions) (*session, error) {
	db, err := e.newDatabase(ctx, prefix)
	if err != nil {
		return nil, err
	}
	s := &session{db: db}
	dsn, err := e.fleetDSN(ctx, spec, db)
	if err != nil {
		s.close(ctx, e)
		return nil, err
	}
	if s.fleet, err = startFleet(ctx, e.bin, spec, dsn, e.logDir(db)); err != nil {
		s.close(ctx, e)
		return nil, err
	}
	var b *bouncer
	if spec.Bouncer {
		b = e.bouncer
	}
	if s.mon, err = newMonitor(ctx, e.target, b, db); err != nil {
		s.close(ctx, e)
		return nil, err
	}
	s.driver = newDriver(s.fleet.proxy.url(), m, o)
	if err := s.driver.prepare(ctx); err != nil {
		s.close(ctx, e)
		return nil, err
	}
	if err := s.driver.prefill(ctx); err != nil {
		s.close(ctx, e)
		return nil, err
	}
	return s, nil
}

func (s *session) close(ctx context.Context, e *env) {
	if s.driver != nil {
		s.driver.close()
	}
	if s.mon != nil {
		s.mon.close()
	}
	if s.fleet != nil {
		s.fleet.stop()
	}
	if s.db != "" && !e.cfg.keep {
		_ = e.target.dropDatabase(context.WithoutCancel(ctx), s.db)
	}
}

func (c *config) spec() fleetSpec {
	return fleetSpec{Replicas: c.replicas, SDK: c.sdk, Cache: c.cache, Memory: c.memory, Sticky: c.sticky,
		Bouncer: c.bouncer, IdleTimeout: c.idleTimeout}
}

func (c *config) driverOptions() driverOptions {
	return driverOptions{sessions: c.sessions, handles: c.handles, streams: c.streams, principals: c.principals, timeout: c.timeout}
}

func (c *config) runParams(label string, out io.Writer) runParams {
	return runParams{rate: c.rate, duration: c.duration, warmup: c.warmup, maxInFlight: c.maxInFlight,
		maxLag: c.maxLag, progress: c.progress, label: label, out: out}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	cfg, err := parseFlags(args, os.Stderr)
	if err != nil {
		return err
	}
	if cfg.compare != "" {
		runs, err := parseCompare(cfg.compare)
		if err != nil {
			return err
		}
		path := filepath.Join(cfg.outDir, "churn-compare.png")
		if err := writeCompareChart(path, runs); err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		fmt.Fprintf(out, "wrote %s\n", path)
		return nil
	}
	if cfg.capacity || cfg.growth {
		var total time.Duration
		if cfg.capacity {
			plan, d := cfg.capacityConfig.plan()
			fmt.Fprintln(out, plan)
			total += d
		}
		if cfg.growth {
			plan, d := cfg.growthConfig.plan(cfg)
			fmt.Fprintln(out, plan)
			total += d
		}
		fmt.Fprintf(out, "planned total: about %s (the machine's speed and the search's path decide)\n", total.Round(time.Second))
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	e, err := setup(ctx, cfg, out)
	if err != nil {
		return err
	}
	defer e.close()
	switch {
	case cfg.churn:
		return runChurn(ctx, e)
	case cfg.capacity || cfg.growth:
		if cfg.capacity {
			if err := runCapacity(ctx, e); err != nil {
				return err
			}
		}
		if cfg.growth {
			return runGrowth(ctx, e)
		}
		return nil
	}
	return runOnce(ctx, e)
}

// runOnce is one run of the flags' configuration.
func runOnce(ctx context.Context, e *env) error {
	cfg := e.cfg
	spec := cfg.spec()
	fmt.Fprintf(e.out, "fleet %s; mix %s\n", spec, cfg.mix)
	s, err := e.open(ctx, spec, "run", cfg.mix, cfg.driverOptions())
	if err != nil {
		return err
	}
	defer s.close(ctx, e)
	for _, n := range s.driver.notes {
		fmt.Fprintln(e.out, "note:", n)
	}
	res := runLoad(ctx, s.driver, s.fleet, s.mon, cfg.runParams("", e.out))
	writeResult(e.out, res)
	return ctx.Err()
}
