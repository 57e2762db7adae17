package msgbus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/dialects/postgres"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/mcpsession/mcpsession/internal/driver"
	"github.com/mcpsession/mcpsession/internal/msgbus"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// replica is one process's view of the bus: its own store (pool) and Bus.
type replica struct {
	store *sqlstore.Store
	bus   *msgbus.Bus
}

// newReplica opens a store on dsn and runs a Bus over it until t ends.
func newReplica(t *testing.T, dsn string, opts ...bus.Option) *replica {
	t.Helper()
	s := testdb.OpenStore(t, dsn)
	b := adaptertest.StartBus(t, s, opts...)
	return &replica{store: s, bus: (*msgbus.Bus)(b)}
}

// collector gathers what a subscription receives.
type collector struct {
	mu   sync.Mutex
	got  map[int64]int // id: times received
	seq  []string
	more chan struct{}
}

func collect(b *msgbus.Bus, topic string) (*collector, func()) {
	c := &collector{got: map[int64]int{}, more: make(chan struct{}, 1)}
	stop := b.Subscribe(topic, func(m msgbus.Message) {
		c.mu.Lock()
		c.got[m.ID]++
		c.seq = append(c.seq, string(m.Payload))
		c.mu.Unlock()
		select {
		case c.more <- struct{}{}:
		default:
		}
	})
	return c, stop
}

// waitFor waits until the collector holds n distinct messages.
func (c *collector) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		c.mu.Lock()
		have := len(c.got)
		c.mu.Unlock()
		if have >= n {
			return
		}
		select {
		case <-c.more:
		case <-deadline:
			t.Fatalf("received %d of %d messages within 30s", have, n)
		}
	}
}

func (c *collector) duplicates() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := 0
	for _, n := range c.got {
		d += n - 1
	}
	return d
}

// Messages published on two replicas at once reach both replicas'
// subscribers, each exactly once, and only the topic's.
func TestDeliveredToEveryReplicaOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		a, b := newReplica(t, dsn), newReplica(t, dsn)
		ca, stopA := collect(a.bus, "t")
		defer stopA()
		cb, stopB := collect(b.bus, "t")
		defer stopB()
		other, stopOther := collect(b.bus, "other")
		defer stopOther()
		const writers, each = 4, 50
		var wg sync.WaitGroup
		for w := range writers {
			from := []*replica{a, b}[w%2]
			wg.Go(func() {
				for i := range each {
					if _, err := from.bus.Publish(t.Context(), "t", fmt.Appendf(nil, "%d-%d", w, i)); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		ca.waitFor(t, writers*each)
		cb.waitFor(t, writers*each)
		if d := ca.duplicates() + cb.duplicates(); d != 0 {
			t.Fatalf("%d messages delivered twice", d)
		}
		if len(other.got) != 0 {
			t.Fatalf("a subscriber of another topic got %d messages", len(other.got))
		}
		// Each writer's messages arrive in the order it published them.
		for _, c := range []*collector{ca, cb} {
			last := map[string]int{}
			for _, p := range c.seq {
				w, i, _ := strings.Cut(p, "-")
				var n int
				fmt.Sscan(i, &n)
				if prev, ok := last[w]; ok && n < prev {
					t.Fatalf("writer %s: message %d after %d", w, n, prev)
				}
				last[w] = n
			}
		}
	})
}

// On Postgres the Bus listens: a message is read when its NOTIFY arrives,
// not at the next backstop poll, which is set here far beyond the test's
// deadline.
func TestPostgresListens(t *testing.T) {
	t.Parallel()
	dsn := testdb.Postgres(t)
	a := newReplica(t, dsn, bus.WithBackstop(time.Hour), bus.WithPollInterval(time.Hour))
	b := newReplica(t, dsn, bus.WithBackstop(time.Hour), bus.WithPollInterval(time.Hour))
	waitListening(t, a.bus)
	waitListening(t, b.bus)
	c, stop := collect(b.bus, "t")
	defer stop()
	for i := range 20 {
		if _, err := a.bus.Publish(t.Context(), "t", []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		c.waitFor(t, i+1)
	}
}

func waitListening(t *testing.T, b *msgbus.Bus) {
	t.Helper()
	changed := make(chan bool, 8)
	stop := b.OnListening(func(on bool) { changed <- on })
	defer stop()
	deadline := time.After(30 * time.Second)
	for !b.Listening() {
		select {
		case <-changed:
		case <-deadline:
			t.Fatal("the bus was not listening within 30s")
		}
	}
}

// A message whose transaction commits after a later one was read is still
// delivered: the Bus looks again for the ids it skipped.
func TestLateCommitDelivered(t *testing.T) {
	t.Parallel()
	dsn := testdb.Postgres(t)
	a := newReplica(t, dsn)
	c, stop := collect(a.bus, "t")
	defer stop()
	db := a.store.DB()
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var early int64
	if err := tx.QueryRowContext(t.Context(), postgres.Dialect().Driver().Statements().Bus.Publish, "t", []byte("early")).Scan(&early); err != nil {
		t.Fatal(err)
	}
	later, err := a.bus.Publish(t.Context(), "t", []byte("later"))
	if err != nil {
		t.Fatal(err)
	}
	if later <= early {
		t.Fatalf("ids %d then %d: the test needs the open transaction's to be lower", early, later)
	}
	c.waitFor(t, 1)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, 2)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.got[early] != 1 || c.got[later] != 1 || c.seq[0] != "later" || c.seq[1] != "early" {
		t.Fatalf("received %v in order %v; want later, then early", c.got, c.seq)
	}
}

// With WithPollOnly (as behind PgBouncer in transaction mode) the Bus never
// listens and still delivers.
func TestPollOnly(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		a := newReplica(t, dsn, bus.WithPollOnly(), bus.WithPollInterval(10*time.Millisecond))
		b := newReplica(t, dsn, bus.WithPollOnly(), bus.WithPollInterval(10*time.Millisecond))
		c, stop := collect(b.bus, "t")
		defer stop()
		for i := range 10 {
			if _, err := a.bus.Publish(t.Context(), "t", []byte{byte(i)}); err != nil {
				t.Fatal(err)
			}
		}
		c.waitFor(t, 10)
		if a.bus.Listening() || b.bus.Listening() {
			t.Fatal("a poll-only bus listens")
		}
		if !a.bus.PollOnly() {
			t.Fatal("PollOnly is false with WithPollOnly")
		}
		if plain := newReplica(t, dsn); plain.bus.PollOnly() != !plain.bus.DatabaseListens() {
			t.Fatalf("PollOnly %v on a %s bus without WithPollOnly", plain.bus.PollOnly(), testdb.DialectName(plain.store))
		}
	})
}

// A Bus delivers what was published after its Run started, not before.
func TestReadyMarksTheStart(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		a := newReplica(t, dsn)
		if _, err := a.bus.Publish(t.Context(), "t", []byte("before")); err != nil {
			t.Fatal(err)
		}
		b := newReplica(t, dsn)
		c, stop := collect(b.bus, "t")
		defer stop()
		if _, err := a.bus.Publish(t.Context(), "t", []byte("after")); err != nil {
			t.Fatal(err)
		}
		c.waitFor(t, 1)
		// "after" arrived, so a read covered "before" too (a lower id).
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.seq) != 1 || c.seq[0] != "after" {
			t.Fatalf("a bus started after a message received %v", c.seq)
		}
	})
}

// Bad topics and payloads are refused before any SQL, and a stopped
// subscription receives nothing more.
func TestBadInputAndStop(t *testing.T) {
	t.Parallel()
	a := newReplica(t, testdb.SQLiteFile(t), bus.WithMaxPayload(10), bus.WithPollInterval(5*time.Millisecond))
	for _, topic := range []string{"", strings.Repeat("t", msgbus.MaxTopicLength+1), "bad\xff", "nul\x00"} {
		if _, err := a.bus.Publish(t.Context(), topic, nil); !errors.Is(err, msgbus.ErrInvalidMessage) {
			t.Errorf("Publish(%q) = %v; want ErrInvalidMessage", topic, err)
		}
	}
	if _, err := a.bus.Publish(t.Context(), "t", make([]byte, 11)); !errors.Is(err, msgbus.ErrInvalidMessage) {
		t.Errorf("Publish of 11 bytes over a limit of 10 = %v; want ErrInvalidMessage", err)
	}
	c, stop := collect(a.bus, "t")
	if _, err := a.bus.Publish(t.Context(), "t", []byte("one")); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, 1)
	stop()
	marker, stopMarker := collect(a.bus, "marker")
	defer stopMarker()
	if _, err := a.bus.Publish(t.Context(), "t", []byte("two")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.bus.Publish(t.Context(), "marker", nil); err != nil {
		t.Fatal(err)
	}
	marker.waitFor(t, 1) // read after "two"
	if len(c.got) != 1 {
		t.Fatalf("a stopped subscription received %d messages", len(c.got))
	}
	if _, err := bus.New(nil); !errors.Is(err, mcpsession.ErrInvalidOption) {
		t.Errorf("New(nil) = %v; want ErrInvalidOption", err)
	}
	for _, o := range []bus.Option{nil, bus.WithPollInterval(0), bus.WithBackstop(0), bus.WithRetention(time.Millisecond), bus.WithMaxPayload(0), bus.WithLogger(nil)} {
		if _, err := bus.New(a.store, o); !errors.Is(err, mcpsession.ErrInvalidOption) {
			t.Errorf("New with a bad option = %v; want ErrInvalidOption", err)
		}
	}
	if err := a.bus.Run(t.Context()); !errors.Is(err, msgbus.ErrRunning) {
		t.Errorf("a second Run = %v; want ErrRunning", err)
	}
}

// The listener's connection killed (pg_terminate_backend) again and again
// under traffic: nothing is lost, nothing is delivered twice, and the
// listener comes back by itself.
func TestListenerKilledLosesNothing(t *testing.T) {
	t.Parallel()
	dsn := testdb.Postgres(t)
	// No backstop while listening: a lost notification would be a lost
	// message for as long as the listener stays up.
	opts := []bus.Option{bus.WithBackstop(time.Hour), bus.WithPollInterval(20 * time.Millisecond)}
	a, b := newReplica(t, dsn, opts...), newReplica(t, dsn, opts...)
	waitListening(t, b.bus)
	var mu sync.Mutex
	transitions := []bool{}
	back := make(chan struct{}, 1)
	stopWatch := b.bus.OnListening(func(on bool) {
		mu.Lock()
		transitions = append(transitions, on)
		mu.Unlock()
		if on {
			select {
			case back <- struct{}{}:
			default:
			}
		}
	})
	defer stopWatch()
	c, stop := collect(b.bus, "t")
	defer stop()

	// Traffic from a until the kills are done: at least 300 messages.
	pubCtx, stopPublishing := context.WithCancel(t.Context())
	defer stopPublishing()
	published := make(chan int)
	go func() {
		n := 0
		defer func() { published <- n }()
		for ; n < 300 || pubCtx.Err() == nil; n++ {
			if _, err := a.bus.Publish(t.Context(), "t", []byte{byte(n)}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	// Five kills, each of a listener that is up: the next waits until b
	// listens again.
	killed := 0
	for range 5 {
		select { // a return from before this kill
		case <-back:
		default:
		}
		n, err := testdb.KillListeners(t.Context(), a.store.DB())
		if err != nil {
			t.Fatal(err)
		}
		killed += n
		select {
		case <-back:
		case <-time.After(30 * time.Second):
			t.Fatal("the listener was not back within 30s")
		}
	}
	stopPublishing()
	total := <-published
	c.waitFor(t, total)
	if d := c.duplicates(); d != 0 {
		t.Fatalf("%d messages delivered twice", d)
	}
	waitListening(t, b.bus)
	mu.Lock()
	defer mu.Unlock()
	if killed == 0 || len(transitions) < 2 {
		t.Fatalf("killed %d listeners, saw transitions %v; want the listener lost and back", killed, transitions)
	}
	t.Logf("killed %d listener connections; %d messages all delivered once; transitions %v", killed, total, transitions)
}

// Watch hears the wake keys writes send, while the bus listens.
func TestWatchHearsWakeKeys(t *testing.T) {
	t.Parallel()
	dsn := testdb.Postgres(t)
	a := newReplica(t, dsn)
	waitListening(t, a.bus)
	key := driver.WakeKey('e', "some-session")
	heard := make(chan struct{}, 1)
	stop := a.bus.Watch(key, func() {
		select {
		case heard <- struct{}{}:
		default:
		}
	})
	defer stop()
	_, err := a.store.DB().ExecContext(t.Context(),
		`SELECT pg_notify('mcpsession_' || substr(md5(current_schema()), 1, 16), $1)`, key)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-heard:
	case <-time.After(30 * time.Second):
		t.Fatal("the wake key was not heard within 30s")
	}
}

// The listener's connection is its own, outside the store's pool: on a
// pool of one connection the store's calls and the bus's reads still run
// while the bus listens.
func TestListenerOutsideThePool(t *testing.T) {
	t.Parallel()
	s := testdb.OpenStore(t, testdb.Postgres(t))
	s.DB().SetMaxOpenConns(1)
	pub, err := bus.New(s, bus.WithBackstop(time.Hour), bus.WithPollInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	b := (*msgbus.Bus)(pub)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	waitListening(t, b)
	c, stop := collect(b, "t")
	defer stop()
	callCtx, cancelCalls := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancelCalls()
	for i := range 5 {
		if _, err := b.Publish(callCtx, "t", []byte{byte(i)}); err != nil {
			t.Fatalf("Publish %d on a pool of one connection while listening: %v", i, err)
		}
		c.waitFor(t, i+1)
	}
	if err := s.Create(callCtx, mcpsession.NewID(), nil); err != nil {
		t.Fatalf("Create on a pool of one connection while listening: %v", err)
	}
	if n := s.DB().Stats().OpenConnections; n > 1 {
		t.Errorf("the pool has %d connections open; want at most its 1", n)
	}
}
