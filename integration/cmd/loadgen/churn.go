package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// churnConfig are the churn mode's flags.
type churnConfig struct {
	sample time.Duration
	idle   time.Duration
}

func (c *churnConfig) flags(fs *flag.FlagSet) {
	fs.DurationVar(&c.sample, "churn-sample", 30*time.Second, "churn: how often the tables are sampled")
	fs.DurationVar(&c.idle, "churn-idle", 5*time.Minute, "churn: the replicas' idle timeout, so that abandoned sessions and handles expire and are swept within the soak")
}

func (c *churnConfig) check() error {
	if c.sample < time.Second || c.idle < time.Second {
		return errors.New("want -churn-sample ≥ 1s and -churn-idle ≥ 1s")
	}
	return nil
}

// churnTables are the tables the soak watches: every table the fleet
// writes.
var churnTables = []string{"mcp_sessions", "mcp_handles", "mcp_events", "mcp_streams", "mcp_event_sessions", "mcp_bus"}

type tableSample struct {
	Live, Dead, Ins, Upd, HotUpd, Del int64
	Autovacuums, Autoanalyzes         int64
	Heap, Index, Total                int64
	// DeadPct and FreePct are pgstattuple's: the heap's share in dead
	// tuples and in free space.
	DeadPct, FreePct float64
}

type indexSample struct {
	Table         string
	Size          int64
	Density       float64 // pgstatindex's avg_leaf_density, %
	Fragmentation float64 // leaf_fragmentation, %
}

type churnSample struct {
	Elapsed time.Duration
	Tables  map[string]tableSample
	Indexes map[string]indexSample
	// The requests since the previous sample.
	Done, Errors int64
	P50, P99     time.Duration
	Interval     time.Duration
}

type churnReport struct {
	Started, Finished time.Time
	Command           string
	Postgres          string
	Fleet             string
	Mix               string
	Rate              float64
	Idle              time.Duration
	SampleEvery       time.Duration
	Samples           []churnSample
	Result            *runResult
	Chart, CSV        string // paths relative to the report
	Notes             []string
}

func runChurn(ctx context.Context, e *env) error {
	cfg, cc := e.cfg, &e.cfg.churnConfig
	spec := cfg.spec()
	spec.IdleTimeout = cc.idle
	rep := &churnReport{Started: time.Now(), Command: cfg.command, Postgres: e.target.version + ", " + e.target.settings,
		Fleet: spec.String(), Mix: cfg.mix.String(), Rate: cfg.rate, Idle: cc.idle, SampleEvery: cc.sample}
	fmt.Fprintf(e.out, "churn: %s at %.0f/s for %s, idle timeout %s, tables sampled every %s; mix %s\n",
		spec, cfg.rate, cfg.duration, cc.idle, cc.sample, cfg.mix)
	o := cfg.driverOptions()
	o.expiryExpected = true
	s, err := e.open(ctx, spec, "churn", cfg.mix, o)
	if err != nil {
		return err
	}
	defer s.close(ctx, e)
	rep.Notes = s.driver.notes
	conn, err := pgx.Connect(ctx, e.target.dsn(s.db, map[string]string{"application_name": monitorApp}))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))

	dir := e.outDir()
	if dir == "" {
		dir = filepath.Join(e.work, "churn")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	start := time.Now()
	var (
		mu      sync.Mutex
		samples []churnSample
	)
	take := func(last time.Time) time.Time {
		now := time.Now()
		cs, err := sampleTables(ctx, conn)
		if err != nil {
			if ctx.Err() == nil {
				fmt.Fprintf(e.out, "churn: sample: %v\n", err)
			}
			return last
		}
		done, errs, h := s.driver.rec.Load().takeSample()
		cs.Elapsed, cs.Done, cs.Errors, cs.P50, cs.P99, cs.Interval = now.Sub(start), done, errs, h.quantile(0.5), h.quantile(0.99), now.Sub(last)
		mu.Lock()
		samples = append(samples, cs)
		mu.Unlock()
		t := cs.Tables["mcp_sessions"]
		fmt.Fprintf(e.out, "churn sample [%5.0fs]: sessions %d live, %d dead, %s; handles %d live; events %d; bus %d; p99 %s\n",
			cs.Elapsed.Seconds(), t.Live, t.Dead, mib(t.Total), cs.Tables["mcp_handles"].Live, cs.Tables["mcp_events"].Live,
			cs.Tables["mcp_bus"].Live, fmtDur(cs.P99))
		return now
	}
	last := take(start)
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(cc.sample)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				last = take(last)
			}
		}
	}()
	p := cfg.runParams("churn ", e.out)
	rep.Result = runLoad(ctx, s.driver, s.fleet, s.mon, p)
	close(stop)
	<-sampled
	if time.Since(last) > cc.sample/2 {
		take(last)
	}
	rep.Finished = time.Now()
	writeResult(e.out, rep.Result)

	rep.Samples = samples
	csvPath := filepath.Join(dir, "churn.csv")
	if err := writeChurnCSV(csvPath, samples); err != nil {
		return err
	}
	pngPath := filepath.Join(dir, "churn.png")
	if err := writeChurnChart(pngPath, samples); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	fmt.Fprintf(e.out, "wrote %s and %s\n", csvPath, pngPath)
	rep.CSV, rep.Chart = relToReport(e, csvPath), relToReport(e, pngPath)
	return writeReports(e, "churn", rep, renderChurn(rep))
}

// relToReport is path relative to the report's directory.
func relToReport(e *env, path string) string {
	if e.cfg.report == "" {
		return path
	}
	dir, err1 := filepath.Abs(filepath.Dir(e.cfg.report))
	abs, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		return path
	}
	r, err := filepath.Rel(dir, abs)
	if err != nil {
		return path
	}
	return filepath.ToSlash(r)
}

// sampleTables reads the tables' statistics, pgstattuple's heap figures and
// pgstatindex's of their B-tree indexes.
func sampleTables(ctx context.Context, conn *pgx.Conn) (churnSample, error) {
	cs := churnSample{Tables: map[string]tableSample{}, Indexes: map[string]indexSample{}}
	rows, err := conn.Query(ctx, `SELECT relname, n_live_tup, n_dead_tup, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del,
       autovacuum_count, autoanalyze_count,
       pg_relation_size(relid), pg_indexes_size(relid), pg_total_relation_size(relid)
FROM pg_stat_user_tables WHERE relname = ANY($1)`, churnTables)
	if err != nil {
		return cs, err
	}
	for rows.Next() {
		var name string
		var t tableSample
		if err := rows.Scan(&name, &t.Live, &t.Dead, &t.Ins, &t.Upd, &t.HotUpd, &t.Del, &t.Autovacuums, &t.Autoanalyzes,
			&t.Heap, &t.Index, &t.Total); err != nil {
			rows.Close()
			return cs, err
		}
		cs.Tables[name] = t
	}
	if err := rows.Err(); err != nil {
		return cs, err
	}
	for name, t := range cs.Tables {
		if err := conn.QueryRow(ctx, `SELECT dead_tuple_percent, free_percent FROM pgstattuple($1::regclass)`, name).
			Scan(&t.DeadPct, &t.FreePct); err != nil {
			return cs, fmt.Errorf("pgstattuple(%s): %w", name, err)
		}
		cs.Tables[name] = t
	}
	rows, err = conn.Query(ctx, `SELECT i.relname, i.indexrelname, pg_relation_size(i.indexrelid),
       (pgstatindex(i.indexrelid::regclass)).avg_leaf_density, (pgstatindex(i.indexrelid::regclass)).leaf_fragmentation
FROM pg_stat_user_indexes i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
WHERE i.relname = ANY($1) AND am.amname = 'btree'`, churnTables)
	if err != nil {
		return cs, err
	}
	defer rows.Close()
	for rows.Next() {
		var table, name string
		var ix indexSample
		if err := rows.Scan(&table, &name, &ix.Size, &ix.Density, &ix.Fragmentation); err != nil {
			return cs, err
		}
		ix.Table = table
		if math.IsNaN(ix.Density) || math.IsNaN(ix.Fragmentation) { // an index with no leaf page yet
			ix.Density, ix.Fragmentation = 0, 0
		}
		cs.Indexes[name] = ix
	}
	return cs, rows.Err()
}

// hotRatio is the share of updates between two samples that were HOT, or
// NaN without updates.
func hotRatio(a, b tableSample) float64 {
	upd := b.Upd - a.Upd
	if upd <= 0 {
		return math.NaN()
	}
	return float64(b.HotUpd-a.HotUpd) / float64(upd)
}

func writeChurnCSV(path string, samples []churnSample) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"elapsed_s", "relation", "kind", "live", "dead", "inserted", "updated", "hot_updated", "deleted",
		"autovacuums", "autoanalyzes", "heap_bytes", "index_bytes", "total_bytes", "dead_tuple_pct", "free_pct",
		"leaf_density_pct", "leaf_fragmentation_pct", "requests", "errors", "p50_ms", "p99_ms"})
	i64 := func(n int64) string { return strconv.FormatInt(n, 10) }
	f64 := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	for _, s := range samples {
		el := f64(s.Elapsed.Seconds())
		for _, name := range sortedKeys(s.Tables) {
			t := s.Tables[name]
			_ = w.Write([]string{el, name, "table", i64(t.Live), i64(t.Dead), i64(t.Ins), i64(t.Upd), i64(t.HotUpd), i64(t.Del),
				i64(t.Autovacuums), i64(t.Autoanalyzes), i64(t.Heap), i64(t.Index), i64(t.Total), f64(t.DeadPct), f64(t.FreePct),
				"", "", "", "", "", ""})
		}
		for _, name := range sortedKeys(s.Indexes) {
			ix := s.Indexes[name]
			_ = w.Write([]string{el, name, "index", "", "", "", "", "", "", "", "", "", i64(ix.Size), i64(ix.Size), "", "",
				f64(ix.Density), f64(ix.Fragmentation), "", "", "", ""})
		}
		_ = w.Write([]string{el, "requests", "requests", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "",
			i64(s.Done), i64(s.Errors), f64(float64(s.P50) / 1e6), f64(float64(s.P99) / 1e6)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
