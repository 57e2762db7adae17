package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mcpsession/mcpsession/dialects/postgres"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// growthConfig are the growth mode's flags.
type growthConfig struct {
	sizeList string
	sizes    []int64
	opRate   float64
	opStep   time.Duration
}

func (c *growthConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.sizeList, "growth-sizes", "1e4,1e5,1e6,1e7", "growth: the numbers of stored sessions, ascending")
	fs.Float64Var(&c.opRate, "growth-rate", 300, "growth: operations per second of each store operation's run and of the fleet's")
	fs.DurationVar(&c.opStep, "growth-step", 5*time.Second, "growth: each run's measured length (the fleet's has -warmup before it)")
}

func (c *growthConfig) check() error {
	c.sizes = nil
	prev := int64(0)
	for s := range strings.SplitSeq(c.sizeList, ",") {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || f < 1 || f > 1e9 || int64(f) <= prev {
			return fmt.Errorf("-growth-sizes %q: want ascending counts such as 1e4,1e5", c.sizeList)
		}
		prev = int64(f)
		c.sizes = append(c.sizes, prev)
	}
	if c.opRate <= 0 || c.opStep <= 0 {
		return errors.New("want -growth-rate > 0 and -growth-step > 0")
	}
	return nil
}

// What loading costs on two cores, for the plan: inserting a session
// (with its three indexes), and VACUUM with CHECKPOINT per session in the
// table.
const (
	loadPerSession   = 25 * time.Microsecond
	vacuumPerSession = 6 * time.Microsecond
)

// plan says what the pass will do and about how long it takes.
func (c *growthConfig) plan(cfg *config) (string, time.Duration) {
	total := startupEstimate // the template session's fleet
	var prev int64
	for _, n := range c.sizes {
		total += time.Duration(n-prev)*loadPerSession + time.Duration(n)*vacuumPerSession
		total += 3*c.opStep + startupEstimate + cfg.warmup + c.opStep + 2*time.Second
		prev = n
	}
	return fmt.Sprintf("growth plan: %s sessions; at each size Get, Update and Touch for %s each at %.0f/s, a Cleanup, "+
		"and the fleet for %s: about %s", c.sizeList, c.opStep, c.opRate, cfg.warmup+c.opStep, total.Round(time.Second)), total
}

// seededID is the id of the i-th bulk-loaded session: md5 of its number,
// so that ids arrive in random order, as real ones do (an index of ids
// inserted in order would be denser than any real one).
func seededID(i int64) string {
	sum := md5.Sum([]byte(strconv.FormatInt(i, 10)))
	return "LG" + strings.ToUpper(hex.EncodeToString(sum[:]))[:24]
}

// seededIDSQL computes seededID(g) in Postgres.
const seededIDSQL = `'LG' || upper(substr(md5(g::text), 1, 24))`

// growthSize is what one table size measured.
type growthSize struct {
	Sessions   int64
	LoadTook   time.Duration // inserting the rows since the last size, VACUUM ANALYZE and CHECKPOINT
	HeapBytes  int64
	IndexBytes int64
	TotalBytes int64
	Indexes    map[string]int64
	Ops        []growthOp
	// Cleanup of expired sessions (1% of the table, at least 1,000).
	CleanupExpired int64
	CleanupTook    time.Duration
	CleanupCosts   costs
	// Cleanup with nothing expired: what each janitor sweep costs.
	CleanupIdleTook time.Duration
	Fleet           *runResult
}

// growthOp is one store operation's run.
type growthOp struct {
	Op    string
	Count int64
	P50   time.Duration
	P99   time.Duration
	// Errors is the calls that failed.
	Errors int64
	Costs  costs
}

type growthReport struct {
	Started, Finished time.Time
	Command           string
	Postgres          string
	Fleet             string
	Mix               string
	Rate              float64
	Step              time.Duration
	MetadataBytes     int
	Sizes             []*growthSize
}

func runGrowth(ctx context.Context, e *env) error {
	cfg, gc := e.cfg, &e.cfg.growthConfig
	rep := &growthReport{Started: time.Now(), Command: cfg.command, Postgres: e.target.version + ", " + e.target.settings,
		Mix: cfg.mix.String(), Rate: gc.opRate, Step: gc.opStep}
	db, err := e.newDatabase(ctx, "growth")
	if err != nil {
		return err
	}
	if !cfg.keep {
		defer func() { _ = e.target.dropDatabase(context.WithoutCancel(ctx), db) }()
	}
	dsn := e.target.dsn(db, nil)
	store, err := sqlstore.Open(ctx, postgres.Dialect(), dsn, sqlstore.WithAutoMigrate(), sqlstore.WithIdleTimeout(cfg.idleTimeout))
	if err != nil {
		return err
	}
	defer store.Close()
	mon, err := newMonitor(ctx, e.target, nil, db)
	if err != nil {
		return err
	}
	defer mon.close()
	conn, err := pgx.Connect(ctx, e.target.dsn(db, map[string]string{"application_name": monitorApp}))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))

	spec := cfg.spec()
	spec.Sticky, spec.Memory, spec.Bouncer = false, false, false
	rep.Fleet = spec.String()
	template, err := sessionTemplate(ctx, e, spec, dsn, conn)
	if err != nil {
		return fmt.Errorf("a session's row to copy: %w", err)
	}
	rep.MetadataBytes = len(template)
	fmt.Fprintf(e.out, "bulk-loaded sessions copy the row the fleet wrote for an anonymous session (%d bytes of JSON)\n", len(template))

	var loaded int64
	for _, n := range gc.sizes {
		if ctx.Err() != nil {
			break
		}
		size := &growthSize{Sessions: n}
		rep.Sizes = append(rep.Sizes, size)
		fmt.Fprintf(e.out, "\n== %d sessions: loading %d more\n", n, n-loaded)
		t0 := time.Now()
		if err := bulkLoad(ctx, conn, template, loaded, n, cfg.idleTimeout, e); err != nil {
			return err
		}
		loaded = n
		for _, q := range []string{`VACUUM (ANALYZE, PARALLEL 0) mcp_sessions`, `CHECKPOINT`} {
			if _, err := conn.Exec(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		size.LoadTook = time.Since(t0)
		if err := measureSizes(ctx, conn, size); err != nil {
			return err
		}
		fmt.Fprintf(e.out, "loaded in %s; per session: heap %.0f B, indexes %.0f B, total %.0f B\n", size.LoadTook.Round(time.Second),
			float64(size.HeapBytes)/float64(n), float64(size.IndexBytes)/float64(n), float64(size.TotalBytes)/float64(n))
		if err := storeOps(ctx, e, store, mon, size); err != nil {
			return err
		}
		if err := cleanupOps(ctx, e, store, mon, conn, template, size); err != nil {
			return err
		}
		res, err := growthFleet(ctx, e, spec, dsn, mon, n)
		if err != nil {
			return fmt.Errorf("fleet at %d sessions: %w", n, err)
		}
		size.Fleet = res
		fmt.Fprintf(e.out, "fleet at %.0f/s: p50 %s, p99 %s, errors %d; per request Postgres CPU %s, WAL %s\n", res.Rate,
			fmtDur(res.Total.P50), fmtDur(res.Total.P99), res.Total.Errors, cpuPer(res, res.Costs.PGCPU, res.Costs.PGKnown), walPer(res))
	}
	rep.Finished = time.Now()
	return writeReports(e, "growth", rep, renderGrowth(rep))
}

// sessionTemplate starts the fleet, initializes one anonymous session
// through it and returns the metadata the store wrote for it.
func sessionTemplate(ctx context.Context, e *env, spec fleetSpec, dsn string, conn *pgx.Conn) (string, error) {
	f, err := startFleet(ctx, e.bin, fleetSpec{Replicas: 1, SDK: spec.SDK, IdleTimeout: spec.IdleTimeout}, dsn, e.logDir("growth-template"))
	if err != nil {
		return "", err
	}
	defer f.stop()
	c := newMCPClient(f.proxy.url(), e.cfg.timeout)
	defer c.close()
	id, err := c.initialize(ctx, "")
	if err != nil {
		return "", err
	}
	var meta string
	err = conn.QueryRow(ctx, `SELECT metadata::text FROM mcp_sessions WHERE id = $1`, id).Scan(&meta)
	if err != nil {
		return "", err
	}
	_, err = conn.Exec(ctx, `DELETE FROM mcp_sessions WHERE id = $1`, id)
	return meta, err
}

// bulkLoad inserts sessions from … to-1 as the store writes them, a
// million per statement: each last used (and created) at a random moment
// of the last half idle timeout, so that none expires during the pass and
// the timestamp indexes hold distinct values, as real ones do (equal ones
// would shrink to almost nothing under B-tree deduplication).
func bulkLoad(ctx context.Context, conn *pgx.Conn, template string, from, to int64, idle time.Duration, e *env) error {
	const chunk = 1_000_000
	for lo := from; lo < to; lo += chunk {
		hi := min(lo+chunk, to)
		_, err := conn.Exec(ctx, `INSERT INTO mcp_sessions (id, metadata, created_at, updated_at, updated_floor)
SELECT id, jsonb_set($1::jsonb, '{mcp.touchedAt}', to_jsonb(floor(extract(epoch FROM ts) * 1000)::bigint)), ts, ts, ts
FROM (SELECT `+seededIDSQL+` AS id, now() - random() * $4::float8 * interval '1 millisecond' AS ts
      FROM generate_series($2::bigint, $3::bigint - 1) AS g) AS s`, template, lo, hi, float64(idle.Milliseconds())/2)
		if err != nil {
			return fmt.Errorf("bulk load: %w", err)
		}
		if to-from > chunk {
			fmt.Fprintf(e.out, "  %d loaded\n", hi)
		}
	}
	return nil
}

func measureSizes(ctx context.Context, conn *pgx.Conn, s *growthSize) error {
	err := conn.QueryRow(ctx, `SELECT pg_relation_size('mcp_sessions'), pg_indexes_size('mcp_sessions'),
pg_total_relation_size('mcp_sessions')`).Scan(&s.HeapBytes, &s.IndexBytes, &s.TotalBytes)
	if err != nil {
		return err
	}
	rows, err := conn.Query(ctx, `SELECT indexrelname, pg_relation_size(indexrelid) FROM pg_stat_user_indexes
WHERE relname = 'mcp_sessions' ORDER BY indexrelname`)
	if err != nil {
		return err
	}
	s.Indexes = map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return err
		}
		s.Indexes[name] = n
	}
	return rows.Err()
}

// storeOps times Get, Update and Touch of random bulk-loaded sessions
// through the library, open loop at -growth-rate, with their costs.
func storeOps(ctx context.Context, e *env, store *sqlstore.Store, mon *monitor, size *growthSize) error {
	gc := &e.cfg.growthConfig
	n := size.Sessions
	ops := []struct {
		name string
		call func(ctx context.Context, id string, i int64) error
	}{
		{"Get", func(ctx context.Context, id string, _ int64) error { _, err := store.Get(ctx, id); return err }},
		{"Update", func(ctx context.Context, id string, i int64) error {
			return store.Update(ctx, id, map[string]any{"counter": i})
		}},
		{"Touch", func(ctx context.Context, id string, _ int64) error { return store.Touch(ctx, id) }},
	}
	for _, op := range ops {
		// Each operation starts just after a checkpoint, so that each pays
		// the full-page images of the first change to a page (the WAL's
		// worst case) rather than the one run first paying for all.
		if _, err := store.DB().ExecContext(ctx, `CHECKPOINT`); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		rec := newRecorder(time.Time{})
		first := mon.snapshot(ctx, nil)
		loop := openLoop{Rate: gc.opRate, Duration: gc.opStep, MaxInFlight: e.cfg.maxInFlight}
		stats := loop.Run(ctx, nil, func(ctx context.Context, a arrival) {
			cctx, cancel := context.WithTimeout(ctx, e.cfg.timeout)
			defer cancel()
			err := op.call(cctx, seededID(rand.Int64N(n)), a.Seq)
			if err != nil {
				err = failed("store", err)
			}
			rec.record(op.name, a.Due, 1, err)
		})
		last := mon.snapshot(ctx, nil)
		_, total, firstErrs := rec.summary()
		g := growthOp{Op: op.name, Count: total.Count, P50: total.P50, P99: total.P99, Errors: total.Errors, Costs: diffCosts(first, last)}
		size.Ops = append(size.Ops, g)
		fmt.Fprintf(e.out, "%-7s %d calls at %.0f/s: p50 %s, p99 %s, errors %d; per call Postgres CPU %s, WAL %.0f B",
			op.name, g.Count, gc.opRate, fmtDur(g.P50), fmtDur(g.P99), g.Errors, perCall(g.Costs.PGCPU, g.Costs.PGKnown, g.Count),
			float64(g.Costs.WALBytes)/math.Max(float64(g.Count), 1))
		if stats.behind(e.cfg.maxLag) {
			fmt.Fprint(e.out, " (generator behind)")
		}
		fmt.Fprintln(e.out)
		for k, msg := range firstErrs {
			fmt.Fprintf(e.out, "  first %s error: %s\n", k, msg)
		}
	}
	return ctx.Err()
}

func perCall(total time.Duration, known bool, n int64) string {
	if !known || n == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0fµs", float64(total)/float64(n)/1e3)
}

// cleanupOps times Cleanup of expired sessions (1% of the table, at least
// 1,000, added idle for two idle timeouts) and then with nothing expired.
func cleanupOps(ctx context.Context, e *env, store *sqlstore.Store, mon *monitor, conn *pgx.Conn, template string, size *growthSize) error {
	ttl := e.cfg.idleTimeout
	expired := max(size.Sessions/100, 1000)
	_, err := conn.Exec(ctx, `INSERT INTO mcp_sessions (id, metadata, created_at, updated_at, updated_floor)
SELECT 'LX' || upper(substr(md5(g::text), 1, 24)), $1::jsonb, ts, ts, ts
FROM generate_series(0, $2::bigint - 1) AS g, (SELECT now() - $3::bigint * interval '1 millisecond' AS ts) AS c`, template, expired, (2 * ttl).Milliseconds())
	if err != nil {
		return fmt.Errorf("insert expired sessions: %w", err)
	}
	if _, err := conn.Exec(ctx, `VACUUM (ANALYZE, PARALLEL 0) mcp_sessions`); err != nil {
		return err
	}
	first := mon.snapshot(ctx, nil)
	t0 := time.Now()
	n, err := store.Cleanup(ctx, ttl)
	size.CleanupTook = time.Since(t0)
	size.CleanupCosts = diffCosts(first, mon.snapshot(ctx, nil))
	if err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	size.CleanupExpired = n
	t0 = time.Now()
	if _, err := store.Cleanup(ctx, ttl); err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	size.CleanupIdleTook = time.Since(t0)
	fmt.Fprintf(e.out, "Cleanup of %d expired: %s (%s per session, Postgres CPU %s, WAL %.0f B per session); with nothing expired: %s\n",
		n, fmtDur(size.CleanupTook), fmtDur(size.CleanupTook/time.Duration(max(n, 1))),
		perCall(size.CleanupCosts.PGCPU, size.CleanupCosts.PGKnown, n), float64(size.CleanupCosts.WALBytes)/math.Max(float64(n), 1),
		fmtDur(size.CleanupIdleTook))
	if n != expired {
		return fmt.Errorf("cleanup deleted %d sessions; %d had expired", n, expired)
	}
	return nil
}

// growthFleet runs the mix through the fleet at -growth-rate, its legacy
// calls spread over the bulk-loaded sessions too.
func growthFleet(ctx context.Context, e *env, spec fleetSpec, dsn string, mon *monitor, n int64) (*runResult, error) {
	cfg, gc := e.cfg, &e.cfg.growthConfig
	f, err := startFleet(ctx, e.bin, spec, dsn, e.logDir(fmt.Sprintf("growth-%d", n)))
	if err != nil {
		return nil, err
	}
	defer f.stop()
	o := cfg.driverOptions()
	o.seeded, o.seededID = n, seededID
	d := newDriver(f.proxy.url(), cfg.mix, o)
	defer d.close()
	if err := d.prepare(ctx); err != nil {
		return nil, err
	}
	if err := d.prefill(ctx); err != nil {
		return nil, err
	}
	p := cfg.runParams(fmt.Sprintf("%d sessions ", n), e.out)
	p.rate, p.duration, p.progress = gc.opRate, cfg.warmup+gc.opStep, 0
	return runLoad(ctx, d, f, mon, p), ctx.Err()
}
