package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/events"
)

// HeaderLastEventID is the header a client resumes a stream with.
const HeaderLastEventID = "Last-Event-ID"

// follower is one stream served on this replica.
type follower struct {
	wakeC   chan struct{}
	endC    chan struct{}
	endOnce sync.Once
	stream  string // set before the follower is registered
	token   string // unique across replicas
	// published is the id of the bus message by which the follower
	// superseded the stream's older ones (Config.Supersede); math.MaxInt64
	// until it has one, so that no message ends it meanwhile.
	published atomic.Int64
}

func (f *follower) wake() {
	select {
	case f.wakeC <- struct{}{}:
	default:
	}
}

func (f *follower) end() { f.endOnce.Do(func() { close(f.endC) }) }

// wake wakes the followers of session's streams.
func (r *Relay) wake(session string) {
	r.mu.Lock()
	fs := make([]*follower, 0, len(r.followers[session]))
	for f := range r.followers[session] {
		fs = append(fs, f)
	}
	r.mu.Unlock()
	for _, f := range fs {
		f.wake()
	}
}

// ServeGET serves a session's GET, which the adapter has checked: with a
// Last-Event-ID, the stream that event belongs to, replayed after it, then
// followed until its end (a POST's stream ends with its response); without
// one, the session's standalone stream from now on, after a priming event
// that gives the client an id to resume from (a comment instead, with
// Config.CommentFirst: the priming entry is stored either way), and after
// what was sent to it since the previous GET opened it (see undelivered).
// With Config.Deliveries, a GET without Last-Event-ID writes no priming
// event and sends first what no stream sent before, exactly (see
// DeliveryMark). With Config.Supersede, a GET ends the other streams of
// the stream it opens, on every replica. A GET resuming a POST's stream
// whose response the client already has gets the rest and its end.
// Streams end too when the session is deleted on any replica, when ctx
// ends (the adapter cancels it once the session expires), and at Shutdown.
//
// An unknown or malformed Last-Event-ID is 400, as is one whose successors
// were dropped (the per-session bound of the event store); a store failure
// is 503; a session gone meanwhile is 404.
func (r *Relay) ServeGET(w http.ResponseWriter, req *http.Request, session string) {
	ctx := req.Context()
	f := &follower{wakeC: make(chan struct{}, 1), endC: make(chan struct{}), token: NewToken()}
	f.published.Store(math.MaxInt64)
	last := req.Header.Get(HeaderLastEventID)
	stream, pos := Standalone, int64(-1)
	var resolveErr error
	if last != "" {
		stream, pos, resolveErr = r.cfg.ResolveEventID(ctx, session, last)
	}
	f.stream = stream
	r.mu.Lock()
	if r.followers[session] == nil {
		r.followers[session] = make(map[*follower]struct{})
	}
	r.followers[session][f] = struct{}{}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.followers[session], f)
		if len(r.followers[session]) == 0 {
			delete(r.followers, session)
		}
		r.mu.Unlock()
	}()
	defer r.cfg.Bus.Watch(events.WakeKey(session), f.wake)()

	// marked: this stream's deliveries are recorded in the session's
	// DeliveryMark (Config.Deliveries), so that a fresh GET sends what no
	// stream sent, and only that.
	marked := stream == Standalone && r.cfg.Deliveries != nil
	var first []events.Event
	var prime *events.Event
	answered := false // a POST's stream whose response the client has: replay, then end
	switch {
	case last != "":
		err := resolveErr
		if err == nil {
			first, err = r.cfg.Events.After(ctx, session, stream, pos)
		}
		if err == nil && stream != Standalone {
			answered = r.answered(ctx, session, stream, pos)
		}
		if err == nil && marked {
			_, err = r.take(ctx, session, f)
		}
		switch {
		case r.cfg.ReplayRefused != "" && (errors.Is(err, ErrUnknownEventID) || errors.Is(err, events.ErrUnknownStream) || errors.Is(err, events.ErrPurged)):
			http.Error(w, r.cfg.ReplayRefused, http.StatusBadRequest)
			return
		case errors.Is(err, ErrUnknownEventID), errors.Is(err, events.ErrUnknownStream):
			http.Error(w, "Bad Request: unknown Last-Event-ID", http.StatusBadRequest)
			return
		case errors.Is(err, events.ErrPurged):
			http.Error(w, "Bad Request: the events after Last-Event-ID were dropped", http.StatusBadRequest)
			return
		case errors.Is(err, mcpsession.ErrNotFound):
			http.Error(w, "Session not found", http.StatusNotFound)
			return
		case err != nil:
			r.warn(ctx, "resuming a stream failed", err)
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
			return
		}
	case marked:
		// Quiet, as mcp-go's own GET stream: no priming event; first what
		// no stream sent yet, then what comes.
		err := r.cfg.Events.Open(ctx, session, Standalone)
		if err == nil {
			pos, err = r.take(ctx, session, f)
		}
		if err == nil {
			first, err = r.undeliveredSince(ctx, session, pos)
		}
		switch {
		case errors.Is(err, mcpsession.ErrNotFound):
			http.Error(w, "Session not found", http.StatusNotFound)
			return
		case err != nil:
			r.warn(ctx, "opening a stream failed", err)
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
			return
		}
	default:
		ev, err := r.cfg.Events.Append(ctx, session, Standalone, nil)
		switch {
		case errors.Is(err, mcpsession.ErrNotFound):
			http.Error(w, "Session not found", http.StatusNotFound)
			return
		case err != nil:
			r.warn(ctx, "opening a stream failed", err)
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
			return
		}
		// What was sent to the standalone stream before this priming
		// entry and since the previous one (or ever, before the first),
		// which no client can have: a server-to-client request or a
		// notification made while no GET had it open. The SDKs hold such
		// messages for the next GET too. Read after the priming entry is
		// written, so that nothing falls between the two.
		if first, err = r.undelivered(ctx, session, ev.Pos); err != nil {
			r.warn(ctx, "opening a stream failed", err)
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
			return
		}
		prime, pos = &ev, ev.Pos
	}
	if r.cfg.Supersede {
		r.supersede(ctx, session, f)
	}

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache, no-transform")
	h.Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	switch {
	case prime != nil && !r.cfg.CommentFirst:
		if writeEvent(w, "prime", r.cfg.EventID(stream, *prime), nil) != nil {
			return
		}
	case marked && last == "":
	default:
		// A comment, so that proxies pass the headers on (go-sdk does the
		// same).
		if _, err := w.Write([]byte(": ok\n\n")); err != nil {
			return
		}
	}
	_ = rc.Flush()

	pending := first
	replay := last != "" // a resumption's first events go out whoever sent them before
	idle := time.Now()
	for {
		if marked && len(pending) > 0 {
			through := pending[len(pending)-1].Pos
			before, err := r.claim(ctx, session, f, through)
			switch {
			case errors.Is(err, errSuperseded):
				return
			case err != nil:
				if ctx.Err() == nil {
					r.warn(ctx, "recording a stream's delivery failed; retrying", err)
				}
				pending = nil
			case !replay:
				i := 0
				for i < len(pending) && pending[i].Pos <= before {
					i++
				}
				pos, pending = max(pos, before), pending[i:]
			}
		}
		replay = false
		for _, ev := range pending {
			pos = ev.Pos
			if ev.Data == nil {
				continue // a priming entry: nothing to send
			}
			if writeEvent(w, "message", r.cfg.EventID(stream, ev), ev.Data) != nil {
				return
			}
			idle = time.Now()
			if stream != Standalone && isResponse(ev.Data) {
				_ = rc.Flush()
				return // a POST's stream ends with its response
			}
		}
		if len(pending) > 0 {
			if rc.Flush() != nil {
				return
			}
		}
		if answered {
			return // nothing more will come: the SDKs end such a stream at once
		}
		if time.Since(idle) >= keepaliveEvery {
			if _, err := w.Write([]byte(": keepalive\n\n")); err != nil || rc.Flush() != nil {
				return
			}
			idle = time.Now()
		}
		t := time.NewTimer(r.followInterval())
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-r.down.Done():
			t.Stop()
			return
		case <-f.endC:
			t.Stop()
			return
		case <-f.wakeC:
		case <-t.C:
		}
		t.Stop()
		evs, err := r.cfg.Events.After(ctx, session, stream, pos)
		switch {
		case errors.Is(err, events.ErrUnknownStream):
			return // gone with the session
		case errors.Is(err, events.ErrPurged) && marked:
			// Dropped by the bound before any stream sent them: go on
			// with what is kept.
			evs, err = r.undeliveredSince(ctx, session, pos)
		case errors.Is(err, events.ErrPurged):
			r.warn(ctx, "a stream's follower fell behind the event store's bound; the stream ends", err)
			return
		}
		if err != nil {
			if ctx.Err() == nil {
				r.warn(ctx, "reading a stream failed; retrying", err)
			}
			pending = nil
			continue
		}
		pending = evs
	}
}

// answered reports whether the response of a POST's stream is among its
// events up to pos, the last the client saw: the stream is over, and a GET
// resuming it gets what follows pos (nothing, or what was written after
// the response) and then its end, not a wait for an answer already sent.
// When the stream's first events were dropped it cannot tell, and reports
// false: the follower then waits as for a live stream.
func (r *Relay) answered(ctx context.Context, session, stream string, pos int64) bool {
	evs, err := r.cfg.Events.After(ctx, session, stream, -1)
	if err != nil {
		return false
	}
	for _, ev := range evs {
		if ev.Pos > pos {
			break
		}
		if ev.Data != nil && isResponse(ev.Data) {
			return true
		}
	}
	return false
}

// undelivered returns the standalone stream's events before position
// before and after the priming entry before that (each GET without
// Last-Event-ID writes one), or all those kept when there is none: what
// was sent while no GET had opened it since. A client that reconnects
// without Last-Event-ID may get some twice, which "at least once" allows;
// one that resumes gets them from its event id.
func (r *Relay) undelivered(ctx context.Context, session string, before int64) ([]events.Event, error) {
	return r.cfg.Events.SincePriming(ctx, session, Standalone, before)
}

// followInterval is how long a follower waits for a wake-up before it
// reads anyway.
func (r *Relay) followInterval() time.Duration {
	if !r.cfg.Bus.PollOnly() && !r.cfg.Bus.Listening() {
		return followPoll
	}
	return followBackstop
}

// writeEvent writes one SSE event. Data is one JSON value: lines it may
// hold (whitespace, to JSON) are sent as data lines of their own.
func writeEvent(w http.ResponseWriter, name, id string, data []byte) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "event: %s\n", name)
	if id != "" {
		fmt.Fprintf(&b, "id: %s\n", id)
	}
	if len(data) == 0 {
		b.WriteString("data: \n")
	}
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		if len(data) == 0 {
			break
		}
		b.WriteString("data: ")
		b.Write(bytes.TrimSuffix(line, []byte("\r")))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// isResponse reports whether data is a JSON-RPC response.
func isResponse(data []byte) bool {
	var a answer
	return json.Unmarshal(data, &a) == nil && a.isResponse()
}

// Following returns how many GET streams of session this replica serves
// now: a test's signal that a stream its client closed has ended here
// too, so that what is sent next goes to no stream.
func (r *Relay) Following(session string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.followers[session])
}
