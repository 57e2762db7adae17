package relay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"

	"github.com/mcpsession/mcpsession/internal/events"
	"github.com/mcpsession/mcpsession/internal/msgbus"
)

// A DeliveryMark is what the session keeps of its standalone stream's
// delivery (Config.Deliveries): the GET stream that serves it now, and the
// position of the last event a GET stream has sent.
type DeliveryMark struct {
	Owner string `json:"owner,omitempty"`
	Pos   int64  `json:"pos"`
}

// NoDelivery is the mark of a session whose standalone stream no GET has
// served yet.
var NoDelivery = DeliveryMark{Pos: -1}

// topicSuperseded ends the other replicas' streams of a stream a client
// opened again (Config.Supersede).
const topicSuperseded = "mcpsession/superseded"

// supersession is the payload of a topicSuperseded message.
type supersession struct {
	Session string `json:"session"`
	Stream  string `json:"stream"`
	Token   string `json:"token"` // the stream that stays
}

// NewToken returns a random token, unique across replicas: a follower's,
// or an adapter's request id.
func NewToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails
	return hex.EncodeToString(b[:])
}

// supersede ends every other follower of f's stream that opened before
// it: this replica's at once, the others' when the bus brings them the
// message. The message's id orders the followers: one whose own message
// came before (or none yet) is older; a message that comes late (a GET
// opened before f, whose news is slow) ends nothing newer.
func (r *Relay) supersede(ctx context.Context, session string, f *follower) {
	payload, err := json.Marshal(supersession{Session: session, Stream: f.stream, Token: f.token})
	var id int64
	if err == nil {
		id, err = r.cfg.Bus.Publish(ctx, topicSuperseded, payload)
	}
	if err != nil {
		if ctx.Err() == nil {
			r.warn(ctx, "telling the other replicas of a stream opened again failed; theirs end at their next event", err)
		}
		id = math.MaxInt64 // the others' followers end at their next event (Deliveries); this replica's here
	} else {
		f.published.Store(id)
	}
	r.endOthers(session, f.stream, f.token, id)
	if r.cfg.StreamOpened != nil {
		r.cfg.StreamOpened(session, f.stream) // here at once; the others hear the bus
	}
}

// onSuperseded ends this replica's followers of a stream opened again
// elsewhere, that opened before it.
func (r *Relay) onSuperseded(m msgbus.Message) {
	var s supersession
	if json.Unmarshal(m.Payload, &s) != nil || s.Session == "" || s.Token == "" {
		return
	}
	r.endOthers(s.Session, s.Stream, s.Token, m.ID)
	if r.cfg.StreamOpened != nil && !r.followsLocally(s.Session, s.Token) {
		r.goWork(func() { r.cfg.StreamOpened(s.Session, s.Stream) })
	}
}

// followsLocally reports whether the follower with token is this
// replica's, which told its StreamOpened already: a replica hears its own
// bus messages too.
func (r *Relay) followsLocally(session, token string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for f := range r.followers[session] {
		if f.token == token {
			return true
		}
	}
	return false
}

// endOthers ends the followers of the session's stream but the one with
// token, that opened before the supersession message id.
func (r *Relay) endOthers(session, stream, token string, id int64) {
	r.mu.Lock()
	var ended []*follower
	for f := range r.followers[session] {
		if f.stream == stream && f.token != token && f.published.Load() < id {
			ended = append(ended, f)
		}
	}
	r.mu.Unlock()
	for _, f := range ended {
		f.end()
	}
}

// errSuperseded means another GET stream took the standalone stream over.
var errSuperseded = errors.New("relay: the stream was opened again")

// take makes f the owner of the session's standalone stream and returns the
// position delivered up to before.
func (r *Relay) take(ctx context.Context, session string, f *follower) (int64, error) {
	before, err := r.cfg.Deliveries(ctx, session, func(m DeliveryMark) DeliveryMark {
		m.Owner = f.token
		return m
	})
	if err != nil {
		return 0, err
	}
	return before.Pos, nil
}

// claim records that f is about to send the standalone stream's events up
// to position through, and returns the position delivered up to before,
// or errSuperseded if f no longer owns the stream (its events are another
// stream's to send).
func (r *Relay) claim(ctx context.Context, session string, f *follower, through int64) (int64, error) {
	before, err := r.cfg.Deliveries(ctx, session, func(m DeliveryMark) DeliveryMark {
		if m.Owner == f.token && through > m.Pos {
			m.Pos = through
		}
		return m
	})
	switch {
	case err != nil:
		return 0, err
	case before.Owner != f.token:
		return 0, errSuperseded
	}
	return before.Pos, nil
}

// undeliveredSince returns the standalone stream's retained events after
// position pos: what no GET stream has sent. Unlike After, it does not
// fail when the bound dropped some: what is gone is gone.
func (r *Relay) undeliveredSince(ctx context.Context, session string, pos int64) ([]events.Event, error) {
	evs, err := r.cfg.Events.SincePriming(ctx, session, Standalone, math.MaxInt64)
	if err != nil {
		return nil, err
	}
	i := 0
	for i < len(evs) && evs[i].Pos <= pos {
		i++
	}
	return evs[i:], nil
}
