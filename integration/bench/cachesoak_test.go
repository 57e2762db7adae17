package bench

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/cache"
	"github.com/mcpsession/mcpsession/internal/msgbus"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/mcpsessiontest"
)

// The soak of package cache's TestTwoProcessesDeleteThenNotFound, which
// proves the property in a few rounds: a session the reader process has
// cached, deleted through this process's cache, answers not found there
// within the staleness bound, 1000 times over; and on Postgres 300 times
// more while the listeners' connections are killed again and again.
func TestCacheDeleteSeenAcrossProcessesSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("a soak of 1300 rounds; -short leaves it out")
	}
	for _, d := range []string{dialectSQLite, dialectPostgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			dsn := testdb.SQLiteFile(t)
			if d == dialectPostgres {
				dsn = mcpsessiontest.PostgresDSN(t)
			}
			// Both processes' buses poll SQLite every 20 ms, as the cache
			// package's test does.
			w, wbus := newCacheBus(t, testdb.OpenStore(t, dsn), bus.WithPollInterval(soakPoll))
			r := startCacheReader(t, dsn, seenReaderPollEnv+"="+soakPoll.String())
			lags := deleteSeenRounds(t, w, r, 1000, nil)
			t.Logf("%s: 1000 deletes seen by the other process: %s", d, lagSummary(lags))
			if !(*msgbus.Bus)(wbus).DatabaseListens() {
				return
			}
			ctx, stop := context.WithCancel(t.Context())
			ticks := make(chan struct{}, 1)
			killed := killListenersEachRound(ctx, wbus, testdb.OpenDB(t, dsn), ticks)
			lags = deleteSeenRounds(t, w, r, 300, ticks)
			stop()
			n := <-killed
			if n == 0 {
				t.Fatal("no listener connection was killed: the rounds proved nothing")
			}
			t.Logf("%s: with %d listener connections killed meanwhile, 300 deletes seen: %s", d, n, lagSummary(lags))
		})
	}
}

// soakPoll is the poll interval of the soak's buses.
const soakPoll = 20 * time.Millisecond

// cacheBound is the staleness bound of newCache's caches (cache's default).
const cacheBound = time.Second

// deleteSeenRounds creates a session, lets the reader cache it, deletes it
// and waits until the reader answers missing, rounds times, with a tick on
// ticks (when given) after each; it returns how long each delete took to
// be seen.
func deleteSeenRounds(t *testing.T, w cache.Store, r *cacheReader, rounds int, ticks chan<- struct{}) []time.Duration {
	t.Helper()
	ctx := t.Context()
	lags := make([]time.Duration, 0, rounds)
	for i := range rounds {
		id := fmt.Sprintf("soak-%d-%s", i, mcpsession.NewID()[:8])
		if err := w.Create(ctx, id, map[string]any{"v": 0}); err != nil {
			t.Fatal(err)
		}
		if got := r.ask(t, "get "+id); got != "found 0" { // cached over there now
			t.Fatalf("round %d: the reader: %s", i, got)
		}
		// The reader starts asking before the delete, and answers once it
		// sees it.
		fmt.Fprintf(r.in, "wait %s missing\n", id)
		deleted := time.Now()
		if err := w.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
		got := r.line(t)
		if lag := time.Since(deleted); lag > cacheBound || got != "missing" {
			t.Fatalf("round %d: the reader still said %q %v after the delete; the bound is %v", i, got, lag, cacheBound)
		}
		lags = append(lags, time.Since(deleted))
		if ticks != nil {
			select {
			case ticks <- struct{}{}:
			default:
			}
		}
	}
	return lags
}

// killListenersEachRound ends the listeners of db's schema each time bs
// listens again and a round (a tick) has been made since, until ctx ends;
// it then sends how many connections it ended.
func killListenersEachRound(ctx context.Context, bs *bus.Bus, db *sql.DB, ticks <-chan struct{}) <-chan int {
	back := make(chan struct{}, 1)
	stopWatch := (*msgbus.Bus)(bs).OnListening(func(on bool) {
		if on {
			select {
			case back <- struct{}{}:
			default:
			}
		}
	})
	killed := make(chan int, 1)
	go func() {
		defer stopWatch()
		n := 0
		defer func() { killed <- n }()
		for {
			for !(*msgbus.Bus)(bs).Listening() {
				select {
				case <-back:
				case <-ctx.Done():
					return
				}
			}
			select { // a round made while the listener was down does not count
			case <-ticks:
			default:
			}
			select {
			case <-ticks:
			case <-ctx.Done():
				return
			}
			if k, err := testdb.KillListeners(ctx, db); err == nil {
				n += k
			}
		}
	}()
	return killed
}

func lagSummary(lags []time.Duration) string {
	slices.Sort(lags)
	n := len(lags)
	return fmt.Sprintf("p50 %v, p99 %v, max %v", lags[n/2], lags[n*99/100], lags[n-1])
}
