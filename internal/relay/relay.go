package relay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcpsession/mcpsession/internal/events"
	"github.com/mcpsession/mcpsession/internal/msgbus"
)

// Standalone is the event store's stream id of a session's standalone
// (GET) stream: go-sdk's own id for it, and the one mcp-go's streams, whose
// ids are UUIDs, never take.
const Standalone = ""

// The bus topics, shared by every adapter over one database, so that
// replicas serving with mcp-go and with go-sdk interoperate.
const (
	topicReplica = "mcpsession/replica/" // + replica id: answers forwarded to it
	topicWake    = "mcpsession/wake"     // a session's standalone stream grew
	topicEnded   = "mcpsession/ended"    // a session was deleted
	topicListen  = "mcpsession/listen"   // a notification for listen streams
)

// How often a follower reads its stream without a wake-up: while the
// listener is down (wake keys are lost, and replicas that still listen
// send no wake messages), and otherwise, as a backstop.
const (
	followPoll     = 100 * time.Millisecond
	followBackstop = time.Second
	// keepaliveEvery spaces the comments an idle stream sends, so that
	// proxies do not close it.
	keepaliveEvery = 25 * time.Second
)

// ErrSessionEnded means the session ended (on any replica) while a Call
// waited for its answer.
var ErrSessionEnded = errors.New("relay: the session ended")

// ErrUnknownEventID means a Last-Event-ID names no event of the session.
var ErrUnknownEventID = errors.New("relay: unknown Last-Event-ID")

// Config is what an adapter gives its Relay.
type Config struct {
	// Name prefixes log messages ("mcpgo", "gosdk").
	Name   string
	Bus    *msgbus.Bus
	Events *events.Store
	Logger *slog.Logger // nil: no logs

	// EventID formats an event of stream as the SDK's clients see its SSE
	// id.
	EventID func(stream string, ev events.Event) string
	// ResolveEventID returns the stream and position a Last-Event-ID
	// names, or an error matching ErrUnknownEventID.
	ResolveEventID func(ctx context.Context, session, id string) (stream string, pos int64, err error)
	// Inject hands this replica's SDK session the client's answer msg (its
	// SDK id restored) forwarded from another replica. It runs on a
	// goroutine of its own.
	Inject func(session string, msg []byte)
	// Ended, when not nil, is told of a session deleted on another
	// replica, to drop the SDK's memory of it. It runs on a goroutine of
	// its own.
	Ended func(session string)
	// Cancel, when not nil, hands this replica's SDK session a client's
	// notifications/cancelled (msg) that another replica received, so
	// that the request it names stops wherever it runs. It runs on a
	// goroutine of its own.
	Cancel func(session string, msg []byte)
	// CommentFirst starts a GET stream opened without Last-Event-ID with
	// an SSE comment, as go-sdk's handler does, instead of an event that
	// carries the priming entry's id. The priming entry is stored all the
	// same (see ServeGET).
	CommentFirst bool
	// ReplayRefused, when not empty, is the body of the 400 that answers
	// a Last-Event-ID the stream cannot be resumed from (unknown, or its
	// successors dropped), as the SDK words it.
	ReplayRefused string
	// Deliveries, when not nil, reads and changes the session's
	// DeliveryMark in one step, under the session's lock, and returns it
	// as it was before fn (NoDelivery for a session that has none). With
	// it, GET streams record what they send of the standalone stream, and
	// a GET without Last-Event-ID is quiet (no priming event) and sends
	// first exactly what no stream has sent. It is an error matching
	// mcpsession.ErrNotFound if the session is not live.
	Deliveries func(ctx context.Context, session string, fn func(DeliveryMark) DeliveryMark) (DeliveryMark, error)
	// Supersede, when set, makes a GET end the other streams of the
	// stream it opens, on every replica, as mcp-go's own handler does
	// (go-sdk's refuses the second instead).
	Supersede bool
	// StreamOpened, when not nil, is told of every GET that opened one of
	// a session's streams (with Supersede): stream is "" for the
	// standalone stream, or the stream of a POST that the GET resumes. A
	// GET of this replica's tells it before the GET's headers go out; one
	// of another replica's, on a goroutine of its own when the bus brings
	// the news.
	StreamOpened func(session, stream string)
	// Deliver, when not nil, hands this replica's SDK the client's answer
	// msg (its SDK id restored) that another replica received, and
	// returns what the SDK answered, which goes back to that replica for
	// its client (Forward). It replaces Inject for answers. It runs on a
	// goroutine of its own.
	Deliver func(session string, msg []byte) Verdict
}

// A Relay carries one adapter's streams and server-to-client messages
// across the replicas of a database. It is safe for concurrent use.
type Relay struct {
	cfg     Config
	logger  *slog.Logger
	replica string

	calls atomic.Int64

	mu        sync.Mutex
	pending   map[string]*call                  // by wire id value
	verdicts  map[string]chan Verdict           // Forwards waiting, by reply token
	followers map[string]map[*follower]struct{} // by session id
	listens   map[*listenTap]struct{}

	down     context.Context
	shutDown context.CancelFunc
	unsub    []func()
	work     sync.WaitGroup // injections and Ended calls in flight
}

// New checks cfg and returns a Relay, subscribed to the bus (which the
// caller runs).
func New(cfg Config) (*Relay, error) {
	switch {
	case cfg.Bus == nil:
		return nil, errors.New("relay: nil bus")
	case cfg.Events == nil:
		return nil, errors.New("relay: nil event store")
	case cfg.EventID == nil || cfg.ResolveEventID == nil || cfg.Inject == nil:
		return nil, errors.New("relay: EventID, ResolveEventID and Inject are required")
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("relay: replica id: %w", err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Relay{
		cfg:       cfg,
		logger:    logger,
		replica:   hex.EncodeToString(b[:]),
		pending:   make(map[string]*call),
		verdicts:  make(map[string]chan Verdict),
		followers: make(map[string]map[*follower]struct{}),
		listens:   make(map[*listenTap]struct{}),
	}
	r.down, r.shutDown = context.WithCancel(context.Background())
	r.unsub = []func(){
		cfg.Bus.Subscribe(topicReplica+r.replica, r.onForwarded),
		cfg.Bus.Subscribe(topicWake, r.onWake),
		cfg.Bus.Subscribe(topicEnded, r.onEnded),
		cfg.Bus.Subscribe(topicListen, r.onListen),
		cfg.Bus.Subscribe(topicCancelled, r.onCancelled),
		cfg.Bus.Subscribe(topicSuperseded, r.onSuperseded),
	}
	return r, nil
}

// Replica returns this replica's id, which its wire ids carry.
func (r *Relay) Replica() string { return r.replica }

// Shutdown ends every stream the relay serves on this replica (GET
// streams, listen streams, Calls waiting), so that an HTTP server's
// Shutdown does not wait on them, stops listening to the bus, and waits
// for the injections in flight or ctx's end. The sessions and their
// events stay in the database.
func (r *Relay) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	r.shutDown()
	unsub := r.unsub
	r.unsub = nil
	for _, c := range r.pending {
		c.finish(nil, ErrSessionEnded)
	}
	r.mu.Unlock()
	for _, stop := range unsub {
		stop()
	}
	done := make(chan struct{})
	go func() {
		r.work.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("relay: shutdown: %w", ctx.Err())
	}
}

// goWork runs fn on a goroutine of its own, counted for Shutdown; after
// Shutdown, not at all. The count grows only under mu while not shut down,
// so that Shutdown's Wait never meets an Add.
func (r *Relay) goWork(fn func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down.Err() != nil {
		return
	}
	r.work.Go(func() {
		defer func() {
			if p := recover(); p != nil {
				r.logger.LogAttrs(context.Background(), slog.LevelError, r.cfg.Name+": a relay callback panicked", slog.Any("panic", p))
			}
		}()
		fn()
	})
}

// forwarded is the payload of a message to one replica: a client's answer
// (Message), or what the SDK answered to one (Verdict).
type forwarded struct {
	Session string          `json:"session"`
	Message json.RawMessage `json:"message,omitempty"`
	// Reply, on an answer, asks for its Verdict: "<replica>/<n>".
	Reply   string   `json:"reply,omitempty"`
	Verdict *Verdict `json:"verdict,omitempty"`
}

// onForwarded takes an answer another replica received for this one, or
// the verdict on one this replica forwarded.
func (r *Relay) onForwarded(m msgbus.Message) {
	var f forwarded
	if err := json.Unmarshal(m.Payload, &f); err != nil {
		return
	}
	if f.Verdict != nil {
		r.verdictCame(f.Reply, *f.Verdict)
		return
	}
	if f.Session == "" {
		return
	}
	r.deliverLocal(f.Session, f.Message, f.Reply)
}

// onWake wakes the followers of a session's standalone stream.
func (r *Relay) onWake(m msgbus.Message) { r.wake(string(m.Payload)) }

// onEnded ends a session's streams here; the adapter drops its SDK's
// memory of it.
func (r *Relay) onEnded(m msgbus.Message) {
	session := string(m.Payload)
	if session == "" {
		return
	}
	r.endLocal(session)
	if r.cfg.Ended != nil {
		r.goWork(func() { r.cfg.Ended(session) })
	}
}

// publish stores a bus message; failures are the caller's.
func (r *Relay) publish(ctx context.Context, topic string, payload []byte) error {
	if _, err := r.cfg.Bus.Publish(ctx, topic, payload); err != nil {
		return fmt.Errorf("%s: relay: %w", r.cfg.Name, err)
	}
	return nil
}

// warn logs a failure, without session ids.
func (r *Relay) warn(ctx context.Context, msg string, err error) {
	r.logger.LogAttrs(ctx, slog.LevelWarn, r.cfg.Name+": "+msg, slog.String("error", err.Error()))
}
