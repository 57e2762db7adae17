package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// capacityConfig are the capacity mode's flags.
type capacityConfig struct {
	replicaList  string
	replicaNs    []int
	variantList  string
	variants     []string
	step         time.Duration
	stepWarmup   time.Duration
	startRate    float64
	maxRate      float64
	maxSteps     int
	tolerance    float64
	slo          time.Duration
	maxErrorRate float64
}

// The configurations capacity mode compares, per replica count.
const (
	variantMemory        = "memory"          // the ceiling: mcp-go's memory, sticky proxy
	variantStore         = "store"           // the store, round-robin
	variantCache         = "cache"           // the store with the read cache
	variantBouncer       = "pgbouncer"       // the store through PgBouncer (transaction mode)
	variantBouncerCached = "pgbouncer-cache" // the same with the cache
)

var allVariants = []string{variantMemory, variantStore, variantCache, variantBouncer, variantBouncerCached}

func (c *capacityConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.replicaList, "capacity-replicas", "1,2,4", "capacity: the replica counts")
	fs.StringVar(&c.variantList, "capacity-variants", strings.Join(allVariants, ","),
		"capacity: the configurations, of "+strings.Join(allVariants, ","))
	fs.DurationVar(&c.step, "capacity-step", 8*time.Second, "capacity: each rate's run, warm-up included")
	fs.DurationVar(&c.stepWarmup, "capacity-warmup", 2*time.Second, "capacity: each rate's warm-up")
	fs.Float64Var(&c.startRate, "capacity-start", 200, "capacity: the first rate tried (later configurations start from the last one's result, if higher)")
	fs.Float64Var(&c.maxRate, "capacity-max", 20000, "capacity: the highest rate tried")
	fs.IntVar(&c.maxSteps, "capacity-steps", 6, "capacity: rates tried per configuration at most")
	fs.Float64Var(&c.tolerance, "capacity-tolerance", 0.1, "capacity: stop once the highest pass is within this fraction of the lowest failure")
	fs.DurationVar(&c.slo, "slo", 50*time.Millisecond, "capacity: a rate passes when its p99 is under this")
	fs.Float64Var(&c.maxErrorRate, "max-error-rate", 0.001, "capacity: … and at most this share of its operations failed")
}

func (c *capacityConfig) check() error {
	c.replicaNs = nil
	for s := range strings.SplitSeq(c.replicaList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-capacity-replicas %q: want counts ≥ 1", c.replicaList)
		}
		c.replicaNs = append(c.replicaNs, n)
	}
	c.variants = nil
	for s := range strings.SplitSeq(c.variantList, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(allVariants, s) {
			return fmt.Errorf("-capacity-variants: unknown %q (want of %s)", s, strings.Join(allVariants, ","))
		}
		c.variants = append(c.variants, s)
	}
	switch {
	case c.step <= c.stepWarmup || c.stepWarmup < 0:
		return errors.New("want 0 ≤ -capacity-warmup < -capacity-step")
	case c.startRate <= 0 || c.maxRate < c.startRate || c.maxSteps < 1:
		return errors.New("want 0 < -capacity-start ≤ -capacity-max and -capacity-steps ≥ 1")
	case c.tolerance <= 0 || c.tolerance >= 1 || c.slo <= 0 || c.maxErrorRate < 0:
		return errors.New("want 0 < -capacity-tolerance < 1, -slo > 0, -max-error-rate ≥ 0")
	}
	return nil
}

// startupEstimate is what starting a configuration takes on two cores: a
// database, the replicas one after the other, the pools filled.
const startupEstimate = 8 * time.Second

// plan says what the pass will do and how long it takes at most.
func (c *capacityConfig) plan() (string, time.Duration) {
	n := len(c.replicaNs) * len(c.variants)
	per := startupEstimate + time.Duration(c.maxSteps)*(c.step+time.Second)
	total := time.Duration(n) * per
	return fmt.Sprintf("capacity plan: %d configurations (%s replicas × %s), each at most %d steps of %s (%s of warm-up) "+
		"plus about %s to start: at most %s",
		n, c.replicaList, c.variantList, c.maxSteps, c.step, c.stepWarmup, startupEstimate, total.Round(time.Second)), total
}

func (c *capacityConfig) spec(cfg *config, variant string, replicas int) fleetSpec {
	s := fleetSpec{Replicas: replicas, SDK: cfg.sdk, IdleTimeout: cfg.idleTimeout}
	switch variant {
	case variantMemory:
		s.SDK, s.Memory, s.Sticky = "mcp-go", true, true
	case variantCache:
		s.Cache = true
	case variantBouncer:
		s.Bouncer = true
	case variantBouncerCached:
		s.Bouncer, s.Cache = true, true
	}
	return s
}

// capacityStep is one rate tried, for the report.
type capacityStep struct {
	Rate   float64
	Pass   bool
	Reason string // why it failed
	Result *runResult
}

// capacityRow is one configuration's outcome.
type capacityRow struct {
	Replicas  int
	Variant   string
	Label     string
	Best      float64
	Capped    bool
	Bracketed bool
	Steps     []capacityStep
	AtBest    *runResult // the run at the best rate
	Notes     []string
	Err       string
}

// capacityReport is the mode's whole outcome.
type capacityReport struct {
	Started, Finished time.Time
	Command           string
	Postgres          string
	Mix               string
	SLO               time.Duration
	MaxErrorRate      float64
	Step, Warmup      time.Duration
	Rows              []*capacityRow
}

func runCapacity(ctx context.Context, e *env) error {
	cfg, cc := e.cfg, &e.cfg.capacityConfig
	rep := &capacityReport{Started: time.Now(), Command: cfg.command, Postgres: e.target.version + ", " + e.target.settings,
		Mix: cfg.mix.String(), SLO: cc.slo, MaxErrorRate: cc.maxErrorRate, Step: cc.step, Warmup: cc.stepWarmup}
	start := cc.startRate
	for _, n := range cc.replicaNs {
		for _, v := range cc.variants {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			spec := cc.spec(cfg, v, n)
			row := &capacityRow{Replicas: n, Variant: v, Label: spec.label()}
			rep.Rows = append(rep.Rows, row)
			fmt.Fprintf(e.out, "\n== %s, starting at %.0f/s\n", spec, start)
			if err := capacityOf(ctx, e, spec, start, row); err != nil {
				row.Err = err.Error()
				fmt.Fprintf(e.out, "%s: %v\n", spec, err)
				continue
			}
			fmt.Fprintf(e.out, "== %s: %s\n", spec, row.verdict())
			// The next configuration starts where this one ended, which
			// saves steps when they are alike, but never below
			// -capacity-start: one noisy result does not drag every later
			// search down.
			start = max(row.Best, cc.startRate)
		}
	}
	rep.Finished = time.Now()
	writeCapacityTable(e.out, rep)
	return writeReports(e, "capacity", rep, renderCapacity(rep))
}

func (r *capacityRow) verdict() string {
	switch {
	case r.Best == 0:
		return "no rate passed"
	case r.Capped:
		return fmt.Sprintf("at least %.0f operations/s (the highest rate tried)", r.Best)
	case !r.Bracketed:
		return fmt.Sprintf("%.0f operations/s (steps ran out before the bracket closed)", r.Best)
	default:
		return fmt.Sprintf("%.0f operations/s", r.Best)
	}
}

// capacityOf searches one configuration on a fresh database.
func capacityOf(ctx context.Context, e *env, spec fleetSpec, start float64, row *capacityRow) error {
	cfg, cc := e.cfg, &e.cfg.capacityConfig
	// A request slower than 2 s fails its step anyway; a shorter bound
	// ends an overloaded step sooner.
	o := cfg.driverOptions()
	o.timeout = min(o.timeout, max(2*time.Second, 10*cc.slo))
	s, err := e.open(ctx, spec, "cap", cfg.mix, o)
	if err != nil {
		return err
	}
	defer s.close(ctx, e)
	row.Notes = s.driver.notes
	for _, n := range s.driver.notes {
		fmt.Fprintln(e.out, "note:", n)
	}
	res := searchCapacity(searchOptions{start: start, max: cc.maxRate, min: 1, tolerance: cc.tolerance, maxSteps: cc.maxSteps},
		func(rate float64) bool {
			if ctx.Err() != nil {
				return false
			}
			p := cfg.runParams(fmt.Sprintf("%s ", spec), e.out)
			p.rate, p.duration, p.warmup = rate, cc.step, cc.stepWarmup
			r := runLoad(ctx, s.driver, s.fleet, s.mon, p)
			step := capacityStep{Rate: rate, Result: r}
			step.Pass, step.Reason = cc.judge(r)
			row.Steps = append(row.Steps, step)
			verdict := "pass"
			if !step.Pass {
				verdict = "FAIL: " + step.Reason
			}
			fmt.Fprintf(e.out, "   %.0f/s: p99 %s, errors %d of %d, lag p99 %s → %s\n", rate, fmtDur(r.Total.P99),
				r.Total.Errors, r.Total.Count, fmtDur(r.LagP99), verdict)
			return step.Pass
		})
	row.Best, row.Capped, row.Bracketed = res.Best, res.Capped, res.Bracketed
	for _, st := range row.Steps {
		if st.Pass && st.Rate == res.Best {
			row.AtBest = st.Result
		}
	}
	return ctx.Err()
}

// judge says whether a step passed: p99 under the SLO, few enough errors,
// and the generator on its timeline.
func (c *capacityConfig) judge(r *runResult) (bool, string) {
	var why []string
	if r.Total.P99 >= c.slo {
		why = append(why, fmt.Sprintf("p99 %s ≥ %s", fmtDur(r.Total.P99), c.slo))
	}
	if er := r.errorRate(); er > c.maxErrorRate {
		why = append(why, fmt.Sprintf("errors %.2f%%", 100*er))
	}
	if r.Behind {
		why = append(why, fmt.Sprintf("generator behind (lag p99 %s)", fmtDur(r.LagP99)))
	}
	if r.Total.Count == 0 {
		why = append(why, "no operation completed")
	}
	return len(why) == 0, strings.Join(why, "; ")
}

// ceiling is the sticky in-memory fleet's best at n replicas, 0 if none.
func (rep *capacityReport) ceiling(n int) float64 {
	for _, r := range rep.Rows {
		if r.Replicas == n && r.Variant == variantMemory {
			return r.Best
		}
	}
	return 0
}

func writeCapacityTable(w interface{ Write([]byte) (int, error) }, rep *capacityReport) {
	fmt.Fprintf(w, "\n%-8s %-40s %12s %9s %9s %10s %10s %10s %6s\n", "replicas", "configuration", "ops/s", "÷ceiling",
		"p99", "PG µs/req", "WAL B/req", "repl µs/req", "conns")
	for _, r := range rep.Rows {
		frac := "–"
		if c := rep.ceiling(r.Replicas); c > 0 && r.Variant != variantMemory {
			frac = fmt.Sprintf("%.2f", r.Best/c)
		}
		best := r.verdict()
		if r.Err != "" {
			best = "error"
		} else if r.Best > 0 {
			best = fmt.Sprintf("%.0f", r.Best)
			if r.Capped {
				best = "≥" + best
			}
		}
		p99, pg, wal, repl, conns := "–", "–", "–", "–", "–"
		if a := r.AtBest; a != nil {
			p99 = fmtDur(a.Total.P99)
			pg = cpuPer(a, a.Costs.PGCPU, a.Costs.PGKnown)
			wal = walPer(a)
			repl = cpuPer(a, a.Costs.ReplicaCPU, true)
			conns = strconv.Itoa(a.Costs.MaxConns)
		}
		fmt.Fprintf(w, "%-8d %-40s %12s %9s %9s %10s %10s %10s %6s\n", r.Replicas, r.Label, best, frac, p99, pg, wal, repl, conns)
	}
}

// writeReports writes the mode's raw JSON beside its charts and its
// section into -report.
func writeReports(e *env, mode string, raw any, section string) error {
	dir := e.outDir()
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		b, err := json.MarshalIndent(raw, "", "  ")
		if err != nil {
			return err
		}
		path := filepath.Join(dir, mode+".json")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(e.out, "wrote %s\n", path)
	}
	if e.cfg.report == "" {
		return nil
	}
	if err := replaceSectionInFile(e.cfg.report, mode, section); err != nil {
		return err
	}
	fmt.Fprintf(e.out, "wrote the %s section of %s\n", mode, e.cfg.report)
	return nil
}

// outDir is where charts and raw results go: -out, or
// integration/capacity when there is a -report, or nowhere.
func (e *env) outDir() string {
	switch {
	case e.cfg.outDir != "":
		return e.cfg.outDir
	case e.cfg.report != "":
		return filepath.Join(e.paths.integration, "capacity")
	}
	return ""
}
