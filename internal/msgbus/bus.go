package msgbus

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/backoff"
	"github.com/mcpsession/mcpsession/internal/driver"
	"github.com/mcpsession/mcpsession/internal/executor"
	"github.com/mcpsession/mcpsession/sqlstore"
)

var (
	// ErrInvalidMessage means Publish was given a topic or payload it
	// cannot carry: an empty topic, one over MaxTopicLength bytes or not
	// valid UTF-8 without U+0000, or a payload over the limit. It matches
	// mcpsession.ErrInvalidArgument too.
	ErrInvalidMessage = fmt.Errorf("%w: bus: invalid message", mcpsession.ErrInvalidArgument)

	// ErrRunning means Run was called while another Run of the same Bus
	// had not returned.
	ErrRunning = errors.New("bus: already running")
)

// MaxTopicLength is the longest topic, in bytes.
const MaxTopicLength = 1024

// A Message is what Publish stored and a subscriber receives.
type Message struct {
	// ID orders the messages of a database; a receiver that must not act
	// twice on one message can remember it.
	ID      int64
	Topic   string
	Payload []byte
}

// readBatch is how many messages one read returns at most.
const readBatch = 500

// maxGaps bounds the skipped ids a Bus looks for again.
const maxGaps = 4096

// Reconnection of the listener: the first wait, the longest, and how often
// an idle listener checks its connection.
const (
	minReconnect = 50 * time.Millisecond
	maxReconnect = 5 * time.Second
	pingEvery    = 5 * time.Second
	pingTimeout  = 5 * time.Second
)

// A Bus publishes messages to, and delivers messages from, the replicas of
// one store. It is safe for concurrent use; Run reads.
type Bus struct {
	x   *executor.Executor
	q   driver.BusStatements
	cfg Config

	mu       sync.Mutex
	topics   map[string]map[*handler]struct{}
	wakes    map[string]map[*handler]struct{}
	watchers map[*stateWatcher]struct{}

	running   atomic.Bool
	listening atomic.Bool
	ready     chan struct{}
	readyOnce sync.Once

	// Run's goroutine alone reads and writes these.
	cursor   int64
	gaps     map[int64]time.Time
	lastTrim time.Time

	lastError atomic.Int64 // unix nanoseconds of the last failure logged
}

type handler struct {
	msg  func(Message)
	wake func()
}

type stateWatcher struct{ fn func(listening bool) }

// New returns a Bus over store's database, whose migrations hold its
// table, configured by cfg (Defaults, changed by package bus's options). It
// starts nothing: call Run.
func New(store *sqlstore.Store, cfg Config) *Bus {
	x := executor.Of(store)
	if x.Config().TransactionPooled {
		cfg.PollOnly = true
	}
	return &Bus{
		x:        x,
		q:        x.Statements().Bus,
		cfg:      cfg,
		topics:   map[string]map[*handler]struct{}{},
		wakes:    map[string]map[*handler]struct{}{},
		watchers: map[*stateWatcher]struct{}{},
		ready:    make(chan struct{}),
		gaps:     map[int64]time.Time{},
	}
}

// Publish stores a message for every replica's subscribers of topic and
// returns its id. The message is delivered once it is committed, that is
// when Publish returns.
func (b *Bus) Publish(ctx context.Context, topic string, payload []byte) (int64, error) {
	if err := checkTopic(topic); err != nil {
		return 0, err
	}
	if len(payload) > b.cfg.MaxPayload {
		return 0, fmt.Errorf("%w: payload of %d bytes, the limit is %d", ErrInvalidMessage, len(payload), b.cfg.MaxPayload)
	}
	if payload == nil {
		payload = []byte{}
	}
	var id int64
	if err := b.x.WriteRow(ctx, "bus: publish", b.q.Publish, []any{topic, payload}, &id); err != nil {
		return 0, err
	}
	return id, nil
}

func checkTopic(topic string) error {
	switch {
	case topic == "":
		return fmt.Errorf("%w: empty topic", ErrInvalidMessage)
	case len(topic) > MaxTopicLength:
		return fmt.Errorf("%w: topic of %d bytes, the limit is %d", ErrInvalidMessage, len(topic), MaxTopicLength)
	case !utf8.ValidString(topic):
		return fmt.Errorf("%w: topic is not valid UTF-8", ErrInvalidMessage)
	}
	for i := 0; i < len(topic); i++ {
		if topic[i] == 0 {
			return fmt.Errorf("%w: topic holds U+0000", ErrInvalidMessage)
		}
	}
	return nil
}

// Subscribe calls fn with every message of topic this Bus reads, on Run's
// goroutine, one at a time: fn must return quickly (hand the message over,
// do not wait for the network). A panic in fn is logged and the Bus goes on.
// The returned function stops the subscription.
func (b *Bus) Subscribe(topic string, fn func(Message)) (stop func()) {
	h := &handler{msg: fn}
	return b.add(b.topics, topic, h)
}

// Watch calls fn each time a write sends the wake key (eventstore.WakeKey),
// on the listener's goroutine; fn must return quickly. Wake keys arrive
// only while the Bus is Listening: they are hints, so a watcher must also
// look for itself now and then. The returned function stops it.
func (b *Bus) Watch(key string, fn func()) (stop func()) {
	h := &handler{wake: fn}
	return b.add(b.wakes, key, h)
}

func (b *Bus) add(m map[string]map[*handler]struct{}, key string, h *handler) func() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if m[key] == nil {
		m[key] = map[*handler]struct{}{}
	}
	m[key][h] = struct{}{}
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(m[key], h)
		if len(m[key]) == 0 {
			delete(m, key)
		}
	}
}

// DatabaseListens reports whether the store's database can wake a Bus at
// all (Postgres can; SQLite cannot, and every Bus on it polls). It says
// nothing of this Bus's options or its listener's state: see Listening.
func (b *Bus) DatabaseListens() bool { return b.x.Driver().Listens() }

// PollOnly reports whether the Bus never LISTENs, whatever its listener's
// state: on SQLite, with WithPollOnly, or over a store whose connections go
// through a pooler in transaction mode (sqlstore.WithTransactionPooling).
// Writers that wake readers with keys (Watch) then know that nobody hears
// the keys, and can publish a message instead.
func (b *Bus) PollOnly() bool { return b.cfg.PollOnly || !b.x.Driver().Listens() }

// Listening reports whether notifications reach the Bus now: its listener
// is connected and LISTENing. While it is not, messages arrive by polling,
// and wake keys not at all.
func (b *Bus) Listening() bool { return b.listening.Load() }

// OnListening calls fn with the new state each time Listening changes, on
// the listener's goroutine. The returned function stops it.
func (b *Bus) OnListening(fn func(listening bool)) (stop func()) {
	w := &stateWatcher{fn: fn}
	b.mu.Lock()
	b.watchers[w] = struct{}{}
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		delete(b.watchers, w)
		b.mu.Unlock()
	}
}

// Ready returns a channel that is closed once Run has found where the bus
// stands: every message published after that is delivered.
func (b *Bus) Ready() <-chan struct{} { return b.ready }

// Run reads the bus and delivers its messages until ctx ends, then returns
// nil. It LISTENs on a connection of its own where the database can
// (outside the store's pool, opened with the settings of its connections:
// one more server connection for as long as it runs), and polls. Failures
// are logged and retried; Run returns early only with ErrRunning, when
// another Run of b has not returned.
func (b *Bus) Run(ctx context.Context) error {
	if !b.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer b.running.Store(false)
	for delay := minReconnect; ; delay = min(2*delay, maxReconnect) {
		err := b.start(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		b.logFailure(ctx, "bus: cannot read the bus position; retrying", err)
		if !backoff.Sleep(ctx, jitter(delay)) {
			return nil
		}
	}
	b.readyOnce.Do(func() { close(b.ready) })

	wake := make(chan struct{}, 1)
	var wg sync.WaitGroup
	if !b.cfg.PollOnly {
		wg.Go(func() { b.listen(ctx, wake) })
	}
	defer wg.Wait()
	for {
		interval := b.cfg.PollInterval
		if b.listening.Load() {
			interval = b.cfg.Backstop
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-wake:
		case <-t.C:
		}
		t.Stop()
		if err := b.poll(ctx); err != nil && ctx.Err() == nil {
			b.logFailure(ctx, "bus: reading messages failed; retrying", err)
		}
		b.trim(ctx)
	}
}

// start sets the cursor to the last message there is.
func (b *Bus) start(ctx context.Context) error {
	var last int64
	if err := b.x.QueryRow(ctx, "bus: read position", b.q.Last, nil, &last); err != nil {
		return b.x.Wrap(ctx, "bus: read position", err)
	}
	b.cursor = last
	return nil
}

// poll delivers the late commits it was waiting for, then what is new.
func (b *Bus) poll(ctx context.Context) error {
	if len(b.gaps) > 0 {
		if err := b.readGaps(ctx); err != nil {
			return err
		}
	}
	for {
		n, err := b.readAfter(ctx)
		if err != nil || n < readBatch {
			return err
		}
	}
}

func (b *Bus) readAfter(ctx context.Context) (int, error) {
	msgs, err := b.fetchAfter(ctx)
	if err != nil {
		return 0, err
	}
	// A message waited for (a gap) that committed before one of msgs was
	// written is visible now: deliver it first, so that one publisher's
	// messages arrive in the order it published them.
	if len(msgs) > 0 && len(b.gaps) > 0 {
		if err := b.readGaps(ctx); err != nil {
			return 0, err
		}
	}
	now := time.Now()
	for _, m := range msgs {
		// Ids skipped may belong to transactions not yet committed.
		for id := max(b.cursor+1, m.ID-maxGaps); id < m.ID; id++ {
			if len(b.gaps) < maxGaps {
				b.gaps[id] = now
			}
		}
		b.cursor = m.ID
		b.deliver(ctx, m)
	}
	return len(msgs), nil
}

// fetchAfter reads up to readBatch messages after the cursor.
func (b *Bus) fetchAfter(ctx context.Context) ([]Message, error) {
	rows, err := b.x.Query(ctx, "bus: read", b.q.Read, b.cursor, readBatch)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var msgs []Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, b.x.Wrap(ctx, "bus: read", err)
		}
		msgs = append(msgs, m)
	}
	return msgs, b.x.Wrap(ctx, "bus: read", rows.Err())
}

func (b *Bus) readGaps(ctx context.Context) error {
	ids := make([]int64, 0, len(b.gaps))
	for id, since := range b.gaps {
		if time.Since(since) > b.cfg.GapTimeout {
			delete(b.gaps, id) // rolled back, or trimmed: not coming
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	rows, err := b.x.Query(ctx, "bus: read late messages", b.q.ReadIDs, string(list))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return b.x.Wrap(ctx, "bus: read late messages", err)
		}
		delete(b.gaps, m.ID)
		b.deliver(ctx, m)
	}
	return b.x.Wrap(ctx, "bus: read late messages", rows.Err())
}

func scanMessage(rows *sql.Rows) (Message, error) {
	var m Message
	err := rows.Scan(&m.ID, &m.Topic, &m.Payload)
	return m, err
}

// deliver hands m to the subscribers of its topic.
func (b *Bus) deliver(ctx context.Context, m Message) {
	b.mu.Lock()
	hs := make([]*handler, 0, len(b.topics[m.Topic]))
	for h := range b.topics[m.Topic] {
		hs = append(hs, h)
	}
	b.mu.Unlock()
	for _, h := range hs {
		b.call(ctx, func() { h.msg(m) })
	}
}

func (b *Bus) call(ctx context.Context, fn func()) {
	defer func() {
		if r := recover(); r != nil {
			b.cfg.Logger.LogAttrs(ctx, slog.LevelError, "bus: a subscriber panicked", slog.Any("panic", r))
		}
	}()
	fn()
}

// trim deletes old messages, a few times per retention period.
func (b *Bus) trim(ctx context.Context) {
	if time.Since(b.lastTrim) < b.cfg.Retention/4 {
		return
	}
	b.lastTrim = time.Now()
	for {
		n, err := b.x.Exec(ctx, "bus: trim", b.q.Trim, b.cfg.Retention.Milliseconds(), 1000)
		if err != nil {
			if ctx.Err() == nil {
				b.logFailure(ctx, "bus: deleting old messages failed", err)
			}
			return
		}
		if n < 1000 {
			return
		}
	}
}

// listen keeps a listener connected, waking the reader for each message
// and calling the watchers of each wake key, until ctx ends.
func (b *Bus) listen(ctx context.Context, wake chan<- struct{}) {
	for delay := minReconnect; ctx.Err() == nil; {
		l, err := b.x.Driver().Listen(ctx, b.x.DB())
		if errors.Is(err, driver.ErrNoListen) {
			return // SQLite: the reader polls
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			b.logFailure(ctx, "bus: cannot LISTEN; polling meanwhile", err)
			if !backoff.Sleep(ctx, jitter(delay)) {
				return
			}
			delay = min(2*delay, maxReconnect)
			continue
		}
		delay = minReconnect
		b.setListening(true)
		signal(wake) // read what arrived while nobody listened
		err = b.serve(ctx, l, wake)
		_ = l.Close()
		b.setListening(false)
		if ctx.Err() != nil {
			return
		}
		b.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "bus: listener lost; polling until it is back", attrError(err))
		signal(wake)
	}
}

// serve waits for notifications on l until its connection breaks or ctx
// ends, pinging it while idle.
func (b *Bus) serve(ctx context.Context, l driver.Listener, wake chan<- struct{}) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, pingEvery)
		payload, err := l.Wait(wctx)
		cancel()
		switch {
		case err == nil:
			if _, isID := strconv.ParseInt(payload, 10, 64); isID == nil {
				signal(wake)
			} else {
				b.wakeWatchers(ctx, payload)
			}
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			pctx, cancel := context.WithTimeout(ctx, pingTimeout)
			err := l.Ping(pctx)
			cancel()
			if err != nil {
				return err
			}
		default:
			return err
		}
	}
}

func (b *Bus) wakeWatchers(ctx context.Context, key string) {
	b.mu.Lock()
	hs := make([]*handler, 0, len(b.wakes[key]))
	for h := range b.wakes[key] {
		hs = append(hs, h)
	}
	b.mu.Unlock()
	for _, h := range hs {
		b.call(ctx, h.wake)
	}
}

func (b *Bus) setListening(on bool) {
	if b.listening.Swap(on) == on {
		return
	}
	b.mu.Lock()
	ws := make([]*stateWatcher, 0, len(b.watchers))
	for w := range b.watchers {
		ws = append(ws, w)
	}
	b.mu.Unlock()
	for _, w := range ws {
		b.call(context.Background(), func() { w.fn(on) })
	}
}

// logFailure logs a failure at most once a second, without payloads.
func (b *Bus) logFailure(ctx context.Context, msg string, err error) {
	now := time.Now().UnixNano()
	last := b.lastError.Load()
	if now-last < int64(time.Second) || !b.lastError.CompareAndSwap(last, now) {
		return
	}
	b.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, msg, attrError(err))
}

func attrError(err error) slog.Attr {
	if err == nil {
		return slog.Attr{}
	}
	return slog.String("error", err.Error())
}

// jitter returns d made up to a fifth shorter or longer, so that replicas
// that lost the database together do not come back together.
func jitter(d time.Duration) time.Duration { return backoff.Jitter(float64(d), 0.2, rand.Float64()) }

func signal(c chan<- struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
