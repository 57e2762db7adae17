package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// driverOptions shape the clients' population.
type driverOptions struct {
	// sessions is the number of live legacy sessions the generator keeps
	// (made before the timeline starts; kept between half and twice that
	// while it runs); handles likewise for state handles.
	sessions, handles int
	// streams is the most GET streams open at once.
	streams int
	// principals is the number of bearer tokens the clients use.
	principals int
	timeout    time.Duration
	// seeded sessions were bulk-loaded (growth mode): legacy.counter and
	// legacy.whoami also use them, anonymously, in proportion to their
	// number; seededID names the i-th.
	seeded   int64
	seededID func(int64) string
	// expiryExpected: the idle timeout is short (churn), so a session or
	// handle the generator kept may have expired when it uses it again, as
	// a real client's does. Such a call is counted as the operation's
	// "(expired)" outcome and the session or handle dropped, not as an
	// error.
	expiryExpected bool
}

// driver turns arrivals into operations on a fleet, keeping the sessions,
// streams and handles the operations need.
type driver struct {
	client *mcpClient
	mix    *mix
	opts   driverOptions
	rec    atomic.Pointer[recorder]
	tokens []string
	notes  []string

	pool    sessionPool
	handles handlePool

	pending   sync.Map // notify's message → its due time
	pendingN  atomic.Int64
	notified  atomic.Int64
	delivered atomic.Int64

	streamsCtx    context.Context
	cancelStreams context.CancelFunc
	streamWG      sync.WaitGroup
}

func newDriver(url string, m *mix, o driverOptions) *driver {
	d := &driver{client: newMCPClient(url, o.timeout), mix: m, opts: o}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	for i := range max(o.principals, 1) {
		d.tokens = append(d.tokens, "loadgen-"+run+"-"+strconv.Itoa(i))
	}
	d.pool.seeded, d.pool.seededID = o.seeded, o.seededID
	d.handles.limit = max(2*o.handles, 1)
	d.streamsCtx, d.cancelStreams = context.WithCancel(context.Background())
	d.rec.Store(newRecorder(time.Time{}))
	return d
}

// prepare asks the fleet for its tools and drops the operations it cannot
// serve, saying so in notes.
func (d *driver) prepare(ctx context.Context) error {
	tools, err := d.client.listTools(ctx)
	if err != nil {
		return fmt.Errorf("tools/list: %w", err)
	}
	drop := func(op, why string) {
		if d.mix.weights[op] > 0 {
			d.notes = append(d.notes, op+": "+why)
			d.mix = d.mix.without(op)
		}
	}
	for _, p := range []struct {
		tool string
		ops  []string
	}{
		{"counter", []string{opCounter, opHandleNew, opHandleCounter}},
		{"whoami", []string{opWhoami, opSessionlessWhoam}},
		{"notify", []string{opNotify}},
		{"research", []string{opResearch}},
		{"confirm", []string{opConfirm}},
	} {
		if !tools[p.tool] {
			for _, op := range p.ops {
				drop(op, "the server has no "+p.tool+" tool; skipped")
			}
		}
	}
	if len(d.mix.ops) == 0 {
		return errors.New("no operation of -mix can run on this server")
	}
	return nil
}

// prefill makes the sessions, streams and handles of the options before
// the timeline starts (not measured), 16 at a time.
func (d *driver) prefill(ctx context.Context) error {
	type job func(context.Context) error
	var jobs []job
	if d.mix.weights[opInit] > 0 || d.mix.weights[opCounter] > 0 || d.mix.weights[opWhoami] > 0 {
		for range d.opts.sessions {
			jobs = append(jobs, func(ctx context.Context) error { _, err := d.newSession(ctx); return err })
		}
	}
	if d.mix.weights[opHandleCounter] > 0 || d.mix.weights[opHandleNew] > 0 {
		for range d.opts.handles {
			jobs = append(jobs, func(ctx context.Context) error { return d.newHandle(ctx) })
		}
	}
	var (
		failures atomic.Int64
		first    atomic.Value
		wg       sync.WaitGroup
		next     atomic.Int64
	)
	work := func(list []job) {
		next.Store(0)
		for range 16 {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= int64(len(list)) || ctx.Err() != nil {
						return
					}
					if err := list[i](ctx); err != nil {
						failures.Add(1)
						first.CompareAndSwap(nil, err.Error())
					}
				}
			})
		}
		wg.Wait()
	}
	work(jobs)
	if d.mix.weights[opListen] > 0 || d.mix.weights[opNotify] > 0 {
		var streams []job
		for range min(d.opts.streams, d.pool.size()) {
			streams = append(streams, func(ctx context.Context) error {
				s := d.pool.pickToListen()
				if s == nil {
					return nil
				}
				defer d.pool.release(s)
				return d.listen(ctx, s)
			})
		}
		work(streams)
	}
	if n := failures.Load(); n > 0 {
		msg, _ := first.Load().(string)
		if n*10 > int64(len(jobs)+1) {
			return fmt.Errorf("prefill: %d failures, the first: %s", n, msg)
		}
		d.notes = append(d.notes, fmt.Sprintf("prefill: %d failures (first: %s)", n, msg))
	}
	return ctx.Err()
}

// awaitDeliveries waits, up to a second, for the notifications sent to
// arrive; it stops early once none arrived for 200 ms (their streams may
// have ended).
func (d *driver) awaitDeliveries() {
	deadline := time.Now().Add(time.Second)
	last, quietSince := d.pendingN.Load(), time.Now()
	for d.pendingN.Load() > 0 && time.Now().Before(deadline) && time.Since(quietSince) < 200*time.Millisecond {
		time.Sleep(10 * time.Millisecond)
		if n := d.pendingN.Load(); n != last {
			last, quietSince = n, time.Now()
		}
	}
}

// close ends the streams.
func (d *driver) close() {
	d.cancelStreams()
	d.streamWG.Wait()
	d.client.close()
}

func (d *driver) token() string { return d.tokens[rand.IntN(len(d.tokens))] }

// fire runs the arrival's operation and records it.
func (d *driver) fire(ctx context.Context, a arrival) {
	d.do(ctx, d.mix.draw(rand.Float64()), a)
}

func (d *driver) do(ctx context.Context, op string, a arrival) {
	rec := d.rec.Load()
	switch op {
	case opResearch:
		n, err := d.research(ctx)
		rec.record(op, a.Due, n, err)
	case opInit:
		n, err := d.newSession(ctx)
		rec.record(op, a.Due, n, err)
		if d.pool.size() > 2*d.opts.sessions {
			if s := d.pool.takeIdle(); s != nil {
				d.endStream(s)
				rec.record(opAbandon, a.Due, 0, nil)
			}
		}
	case opCounter, opWhoami:
		s := d.pool.pick()
		if s == nil {
			d.do(ctx, opInit, a)
			return
		}
		defer d.pool.release(s)
		who := caller{session: s.id, token: s.token}
		var err error
		if op == opWhoami {
			_, err = d.client.tool(ctx, who, "whoami", nil)
		} else {
			var res toolResult
			if res, err = d.client.tool(ctx, who, "counter", nil); err == nil {
				err = checkCount(res, false)
			}
		}
		d.recordLegacy(rec, op, a, s, err)
	case opListen:
		if d.pool.streamCount() >= d.opts.streams {
			d.do(ctx, opCounter, a)
			return
		}
		s := d.pool.pickToListen()
		if s == nil {
			d.do(ctx, opCounter, a)
			return
		}
		defer d.pool.release(s)
		d.recordLegacy(rec, op, a, s, d.listen(ctx, s))
	case opNotify:
		s := d.pool.pickStreaming()
		if s == nil {
			d.do(ctx, opListen, a)
			return
		}
		defer d.pool.release(s)
		msg := "loadgen " + strconv.FormatInt(a.Seq, 10) + " " + strconv.FormatInt(rand.Int64(), 36)
		d.pending.Store(msg, a.Due)
		d.pendingN.Add(1)
		_, err := d.client.tool(ctx, caller{session: s.id, token: s.token}, "notify", map[string]any{"message": msg})
		if err != nil {
			if _, ok := d.pending.LoadAndDelete(msg); ok {
				d.pendingN.Add(-1)
			}
		} else if !a.Due.Before(rec.from) {
			d.notified.Add(1)
		}
		d.recordLegacy(rec, op, a, s, err)
	case opDelete, opAbandon:
		var s *legacySession
		if d.pool.size() > d.opts.sessions/2 {
			s = d.pool.takeIdle()
		}
		if s == nil {
			d.do(ctx, opCounter, a)
			return
		}
		d.endStream(s)
		if op == opAbandon {
			rec.record(op, a.Due, 0, nil)
			return
		}
		d.recordLegacy(rec, op, a, s, d.client.deleteSession(ctx, caller{session: s.id, token: s.token}))
	case opHandleNew:
		rec.record(op, a.Due, 1, d.newHandle(ctx))
	case opHandleCounter:
		h, ok := d.handles.pick()
		if !ok {
			d.do(ctx, opHandleNew, a)
			return
		}
		res, err := d.client.tool(ctx, caller{token: h.token}, "counter", map[string]any{"handle": h.handle})
		if err == nil {
			err = checkCount(res, true)
		}
		if d.expired(err, "tool error") && strings.Contains(err.Error(), "unknown or expired handle") {
			d.handles.drop(h)
			rec.record(op+" (expired)", a.Due, 1, nil)
			return
		}
		rec.record(op, a.Due, 1, err)
	case opSessionlessWhoam:
		_, err := d.client.tool(ctx, caller{token: d.token()}, "whoami", nil)
		rec.record(op, a.Due, 1, err)
	case opConfirm:
		rec.record(op, a.Due, 2, d.client.confirm(ctx, caller{token: d.token()}, "deploy"))
	}
}

// newSession initializes a session and adds it to the pool; it returns the
// requests it made.
func (d *driver) newSession(ctx context.Context) (int, error) {
	token := d.token()
	id, err := d.client.initialize(ctx, token)
	if id == "" {
		return 1, err
	}
	if err != nil {
		return 2, err
	}
	d.pool.add(&legacySession{id: id, token: token})
	return 2, nil
}

func (d *driver) newHandle(ctx context.Context) error {
	token := d.token()
	res, err := d.client.tool(ctx, caller{token: token}, "counter", nil)
	if err != nil {
		return err
	}
	h, _ := res.structured["handle"].(string)
	if h == "" {
		return failed("unexpected", errors.New("a sessionless counter without a handle returned none"))
	}
	d.handles.add(handleRef{handle: h, token: token})
	return nil
}

// listen opens s's GET stream; the stream's notifications are matched to
// the notify calls that sent them.
func (d *driver) listen(ctx context.Context, s *legacySession) error {
	sctx, cancel := context.WithCancel(d.streamsCtx)
	stop := context.AfterFunc(ctx, cancel) // the request's own bound until it is open
	done, err := d.client.openStream(sctx, caller{session: s.id, token: s.token}, d.onStreamEvent)
	stop()
	if err != nil {
		cancel()
		d.pool.listenFailed(s)
		return err
	}
	d.pool.streamOpened(s, cancel)
	d.streamWG.Go(func() {
		<-done
		d.pool.streamEnded(s)
	})
	return nil
}

func (d *driver) onStreamEvent(data []byte) {
	var msg struct {
		Method string `json:"method"`
		Params struct {
			Data any `json:"data"`
		} `json:"params"`
	}
	if json.Unmarshal(data, &msg) != nil || msg.Method != "notifications/message" {
		return
	}
	text, _ := msg.Params.Data.(string)
	if due, ok := d.pending.LoadAndDelete(text); ok {
		d.pendingN.Add(-1)
		rec := d.rec.Load()
		if !due.(time.Time).Before(rec.from) {
			d.delivered.Add(1)
		}
		rec.recordLatency(deliveryOp, due.(time.Time), time.Since(due.(time.Time)))
	}
}

// endStream closes s's stream, if it has one, on the client's side.
func (d *driver) endStream(s *legacySession) {
	if s.cancel != nil {
		s.cancel()
	}
}

// recordLegacy records a legacy session's call; with expiry expected, a
// 404 (the session expired) drops s and counts as the "(expired)" outcome.
func (d *driver) recordLegacy(rec *recorder, op string, a arrival, s *legacySession, err error) {
	if d.expired(err, "http 404") {
		d.pool.drop(s)
		rec.record(op+" (expired)", a.Due, 1, nil)
		return
	}
	rec.record(op, a.Due, 1, err)
}

// expired reports whether err is the given kind of failure and expiry is
// expected.
func (d *driver) expired(err error, kind string) bool {
	return d.opts.expiryExpected && err != nil && errorKind(err) == kind
}

// checkCount checks a counter's answer: a positive count, and a handle
// when one is expected.
func checkCount(res toolResult, handle bool) error {
	n, _ := res.structured["count"].(float64)
	if n < 1 {
		return failed("unexpected", fmt.Errorf("counter answered %v", res.structured))
	}
	if h, _ := res.structured["handle"].(string); handle && h == "" {
		return failed("unexpected", errors.New("counter on a handle answered no handle"))
	}
	return nil
}

// legacySession is a live session the generator holds.
type legacySession struct {
	id, token string
	seeded    bool
	// Under sessionPool.mu:
	idx, sidx int // positions in live and streaming (-1: not there)
	inflight  int
	listening bool               // a GET is being opened or is open
	cancel    context.CancelFunc // closes the stream
}

// sessionPool holds the live sessions, and the bulk-loaded ones by number.
type sessionPool struct {
	mu        sync.Mutex
	live      []*legacySession
	streaming []*legacySession
	seeded    int64
	seededID  func(int64) string
}

func (p *sessionPool) add(s *legacySession) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s.idx, s.sidx = len(p.live), -1
	p.live = append(p.live, s)
}

func (p *sessionPool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.live)
}

func (p *sessionPool) streamCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.streaming)
}

// pick returns a session for a call, live or bulk-loaded, or nil if there
// is none; release it after.
func (p *sessionPool) pick() *legacySession {
	p.mu.Lock()
	defer p.mu.Unlock()
	total := int64(len(p.live)) + p.seeded
	if total == 0 {
		return nil
	}
	i := rand.Int64N(total)
	if i >= int64(len(p.live)) {
		return &legacySession{id: p.seededID(i - int64(len(p.live))), seeded: true}
	}
	s := p.live[i]
	s.inflight++
	return s
}

func (p *sessionPool) pickStreaming() *legacySession {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.streaming) == 0 {
		return nil
	}
	s := p.streaming[rand.IntN(len(p.streaming))]
	s.inflight++
	return s
}

// pickToListen returns a live session with no stream, marked listening.
func (p *sessionPool) pickToListen() *legacySession {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range 8 {
		if len(p.live) == 0 {
			return nil
		}
		s := p.live[rand.IntN(len(p.live))]
		if !s.listening {
			s.listening = true
			s.inflight++
			return s
		}
	}
	return nil
}

func (p *sessionPool) release(s *legacySession) {
	if s.seeded {
		return
	}
	p.mu.Lock()
	s.inflight--
	p.mu.Unlock()
}

func (p *sessionPool) streamOpened(s *legacySession, cancel context.CancelFunc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s.cancel = cancel
	if s.idx < 0 { // ended while the GET was opening
		cancel()
		return
	}
	s.sidx = len(p.streaming)
	p.streaming = append(p.streaming, s)
}

func (p *sessionPool) listenFailed(s *legacySession) {
	p.mu.Lock()
	s.listening = false
	p.mu.Unlock()
}

func (p *sessionPool) streamEnded(s *legacySession) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropStreaming(s)
	s.listening = false
}

func (p *sessionPool) dropStreaming(s *legacySession) {
	if s.sidx < 0 {
		return
	}
	last := p.streaming[len(p.streaming)-1]
	p.streaming[s.sidx] = last
	last.sidx = s.sidx
	p.streaming = p.streaming[:len(p.streaming)-1]
	s.sidx = -1
}

// drop removes s (in use by the caller, found expired) from the pool; its
// stream, if any, is closed.
func (p *sessionPool) drop(s *legacySession) {
	if s.seeded {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.idx < 0 {
		return
	}
	n := len(p.live)
	last := p.live[n-1]
	p.live[s.idx] = last
	last.idx = s.idx
	p.live = p.live[:n-1]
	s.idx = -1
	p.dropStreaming(s)
	if s.cancel != nil {
		s.cancel()
	}
}

// takeIdle removes and returns a live session no call is using, or nil.
func (p *sessionPool) takeIdle() *legacySession {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.live)
	if n == 0 {
		return nil
	}
	start := rand.IntN(n)
	for k := range n {
		s := p.live[(start+k)%n]
		if s.inflight > 0 || (s.listening && s.cancel == nil) {
			continue // in use, or its GET is opening
		}
		last := p.live[n-1]
		p.live[s.idx] = last
		last.idx = s.idx
		p.live = p.live[:n-1]
		s.idx = -1
		p.dropStreaming(s)
		return s
	}
	return nil
}

// handleRef is a live state handle and its principal's token.
type handleRef struct{ handle, token string }

// handlePool holds up to limit handles; a new one past it replaces one at
// random (that one is left to expire).
type handlePool struct {
	mu    sync.Mutex
	refs  []handleRef
	limit int
}

func (p *handlePool) add(h handleRef) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.refs) >= p.limit {
		p.refs[rand.IntN(len(p.refs))] = h
		return
	}
	p.refs = append(p.refs, h)
}

// drop removes h, found expired.
func (p *handlePool) drop(h handleRef) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := slices.Index(p.refs, h); i >= 0 {
		p.refs[i] = p.refs[len(p.refs)-1]
		p.refs = p.refs[:len(p.refs)-1]
	}
}

func (p *handlePool) pick() (handleRef, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.refs) == 0 {
		return handleRef{}, false
	}
	return p.refs[rand.IntN(len(p.refs))], true
}
