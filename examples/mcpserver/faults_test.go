package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/mcpsession/mcpsession/internal/msgbus"
	"github.com/mcpsession/mcpsession/internal/testdb"
)

// A replica killed (SIGKILL) while it holds a session's GET stream: the
// client resumes on the other process with Last-Event-ID and gets what
// was sent meanwhile, in order, once.
func TestBinaryReplicaKilledHoldingStream(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the example binary")
	}
	bin := buildBinary(t)
	eachSDK(t, func(t *testing.T, sdk, dsn string) {
		p1, p2 := startProcess(t, bin, sdk, dsn), startProcess(t, bin, sdk, dsn)
		sid := rawInitialize(t, p1.url)
		if status, body := rawPost(t, p2.url, sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); status != http.StatusAccepted {
			t.Fatalf("notifications/initialized: %d %s", status, body)
		}
		notify := func(msg string) {
			t.Helper()
			if got := adaptertest.Tool(t, p1.url, sid, notifyTool, map[string]any{"message": msg}); got != notifySent {
				t.Fatalf("notify: %s", got)
			}
		}
		get := adaptertest.GetSSE(t, p2.url, sid, "")
		if status := get.Status(t); status != http.StatusOK {
			t.Fatalf("GET on p2: %d", status)
		}
		if primedGET[sdk] {
			get.Next(t) // the priming event
		}
		notify("m1")
		last := adaptertest.ExpectNotification(t, get, "m1").ID
		if err := p2.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-p2.exited
		get.AwaitEnd(t, 30*time.Second)
		notify("m2")
		notify("m3")
		resumed := adaptertest.GetSSE(t, p1.url, sid, last)
		if status := resumed.Status(t); status != http.StatusOK {
			t.Fatalf("GET with Last-Event-ID on p1: %d", status)
		}
		adaptertest.ExpectNotification(t, resumed, "m2")
		adaptertest.ExpectNotification(t, resumed, "m3")
		notify("m4")
		adaptertest.ExpectNotification(t, resumed, "m4")
		resumed.Close()
		p1.terminate(t)
		t.Logf("p2 killed holding the GET stream; resumed on p1 after %s: m2 m3 replayed, m4 live", last)
	})
}

// The listeners' connections killed (pg_terminate_backend) again and again
// while notifications flow from one replica to the GET stream open on the
// other: each arrives once, in order (the bus's backstop and the
// followers' polls catch up), and both listeners come back by themselves.
func TestListenersKilledUnderStreamTraffic(t *testing.T) {
	t.Parallel()
	for _, sdk := range sdkNames() {
		t.Run(sdk, func(t *testing.T) {
			t.Parallel()
			dsn := testdb.Postgres(t)
			c := newCluster(t, sdk, dsn, testIdle)
			a, b := c.replica(0), c.replica(1)
			for _, r := range []*running{a, b} {
				awaitListening(t, r.bus)
			}
			sid := rawInitialize(t, a.url)
			if status, body := rawPost(t, b.url, sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); status != http.StatusAccepted {
				t.Fatalf("notifications/initialized: %d %s", status, body)
			}
			get := adaptertest.GetSSE(t, b.url, sid, "")
			if status := get.Status(t); status != http.StatusOK {
				t.Fatalf("GET on b: %d", status)
			}
			if primedGET[sdk] {
				get.Next(t) // the priming event
			}

			const total = 100
			sent := make(chan error, 1)
			go func() {
				for i := range total {
					body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":{"message":"%d"}}}`,
						adaptertest.NextID(), notifyTool, i)
					req, _ := http.NewRequest(http.MethodPost, a.url, strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Accept", "application/json, text/event-stream")
					req.Header.Set(adaptertest.HeaderSessionID, sid)
					resp, err := http.DefaultClient.Do(req)
					if err == nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							err = fmt.Errorf("status %d", resp.StatusCode)
						}
					}
					if err != nil {
						sent <- fmt.Errorf("notify %d: %w", i, err)
						return
					}
				}
				sent <- nil
			}()
			// The killer: every 20 ms while notifications flow.
			var killed atomic.Int64
			stopKilling := make(chan struct{})
			killing := make(chan error, 1)
			go func() {
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stopKilling:
						killing <- nil
						return
					case <-tick.C:
					}
					// Only this schema's listeners: not those of tests beside it.
					n, err := testdb.KillListeners(t.Context(), a.store.DB())
					if err != nil {
						killing <- err
						return
					}
					killed.Add(int64(n))
				}
			}()
			received := 0
			deadline := time.After(60 * time.Second)
			for received < total {
				select {
				case ev := <-get.Events():
					if ev.Data == "" {
						continue
					}
					m := ev.Message(t)
					var p struct {
						Data string `json:"data"`
					}
					if m.Method != "notifications/message" || json.Unmarshal(m.Params, &p) != nil || p.Data != fmt.Sprint(received) {
						t.Fatalf("notification %d: %s; want data %d (each once, in order)", received, ev.Data, received)
					}
					received++
				case err := <-sent:
					if err != nil {
						t.Fatal(err)
					}
					sent = nil
					close(stopKilling)
					if err := <-killing; err != nil {
						t.Fatal(err)
					}
				case <-get.Ended():
					t.Fatalf("the GET stream ended after %d notifications", received)
				case <-deadline:
					t.Fatalf("%d of %d notifications within 60s", received, total)
				}
			}
			if sent != nil {
				if err := <-sent; err != nil {
					t.Fatal(err)
				}
				close(stopKilling)
				if err := <-killing; err != nil {
					t.Fatal(err)
				}
			}
			if killed.Load() == 0 {
				t.Fatal("no listener was killed: the test proved nothing")
			}
			for _, r := range []*running{a, b} {
				awaitListening(t, r.bus)
			}
			if more := get.Pending(); len(more) > 0 {
				t.Errorf("events beyond the %d sent: %+v", total, more)
			}
			t.Logf("%d listener connections killed; %d notifications from a reached b's GET stream once each, in order; both listeners back", killed.Load(), total)
		})
	}
}

// awaitListening waits until b's listener is up.
func awaitListening(t *testing.T, b *bus.Bus) {
	t.Helper()
	changed := make(chan bool, 8)
	defer (*msgbus.Bus)(b).OnListening(func(on bool) {
		select {
		case changed <- on:
		default:
		}
	})()
	deadline := time.After(30 * time.Second)
	for !(*msgbus.Bus)(b).Listening() {
		select {
		case <-changed:
		case <-deadline:
			t.Fatal("the bus did not listen within 30s")
		}
	}
}
