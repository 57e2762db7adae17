package cache

import (
	"container/list"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/internal/cacheprobe"
	"github.com/mcpsession/mcpsession/internal/driver"
	"github.com/mcpsession/mcpsession/internal/jsonvalue"
	"github.com/mcpsession/mcpsession/internal/msgbus"
	"github.com/mcpsession/mcpsession/internal/optional"
	"github.com/mcpsession/mcpsession/internal/testsignal"
)

// topic is the bus topic of invalidations: payloads are words separated by
// spaces, each a key (driver.WakeKey('s', id)) or "*" for all, after the
// publishing Store's origin ("o:" and hex digits), by which a Store knows
// its own messages: it dropped their keys when it wrote. Words of other
// forms are ignored.
const topic = "mcpsession/cache/invalidate"

// originPrefix starts the first word of a payload: the publisher's origin.
const originPrefix = "o:"

// Defaults.
const (
	defaultMaxStaleness = time.Second
	defaultMaxEntries   = 10000
	defaultMaxBytes     = 64 << 20
	// defaultPublishInterval is the least time between two invalidation
	// messages of one Store.
	defaultPublishInterval = 10 * time.Millisecond
	// defaultRefreshAhead is the part of an entry's life, at its end, in
	// which a hit also reads the session again in the background.
	defaultRefreshAhead = 0.2
)

// maxRefreshes bounds the background reads in flight of one Store.
const maxRefreshes = 16

const numShards = 32

// expiryReader is implemented by stores that can say, with a session's
// metadata, how long it has left to live by the database's clock, as
// sqlstore's Store does. Without it an entry lives WithMaxStaleness, capped
// by the store's idle timeout.
type expiryReader interface {
	GetWithTTL(ctx context.Context, id string) (map[string]any, time.Duration, error)
}

// Store is a read cache over a session store, to use in the store's place:
// give it to the adapter (mcpgo.New, gosdk.New) and the janitor instead of
// the store it wraps, on every replica. It has every method of the
// contract; a call the wrapped store does not implement returns an error
// matching mcpsession.ErrUnsupported (ErrModifyUnsupported for Modify,
// ErrHandlesUnsupported for the handle calls). State handles are not
// cached: their calls go straight to the wrapped store. It is safe for
// concurrent use; Close it when done.
type Store interface {
	mcpsession.Store
	mcpsession.Modifier
	mcpsession.Toucher
	mcpsession.Cleaner
	mcpsession.HandleStore
	mcpsession.HandleCleaner
	// Close stops publishing (after sending what is pending, for up to a
	// second) and listening. The wrapped store stays open.
	Close() error
}

// store is the Store New makes.
type store struct {
	origin string // the first word of this Store's messages
	next   mcpsession.Store
	expiry expiryReader
	bus    *msgbus.Bus
	cfg    config

	shards [numShards]shard
	seq    atomic.Uint64 // invalidation clock
	flushd atomic.Uint64 // seq of the last flush of everything
	active atomic.Bool   // caching allowed now

	pending  chan string
	flushes  chan chan struct{}
	stopPub  context.CancelFunc
	pubDone  chan struct{}
	unsub    []func()
	closeErr sync.Once

	// Background reads (refresh ahead): slots bounds them, wg waits for
	// them at Close, bgCtx ends them; bgMu orders a start after Close.
	refreshSlots chan struct{}
	bgMu         sync.Mutex
	bgClosed     bool
	bgWG         sync.WaitGroup
	bgCtx        context.Context
	stopBG       context.CancelFunc

	hits, misses, bypassed, dropped, refreshes atomic.Int64

	// now is the clock entries' lives are measured on: time.Now, or a
	// test's.
	now func() time.Time

	// invalidated fires with each key dropped, "*" when everything is:
	// the moment a test's next read goes to the store.
	invalidated testsignal.Signal[string]
}

// A shard holds the entries and the recent invalidations of the keys that
// hash to it. Entries are found by key (driver.WakeKey of the id), the
// name invalidations use, and checked against the id.
type shard struct {
	mu     sync.Mutex
	byKey  map[string]*entry
	lru    list.List // front: most recently used
	bytes  int
	invAt  map[string]invalidation // key -> the last invalidation
	pruned time.Time
}

type entry struct {
	id, key string
	meta    map[string]any
	expires time.Time
	// refreshAt is when a hit starts reading the session again in the
	// background (refreshing: it has), so that a session in use is read
	// again before its entry ends, not by the request that finds it gone.
	refreshAt  time.Time
	refreshing bool
	size       int
	elem       *list.Element
}

type invalidation struct {
	seq uint64
	at  time.Time
}

type config struct {
	maxStale    time.Duration
	maxEntries  int
	maxBytes    int
	trustPoll   bool
	pubEvery    time.Duration
	refreshPart float64
	logger      *slog.Logger
}

// An Option configures a Store; New validates each.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

// WithMaxStaleness bounds how long an entry is kept, whatever the bus says
// (default 1 s): the longest a write made elsewhere can go
// unseen here when its invalidation is lost or late. At least 1 ms.
func WithMaxStaleness(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d < time.Millisecond {
			return fmt.Errorf("%w: cache.WithMaxStaleness(%v): must be at least 1ms", mcpsession.ErrInvalidOption, d)
		}
		c.maxStale = d
		return nil
	})
}

// WithMaxEntries bounds the number of sessions kept (default
// 10000).
func WithMaxEntries(n int) Option {
	return optionFunc(func(c *config) error {
		if n < numShards {
			return fmt.Errorf("%w: cache.WithMaxEntries(%d): must be at least %d", mcpsession.ErrInvalidOption, n, numShards)
		}
		c.maxEntries = n
		return nil
	})
}

// WithMaxBytes bounds the estimated memory of the kept metadata (default
// 64 MiB).
func WithMaxBytes(n int) Option {
	return optionFunc(func(c *config) error {
		if n < numShards*1024 {
			return fmt.Errorf("%w: cache.WithMaxBytes(%d): must be at least %d", mcpsession.ErrInvalidOption, n, numShards*1024)
		}
		c.maxBytes = n
		return nil
	})
}

// withPublishInterval sets the least time between two invalidation
// messages this Store publishes (default 10 ms): the keys
// of the writes made meanwhile travel together in the next one. A write's
// key so reaches the other replicas up to d later than the bus alone would
// take it, and each message, a row on the bus and a NOTIFY, is shared by
// every write of that interval: on Postgres, one message per Update halved
// the throughput of Updates on one goroutine. 0 publishes as soon as the
// previous message is written (at most 1 s).
func withPublishInterval(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d < 0 || d > time.Second {
			return fmt.Errorf("%w: cache.withPublishInterval(%v): must be from 0 to 1s", mcpsession.ErrInvalidOption, d)
		}
		c.pubEvery = d
		return nil
	})
}

// withRefreshAhead sets the part of an entry's life, at its end, in which a
// hit also reads the session again in the background (default
// 0.2): a session in use then gets a new entry before its
// old one ends, and no request of it waits for the database, at the price
// of reading the sessions in use a little more often (1/(1-part) times as
// often, at most). The hit itself is served from the entry, which is still
// within every bound; the new read is kept under the same rules as a miss's.
// From 0 (never: an entry that ends is read again by the next Get) to 0.5.
func withRefreshAhead(part float64) Option {
	return optionFunc(func(c *config) error {
		if !(part >= 0 && part <= 0.5) { // also refuses NaN
			return fmt.Errorf("%w: cache.withRefreshAhead(%v): must be from 0 to 0.5", mcpsession.ErrInvalidOption, part)
		}
		c.refreshPart = part
		return nil
	})
}

// WithPolledInvalidation keeps caching on Postgres while the bus only polls
// (its listener down, or poll-only behind PgBouncer): invalidations then
// arrive within the bus's poll interval instead of at once, and
// WithMaxStaleness still bounds the rest. By default the Store reads
// through instead.
func WithPolledInvalidation() Option {
	return optionFunc(func(c *config) error {
		c.trustPoll = true
		return nil
	})
}

// WithLogger sets where the Store logs failures to publish invalidations.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: cache.WithLogger(nil)", mcpsession.ErrInvalidOption)
		}
		c.logger = l
		return nil
	})
}

// New returns a cache over next whose invalidations travel on b, a Bus over
// the same database that the caller runs (b.Run). Every replica that writes
// the store should write through a cache over the same bus, or its writes
// are seen elsewhere only after WithMaxStaleness.
func New(next mcpsession.Store, b *bus.Bus, opts ...Option) (Store, error) {
	if next == nil {
		return nil, fmt.Errorf("%w: cache.New: nil store", mcpsession.ErrInvalidOption)
	}
	if b == nil {
		return nil, fmt.Errorf("%w: cache.New: nil bus", mcpsession.ErrInvalidOption)
	}
	cfg := config{maxStale: defaultMaxStaleness, maxEntries: defaultMaxEntries, maxBytes: defaultMaxBytes,
		pubEvery: defaultPublishInterval, refreshPart: defaultRefreshAhead, logger: slog.New(slog.DiscardHandler)}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: cache.New: option %d is nil", mcpsession.ErrInvalidOption, i)
		}
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	if it, ok := next.(optional.IdleTimeouter); ok {
		if idle := it.IdleTimeout(); idle > 0 && idle < cfg.maxStale {
			cfg.maxStale = idle
		}
	}
	mb := (*msgbus.Bus)(b)
	if !mb.DatabaseListens() {
		cfg.trustPoll = true // polling is all there is
	}
	c := &store{origin: originPrefix + newOrigin(), next: next, bus: mb, cfg: cfg, pending: make(chan string, 4096),
		flushes: make(chan chan struct{}), pubDone: make(chan struct{}), refreshSlots: make(chan struct{}, maxRefreshes)}
	c.bgCtx, c.stopBG = context.WithCancel(context.Background())
	c.now = time.Now
	c.expiry, _ = next.(expiryReader)
	for i := range c.shards {
		c.shards[i].byKey = map[string]*entry{}
		c.shards[i].invAt = map[string]invalidation{}
	}
	c.unsub = append(c.unsub, mb.Subscribe(topic, c.received))
	c.unsub = append(c.unsub, mb.OnListening(func(bool) { c.updateActive() }))
	c.updateActive()
	ctx, cancel := context.WithCancel(context.Background())
	c.stopPub = cancel
	go c.publish(ctx)
	return c, nil
}

// Close stops publishing (after sending what is pending, for up to a
// second) and listening. The wrapped store stays open.
func (c *store) Close() error {
	c.closeErr.Do(func() {
		for _, u := range c.unsub {
			u()
		}
		c.stopPub()
		<-c.pubDone
		c.bgMu.Lock()
		c.bgClosed = true
		c.bgMu.Unlock()
		c.stopBG()
		c.bgWG.Wait()
		c.active.Store(false)
		c.flushAll()
	})
	return nil
}

// Stats returns the cache's counters (cacheprobe.Probe).
func (c *store) Stats() cacheprobe.Stats {
	st := cacheprobe.Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), Bypassed: c.bypassed.Load(), Dropped: c.dropped.Load(),
		Refreshes: c.refreshes.Load()}
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		st.Entries += len(sh.byKey)
		sh.mu.Unlock()
	}
	return st
}

// updateActive turns caching on or off as the bus's state says, dropping
// everything at each change: what was cached while invalidations could be
// missed cannot be trusted, and what comes back is read afresh.
func (c *store) updateActive() {
	on := c.cfg.trustPoll || c.bus.Listening()
	if c.active.Swap(on) != on {
		c.flushAll()
	}
}

// shard returns the shard of a key: its first hex digits.
func (c *store) shard(key string) *shard { return &c.shards[shardOf(key)] }

func shardOf[K string | []byte](key K) uint32 {
	var h uint32
	for i := 2; i < 6 && i < len(key); i++ { // after "s:"
		h = h<<4 | uint32(hexDigit(key[i]))
	}
	return h % numShards
}

func hexDigit(b byte) byte {
	if b >= 'a' {
		return b - 'a' + 10
	}
	return b - '0'
}

// Get returns the session's metadata, from memory when a live entry is
// there, else from the wrapped store (keeping it, when it can). The map is
// the caller's.
func (c *store) Get(ctx context.Context, id string) (map[string]any, error) {
	md, hit, err := c.get(ctx, id)
	if hit {
		md = jsonvalue.CopyMap(md)
	}
	return md, err
}

// GetShared is Get without the copy of a cached entry: the map is shared
// with the cache and other callers, and must not be modified (see
// optional.SharedGetter). The cache never modifies an entry's map; a
// write replaces the entry.
func (c *store) GetShared(ctx context.Context, id string) (map[string]any, error) {
	md, _, err := c.get(ctx, id)
	return md, err
}

// get returns the session's metadata and whether it is a cached entry's own
// map (hit), which the caller must not modify; else it is the caller's.
func (c *store) get(ctx context.Context, id string) (_ map[string]any, hit bool, _ error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err // as the store would: the caller gave up
	}
	if !c.active.Load() {
		c.bypassed.Add(1)
		md, err := c.next.Get(ctx, id)
		return md, false, err
	}
	var kb [driver.WakeKeyLen]byte
	kbuf := driver.AppendWakeKey(kb[:0], 's', id) // a hit makes no string of it
	sh := &c.shards[shardOf(kbuf)]
	now := c.now()
	sh.mu.Lock()
	if e := sh.byKey[string(kbuf)]; e != nil && e.id == id {
		if now.Before(e.expires) {
			sh.lru.MoveToFront(e.elem)
			md := e.meta
			refresh := !e.refreshing && !now.Before(e.refreshAt) && c.startRefresh()
			e.refreshing = e.refreshing || refresh
			sh.mu.Unlock()
			c.hits.Add(1)
			if refresh {
				go c.refresh(sh, e)
			}
			return md, true, nil
		}
		sh.remove(e)
	}
	sh.mu.Unlock()
	c.misses.Add(1)

	key := string(kbuf)
	start := c.seq.Load()
	md, left, err := c.read(ctx, id)
	if err != nil {
		return nil, false, err
	}
	c.keep(sh, id, key, md, now, left, start)
	return md, false, nil
}

// read reads the session from the wrapped store, with the time it has left
// by the database's clock when the store can say (else forever).
func (c *store) read(ctx context.Context, id string) (map[string]any, time.Duration, error) {
	if c.expiry != nil {
		return c.expiry.GetWithTTL(ctx, id)
	}
	md, err := c.next.Get(ctx, id)
	return md, time.Duration(math.MaxInt64), err
}

// startRefresh takes a slot for a background read, unless all are taken or
// the Store is closed.
func (c *store) startRefresh() bool {
	c.bgMu.Lock()
	defer c.bgMu.Unlock()
	if c.bgClosed {
		return false
	}
	select {
	case c.refreshSlots <- struct{}{}:
		c.bgWG.Add(1)
		c.refreshes.Add(1)
		return true
	default:
		return false
	}
}

// refresh reads the session of e again and keeps what it reads as a miss
// would. A session found gone loses its entry at once; after an error the
// entry is left to end.
func (c *store) refresh(sh *shard, e *entry) {
	defer c.bgWG.Done()
	defer func() { <-c.refreshSlots }()
	ctx, cancel := context.WithTimeout(c.bgCtx, c.cfg.maxStale)
	defer cancel()
	start := c.seq.Load()
	now := c.now()
	md, left, err := c.read(ctx, e.id)
	switch {
	case err == nil:
		c.keep(sh, e.id, e.key, md, now, left, start)
	case errors.Is(err, mcpsession.ErrNotFound):
		sh.mu.Lock()
		if sh.byKey[e.key] == e {
			sh.remove(e)
		}
		sh.mu.Unlock()
	}
}

// keep stores a copy of md for id, read from a time before readAt with left
// to live, unless an invalidation of id, or of everything, came after the
// read started (at seq start), or caching stopped meanwhile.
func (c *store) keep(sh *shard, id, key string, md map[string]any, readAt time.Time, left time.Duration, start uint64) {
	life := min(left, c.cfg.maxStale)
	expires := readAt.Add(life)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if !c.active.Load() || c.flushd.Load() > start || sh.invAt[key].seq > start || !c.now().Before(expires) {
		return
	}
	if old := sh.byKey[key]; old != nil {
		sh.remove(old)
	}
	e := &entry{id: id, key: key, meta: jsonvalue.CopyMap(md), expires: expires,
		refreshAt: expires.Add(-time.Duration(float64(life) * c.cfg.refreshPart)), size: len(id) + jsonvalue.Size(md)}
	e.elem = sh.lru.PushFront(e)
	sh.byKey[key] = e
	sh.bytes += e.size
	for sh.lru.Len() > c.cfg.maxEntries/numShards || sh.bytes > c.cfg.maxBytes/numShards {
		sh.remove(sh.lru.Back().Value.(*entry))
	}
}

func (sh *shard) remove(e *entry) {
	sh.lru.Remove(e.elem)
	delete(sh.byKey, e.key)
	sh.bytes -= e.size
}

// drop forgets the entry of key, and records the invalidation for reads in
// flight.
func (c *store) drop(key string) {
	sh := c.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e := sh.byKey[key]; e != nil {
		sh.remove(e)
	}
	sh.invAt[key] = invalidation{seq: c.seq.Add(1), at: time.Now()}
	sh.prune(c.cfg.maxStale)
	c.invalidated.Fire(key)
}

// prune forgets invalidations older than any read that could still care.
func (sh *shard) prune(maxStale time.Duration) {
	keep := max(time.Minute, 2*maxStale)
	if time.Since(sh.pruned) < keep {
		return
	}
	sh.pruned = time.Now()
	for k, inv := range sh.invAt {
		if time.Since(inv.at) > keep {
			delete(sh.invAt, k)
		}
	}
}

func (c *store) flushAll() {
	c.flushd.Store(c.seq.Add(1))
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		clear(sh.byKey)
		sh.lru.Init()
		sh.bytes = 0
		sh.mu.Unlock()
	}
	c.invalidated.Fire("*")
}

// invalidate drops id here and announces it to the other replicas.
func (c *store) invalidate(id string) {
	key := driver.WakeKey('s', id)
	c.drop(key)
	select {
	case c.pending <- key:
	default:
		c.dropped.Add(1) // the publisher is stuck; MaxStaleness bounds it
	}
}

// received handles an invalidation from the bus (ours included).
func (c *store) received(m msgbus.Message) {
	words := string(m.Payload)
	if first, _, _ := strings.Cut(words, " "); first == c.origin {
		return // written here, and dropped here then
	}
	for w := range strings.FieldsSeq(words) {
		switch {
		case w == "*":
			c.flushAll()
		case strings.HasPrefix(w, originPrefix):
		default:
			c.drop(w)
		}
	}
}

// newOrigin returns 16 random hex digits.
func newOrigin() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// publish sends the pending keys: the first at once when the Store has
// been quiet for the publish interval, and otherwise, once the interval
// since the last message has passed, everything that arrived meanwhile in
// one message (up to most keys: a full message goes at once). Under load
// one message carries the writes of a whole interval, so that invalidation
// costs a write little; at rest it costs no wait. A Flush sends what is
// pending at once.
func (c *store) publish(ctx context.Context) {
	defer close(c.pubDone)
	const most = 400 // keys per message: ~7 KB
	batch := make([]string, 0, most)
	var last time.Time // when the last message was sent
	send := func(ctx context.Context) {
		last = time.Now()
		_, err := c.bus.Publish(ctx, topic, []byte(c.origin+" "+strings.Join(batch, " ")))
		if err != nil {
			c.dropped.Add(int64(len(batch)))
			c.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "cache: publishing invalidations failed; other replicas see the writes within the max staleness",
				slog.Int("keys", len(batch)), slog.String("error", err.Error()))
		}
		batch = batch[:0]
	}
	// drain moves what is waiting into the batch, without waiting.
	drain := func() {
		for len(batch) < most {
			select {
			case k := <-c.pending:
				batch = append(batch, k)
			default:
				return
			}
		}
	}
	flush := func(done chan struct{}) {
		for drain(); len(batch) > 0; drain() {
			send(ctx)
		}
		close(done)
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		if len(batch) > 0 {
			// Keys wait for the interval to pass, or for the batch to fill.
			wait := c.cfg.pubEvery - time.Since(last)
			if drain(); wait <= 0 || len(batch) >= most {
				send(ctx)
				continue
			}
			timer.Reset(wait)
			select {
			case <-ctx.Done():
			case <-timer.C:
				drain()
				send(ctx)
			case k := <-c.pending:
				batch = append(batch, k)
			case done := <-c.flushes:
				flush(done)
			}
			timer.Stop()
			if ctx.Err() == nil {
				continue
			}
		}
		select {
		case <-ctx.Done():
			// Closing: send what is pending, for a second at most.
			fctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			for drain(); len(batch) > 0 && fctx.Err() == nil; drain() {
				send(fctx)
			}
			return
		case k := <-c.pending:
			batch = append(batch, k)
		case done := <-c.flushes:
			flush(done)
		}
	}
}

// Flush returns once the invalidations of the writes made through c before
// the call have been published, or when ctx ends (cacheprobe.Probe).
func (c *store) Flush(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case c.flushes <- done:
	case <-c.pubDone:
		return nil // closed: Close sent what was pending
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
