package main

import (
	"context"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// smokePostgres returns the flags that give the generator a Postgres: the
// native binaries it starts a server from, or the server of
// MCPSESSION_TEST_POSTGRES_DSN; without either the test skips.
func smokePostgres(t *testing.T) []string {
	t.Helper()
	const bin = "/usr/lib/postgresql/15/bin"
	_, errBin := os.Stat(filepath.Join(bin, "postgres"))
	_, errUser := user.Lookup("postgres")
	if errBin == nil && (os.Geteuid() != 0 || errUser == nil) {
		return []string{"-pg-bin", bin}
	}
	if dsn := os.Getenv("MCPSESSION_TEST_POSTGRES_DSN"); dsn != "" {
		return []string{"-dsn", dsn}
	}
	t.Skip("no Postgres: neither PostgreSQL 15's binaries nor MCPSESSION_TEST_POSTGRES_DSN")
	return nil
}

// A few seconds of the default mix against one replica over Postgres:
// every operation the example serves runs, none fails, every notification
// reaches its stream, and the costs are read.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example and starts servers")
	}
	// Every operation of the mix at the same weight: at 40/s for 4 s each
	// comes up about 13 times (e^-13: never not).
	mix := "legacy.initialize=1,legacy.counter=1,legacy.whoami=1,legacy.listen=1,legacy.notify=1,legacy.delete=1," +
		"legacy.abandon=1,sessionless.counter-new=1,sessionless.counter=1,sessionless.whoami=1,task.research=1,mrtr.confirm=1"
	args := append(smokePostgres(t), "-mix", mix, "-replicas", "1", "-rate", "40", "-duration", "5s", "-warmup", "1s",
		"-sessions", "10", "-handles", "10", "-streams", "3", "-principals", "3", "-timeout", "10s", "-progress", "0")
	cfg, err := parseFlags(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	e, err := setup(ctx, cfg, &out)
	if err != nil {
		t.Fatalf("setup: %v\n%s", err, out.String())
	}
	defer e.close()
	s, err := e.open(ctx, cfg.spec(), "smoke", cfg.mix, cfg.driverOptions())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.close(ctx, e)
	res := runLoad(ctx, s.driver, s.fleet, s.mon, cfg.runParams("", nil))
	writeResult(&out, res)
	t.Log("\n" + out.String())

	ran := map[string]int64{}
	for _, row := range res.Rows {
		ran[row.Op] = row.Count
	}
	// legacy.listen runs only when a stream has closed below the cap.
	for _, op := range []string{opInit, opCounter, opWhoami, opNotify, opDelete, opAbandon, opHandleNew, opHandleCounter, opSessionlessWhoam, opResearch} {
		if ran[op] == 0 {
			t.Errorf("%s never ran", op)
		}
	}
	if res.Total.Errors != 0 || res.Total.Count < 100 {
		t.Errorf("%d requests, %d errors; want over 100 and none", res.Total.Count, res.Total.Errors)
	}
	// A stream may end (its session deleted or abandoned) before its
	// notification arrives; most arrive.
	if res.Notified == 0 || res.Delivered*5 < res.Notified*4 {
		t.Errorf("%d notifications sent, %d delivered on their streams; want at least 80%%", res.Notified, res.Delivered)
	}
	if res.Costs.WALBytes <= 0 || res.Costs.ReplicaCPU <= 0 || res.Costs.MaxConns < 1 {
		t.Errorf("costs %+v: want WAL written, the replica's CPU time and its connections", res.Costs)
	}
	if cfg.dsn == "" && (!res.Costs.PGKnown || res.Costs.PGCPU <= 0) {
		t.Errorf("the server the generator started: Postgres CPU %v (known %v)", res.Costs.PGCPU, res.Costs.PGKnown)
	}
	if res.Behind {
		t.Logf("the generator fell behind (lag p99 %v): a busy machine", res.LagP99)
	}
	if strings.Contains(strings.Join(s.driver.notes, "\n"), "research") {
		t.Errorf("notes %q: research was skipped", s.driver.notes)
	}
	if strings.Contains(strings.Join(s.driver.notes, "\n"), opConfirm) {
		t.Errorf("notes %q: %s was dropped; the example has the confirm tool", s.driver.notes, opConfirm)
	}
}
