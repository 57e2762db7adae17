package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mcpgoserver "github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/eventstore"
	"github.com/mcpsession/mcpsession/internal/msgbus"
	"github.com/mcpsession/mcpsession/mcpgo"
	"github.com/mcpsession/mcpsession/mcpsessiontest"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// The levels of BenchmarkCrossReplicaDelivery.
const (
	// levelBus: a message Published by one replica's Bus, received by
	// another's subscriber.
	levelBus = "bus"
	// levelStream: a notification sent with the adapter's Notify on one
	// replica, read by a client from the session's GET stream served by
	// another (through the event store, woken by the bus).
	levelStream = "stream"
)

// The implementations of BenchmarkUpdateBus.
const (
	implNoBus      = "nobus"      // the store alone
	implBusIdle    = "bus"        // a Bus running over the store, no messages
	implBusTraffic = "bustraffic" // a Bus running, and busTrafficRate messages a second published and read
)

// busTrafficRate is the bus traffic beside the Updates of implBusTraffic:
// what a busy service's streams might send.
const busTrafficRate = 500

// streamsDSN is a new database of the dialect: a schema of its own on the
// package's Postgres server, or a SQLite file.
func streamsDSN(b *testing.B, dialect string) string {
	if dialect == dialectPostgres {
		return mcpsessiontest.PostgresDSN(b)
	}
	return "sqlite:" + filepath.Join(b.TempDir(), "sessions.db")
}

// runBus runs a Bus over store until b ends and returns it once it is
// ready (and, where the database can, listening).
func runBus(b *testing.B, store *sqlstore.Store) *bus.Bus {
	b.Helper()
	bb, err := bus.New(store)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = bb.Run(ctx)
	}()
	b.Cleanup(func() {
		cancel()
		<-done
	})
	<-bb.Ready()
	if !(*msgbus.Bus)(bb).PollOnly() {
		up := make(chan struct{}, 1)
		stop := (*msgbus.Bus)(bb).OnListening(func(on bool) {
			if on {
				select {
				case up <- struct{}{}:
				default:
				}
			}
		})
		defer stop()
		if !(*msgbus.Bus)(bb).Listening() {
			select {
			case <-up:
			case <-time.After(30 * time.Second):
				b.Fatal("the bus did not listen within 30s")
			}
		}
	}
	return bb
}

// busPollInterval is how often a bus polls by default (bus.WithPollInterval).
const busPollInterval = 100 * time.Millisecond

// BenchmarkCrossReplicaDelivery measures how long a message takes from one
// replica to another, one at a time: on Postgres woken by NOTIFY, on SQLite
// by the bus's poll (busPollInterval). It reports the median and
// the 99th percentile of the b.N deliveries (p50-ms, p99-ms); the time per
// operation is the mean. Between deliveries it waits, untimed, a random
// part of the poll interval, as messages that come when they come do:
// sent right after a delivery, each would wait a whole interval. Level bus is package bus alone; level stream is
// the adapter's Notify on one replica to a client reading the session's GET
// stream from the other, through the event store.
func BenchmarkCrossReplicaDelivery(b *testing.B) {
	for _, dialect := range availableDialects(b) {
		b.Run(crossReplicaName(dialect, levelBus), func(b *testing.B) {
			dsn := streamsDSN(b, dialect)
			from, to := runBus(b, openStore(b, dsn, sqlstore.WithAutoMigrate())), runBus(b, openStore(b, dsn, sqlstore.WithAutoMigrate()))
			got := make(chan struct{}, 1)
			defer (*msgbus.Bus)(to).Subscribe("bench/latency", func(msgbus.Message) { got <- struct{}{} })()
			latencies := make([]time.Duration, 0, b.N)
			ctx := context.Background()
			b.ResetTimer()
			for range b.N {
				pause(b, dialect)
				start := time.Now()
				if _, err := (*msgbus.Bus)(from).Publish(ctx, "bench/latency", []byte("x")); err != nil {
					b.Fatal(err)
				}
				<-got
				latencies = append(latencies, time.Since(start))
			}
			b.StopTimer()
			reportLatencies(b, latencies)
		})
		b.Run(crossReplicaName(dialect, levelStream), func(b *testing.B) {
			dsn := streamsDSN(b, dialect)
			a, c := newStreamsReplica(b, dsn), newStreamsReplica(b, dsn)
			sid := toolCallInitialize(b, http.DefaultClient, a.url)
			events := openStream(b, c.url, sid)
			latencies := make([]time.Duration, 0, b.N)
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				pause(b, dialect)
				start := time.Now()
				if err := a.sessions.Notify(ctx, sid, "notifications/message", map[string]any{"level": "info", "data": i}); err != nil {
					b.Fatal(err)
				}
				if err := <-events; err != nil {
					b.Fatal(err)
				}
				latencies = append(latencies, time.Since(start))
			}
			b.StopTimer()
			reportLatencies(b, latencies)
		})
	}
}

// pause waits, with the timer stopped, a random part of the interval at
// which the dialect's bus reads without a wake-up.
func pause(b *testing.B, dialect string) {
	b.StopTimer()
	interval := busPollInterval
	if dialect == dialectPostgres {
		interval = 5 * time.Millisecond // NOTIFY wakes at once: the phase hardly matters
	}
	time.Sleep(rand.N(interval)) // a phase, not a wait for something
	b.StartTimer()
}

func crossReplicaName(dialect, level string) string {
	return fmt.Sprintf("dialect=%s/level=%s", dialect, level)
}

// reportLatencies reports the median and the 99th percentile, in
// milliseconds.
func reportLatencies(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	at := func(q float64) float64 {
		return float64(ds[min(len(ds)-1, int(q*float64(len(ds))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// streamsReplica is an mcp-go server behind the adapter with streams
// across replicas, on a store, bus and event store of its own.
type streamsReplica struct {
	sessions *mcpgo.Sessions
	url      string
}

func newStreamsReplica(b *testing.B, dsn string) streamsReplica {
	b.Helper()
	store := openStore(b, dsn, sqlstore.WithAutoMigrate(), sqlstore.WithIdleTimeout(idleTimeout))
	events, err := eventstore.New(store)
	if err != nil {
		b.Fatal(err)
	}
	sessions, err := mcpgo.New(store, mcpgo.WithStreams(runBus(b, store), events))
	if err != nil {
		b.Fatal(err)
	}
	ms := mcpgoserver.NewMCPServer("bench", "1.0.0", sessions.ServerOptions()...)
	quiet := mcpgoserver.WithStreamableHTTPLogger(slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(sessions.Handler(mcpgoserver.NewStreamableHTTPServer(ms, append([]mcpgoserver.StreamableHTTPOption{quiet}, sessions.HTTPOptions()...)...)))
	b.Cleanup(func() {
		_ = sessions.Shutdown(context.Background())
		srv.CloseClientConnections()
		srv.Close()
	})
	return streamsReplica{sessions: sessions, url: srv.URL + "/mcp"}
}

// openStream opens the session's GET stream on url and sends on the
// channel once per notification it reads (an error ends it).
func openStream(b *testing.B, url, sid string) <-chan error {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", sid)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		cancel()
		b.Fatalf("GET: %v %v", resp, err)
	}
	out := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok || strings.TrimSpace(data) == "" {
				continue
			}
			var m struct {
				Method string `json:"method"`
			}
			if json.Unmarshal([]byte(data), &m) == nil && m.Method == "notifications/message" {
				select {
				case out <- nil:
				case <-ctx.Done():
					return
				}
			}
		}
		select {
		case out <- fmt.Errorf("the stream ended: %v", sc.Err()):
		case <-ctx.Done():
		}
	})
	b.Cleanup(func() {
		cancel()
		resp.Body.Close()
		wg.Wait()
	})
	return out
}

// BenchmarkUpdateBus measures what a running bus costs the store's
// Updates, at goroutines() goroutines on one store: the store alone; with
// a Bus running over it (on Postgres its listener holds one connection of
// the store's pool); and with the Bus carrying busTrafficRate messages a
// second, published on the same store and read back (on Postgres each a
// NOTIFY, whose commits take a lock of their own).
func BenchmarkUpdateBus(b *testing.B) {
	par := goroutines()
	for _, dialect := range availableDialects(b) {
		for _, impl := range []string{implNoBus, implBusIdle, implBusTraffic} {
			b.Run(updateBusName(dialect, impl, par), func(b *testing.B) {
				store := openStore(b, streamsDSN(b, dialect), sqlstore.WithAutoMigrate(), sqlstore.WithIdleTimeout(idleTimeout))
				ctx := context.Background()
				ids := idsFor("upd", 4*par)
				for _, id := range ids {
					if err := store.Create(ctx, id, metadata("500B")); err != nil {
						b.Fatal(err)
					}
				}
				if impl != implNoBus {
					bb := runBus(b, store)
					if impl == implBusTraffic {
						stopTraffic := busTraffic(b, bb)
						defer stopTraffic()
					}
				}
				patch := map[string]any{"a": 1, "b": "two"}
				run(b, par, func(ctx context.Context, i int) error {
					return store.Update(ctx, ids[i%len(ids)], patch)
				})
			})
		}
	}
}

func updateBusName(dialect, impl string, par int) string {
	return fmt.Sprintf("dialect=%s/impl=%s/par=%d", dialect, impl, par)
}

// busTraffic publishes busTrafficRate messages a second on bb, which a
// subscriber reads, until the returned function stops it.
func busTraffic(b *testing.B, bb *bus.Bus) (stop func()) {
	b.Helper()
	stopSub := (*msgbus.Bus)(bb).Subscribe("bench/traffic", func(msgbus.Message) {})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second / busTrafficRate)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := (*msgbus.Bus)(bb).Publish(ctx, "bench/traffic", []byte(`{"session":"x","message":{}}`)); err != nil && ctx.Err() == nil {
				b.Error(err)
				return
			}
		}
	})
	return func() {
		cancel()
		wg.Wait()
		stopSub()
	}
}
