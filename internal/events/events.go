package events

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/driver"
	"github.com/mcpsession/mcpsession/internal/executor"
	"github.com/mcpsession/mcpsession/sqlstore"
)

var (
	// ErrUnknownStream means the session has no stream of that id: never
	// opened or appended to, or gone with its session.
	ErrUnknownStream = errors.New("eventstore: unknown stream")

	// ErrUnknownEvent means the session has no event of that seq.
	ErrUnknownEvent = errors.New("eventstore: unknown event")

	// ErrPurged means events after the position asked for were dropped
	// (WithMaxEvents): the stream cannot be replayed from there.
	ErrPurged = errors.New("eventstore: events purged")

	// ErrInvalidArgument means a stream id or event data the store cannot
	// keep: a stream id over MaxStreamIDLength bytes or not valid UTF-8
	// without U+0000, or data over the limit. It matches
	// mcpsession.ErrInvalidArgument too.
	ErrInvalidArgument = fmt.Errorf("%w: eventstore", mcpsession.ErrInvalidArgument)
)

// MaxStreamIDLength is the longest stream id, in bytes.
const MaxStreamIDLength = 255

// The defaults of package eventstore's options.
const (
	// DefaultMaxEvents is how many of a session's newest events are kept.
	DefaultMaxEvents = 1000
	// DefaultMaxEventBytes is the largest event data Append takes.
	DefaultMaxEventBytes = 1 << 20
)

// An Event is one entry of a stream.
type Event struct {
	// Seq is unique in the database and grows with every append.
	Seq int64
	// Pos is the event's position in its stream, from 0.
	Pos int64
	// Data is the event's message; nil for a priming entry.
	Data []byte
}

// Store keeps streams of events in a sqlstore.Store's database. It is safe
// for concurrent use. Package eventstore's Store is this one under its
// public name, which the adapters' relay converts.
type Store struct {
	x        *executor.Executor
	q        driver.EventStatements
	maxEv    int64
	maxBytes int
	idle     int64
	lifetime int64
}

// New returns a Store over store's database, whose migrations hold its
// tables, keeping each session's newest maxEvents events of at most
// maxBytes each. Streams belong to store's live sessions.
func New(store *sqlstore.Store, maxEvents int64, maxBytes int) *Store {
	x := executor.Of(store)
	return &Store{
		x:        x,
		q:        x.Statements().Events,
		maxEv:    maxEvents,
		maxBytes: maxBytes,
		idle:     x.Config().IdleTimeout.Milliseconds(),
		lifetime: x.Config().MaxLifetime.Milliseconds(),
	}
}

// WakeKey is the wake key an Append to one of session's streams sends, for
// msgbus.Bus.Watch.
func WakeKey(session string) string { return driver.WakeKey('e', session) }

func checkStream(session, stream string) error {
	if err := mcpsession.ValidateID(session); err != nil {
		return err
	}
	switch {
	case len(stream) > MaxStreamIDLength:
		return fmt.Errorf("%w: stream id of %d bytes, the limit is %d", ErrInvalidArgument, len(stream), MaxStreamIDLength)
	case !utf8.ValidString(stream):
		return fmt.Errorf("%w: stream id is not valid UTF-8", ErrInvalidArgument)
	}
	for i := 0; i < len(stream); i++ {
		if stream[i] == 0 {
			return fmt.Errorf("%w: stream id holds U+0000", ErrInvalidArgument)
		}
	}
	return nil
}

// Open creates the stream, with nothing in it yet, unless it exists. It is
// an error matching mcpsession.ErrNotFound if the session is not live.
func (s *Store) Open(ctx context.Context, session, stream string) error {
	if err := checkStream(session, stream); err != nil {
		return err
	}
	var one int
	err := s.x.WriteRow(ctx, "eventstore: open stream", s.q.Open, []any{session, stream, s.idle, s.lifetime}, &one)
	if errors.Is(err, sql.ErrNoRows) {
		return mcpsession.ErrNotFound
	}
	return err
}

// Append adds an event with data (nil: a priming entry) at the stream's
// next position, creating the stream if need be, and returns it. It is an
// error matching mcpsession.ErrNotFound if the session is not live.
func (s *Store) Append(ctx context.Context, session, stream string, data []byte) (Event, error) {
	if err := checkStream(session, stream); err != nil {
		return Event{}, err
	}
	if len(data) > s.maxBytes {
		return Event{}, fmt.Errorf("%w: event of %d bytes, the limit is %d", ErrInvalidArgument, len(data), s.maxBytes)
	}
	ev := Event{Data: data}
	err := s.x.WriteTx(ctx, "eventstore: append", func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q.Next, session, stream, s.idle, s.lifetime).Scan(&ev.Pos)
		if errors.Is(err, sql.ErrNoRows) {
			return mcpsession.ErrNotFound
		}
		if err != nil {
			return s.x.Wrap(ctx, "eventstore: append: position", err)
		}
		var payload any
		if data != nil {
			payload = data
		}
		if err := tx.QueryRowContext(ctx, s.q.Insert, session, stream, ev.Pos, payload).Scan(&ev.Seq); err != nil {
			return s.x.Wrap(ctx, "eventstore: append: insert", err)
		}
		var count int64
		if err := tx.QueryRowContext(ctx, s.q.Count, session).Scan(&count); err != nil {
			return s.x.Wrap(ctx, "eventstore: append: count", err)
		}
		if count <= s.maxEv+s.maxEv/8 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, s.q.Trim, session, s.maxEv); err != nil {
			return s.x.Wrap(ctx, "eventstore: append: trim", err)
		}
		if _, err := tx.ExecContext(ctx, s.q.Recount, session); err != nil {
			return s.x.Wrap(ctx, "eventstore: append: recount", err)
		}
		return nil
	})
	if err != nil {
		return Event{}, err
	}
	return ev, nil
}

// After returns the stream's events after position pos (-1: all of them),
// in order. It is an error matching ErrUnknownStream if the session has no
// such stream, and ErrPurged if any event after pos was dropped.
func (s *Store) After(ctx context.Context, session, stream string, pos int64) ([]Event, error) {
	if err := checkStream(session, stream); err != nil {
		return nil, err
	}
	// The events and the stream's bounds are two reads, each of its own
	// snapshot: events appended between them show in the second only. A
	// first retained position at or before pos+1 then means they were not
	// dropped, but came: read again.
	for attempt := 0; ; attempt++ {
		out, err := s.after(ctx, session, stream, pos)
		if err != nil {
			return nil, err
		}
		if len(out) > 0 {
			if out[0].Pos != pos+1 {
				return nil, fmt.Errorf("%w: the stream's events from %d to %d", ErrPurged, pos+1, out[0].Pos-1)
			}
			return out, nil
		}
		// Nothing after pos: because nothing came, because it was dropped,
		// or because there is no such stream.
		var next int64
		var first sql.NullInt64
		err = s.x.QueryRow(ctx, "eventstore: after", s.q.Bounds, []any{session, stream}, &next, &first)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil, ErrUnknownStream
		case err != nil:
			return nil, err
		case next-1 <= pos:
			return nil, nil
		case first.Valid && first.Int64 <= pos+1:
			if attempt < 2 {
				continue
			}
			return nil, nil // still racing appends: the caller reads again anyway
		}
		return nil, fmt.Errorf("%w: the stream's events after %d", ErrPurged, pos)
	}
}

// SincePriming returns the stream's retained events before position
// before that came after the last priming entry before it, in order: all
// its retained events before it if it has no such entry, and none if there
// is no such stream. Each stream opened by a client without Last-Event-ID
// starts with a priming entry, so these are what was written to the stream
// while no client had opened it since the previous one. Unlike After, it
// does not report events dropped by the bound: it returns what is kept.
func (s *Store) SincePriming(ctx context.Context, session, stream string, before int64) ([]Event, error) {
	if err := checkStream(session, stream); err != nil {
		return nil, err
	}
	return s.query(ctx, "eventstore: since priming", s.q.SincePriming, session, stream, before)
}

func (s *Store) after(ctx context.Context, session, stream string, pos int64) ([]Event, error) {
	return s.query(ctx, "eventstore: after", s.q.After, session, stream, pos)
}

func (s *Store) query(ctx context.Context, op, q string, session, stream string, pos int64) ([]Event, error) {
	rows, err := s.x.Query(ctx, op, q, session, stream, pos)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var ev Event
		if err := rows.Scan(&ev.Seq, &ev.Pos, &ev.Data); err != nil {
			return nil, s.x.Wrap(ctx, op, err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, s.x.Wrap(ctx, op, err)
	}
	return out, nil
}

// Find returns the stream and the position of the session's event seq, or
// an error matching ErrUnknownEvent.
func (s *Store) Find(ctx context.Context, session string, seq int64) (stream string, pos int64, err error) {
	if err := mcpsession.ValidateID(session); err != nil {
		return "", 0, err
	}
	err = s.x.QueryRow(ctx, "eventstore: find", s.q.Find, []any{session, seq}, &stream, &pos)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, ErrUnknownEvent
	}
	if err != nil {
		return "", 0, err
	}
	return stream, pos, nil
}

// Purge deletes the session's streams and events now, as deleting the
// session does. It returns nil whether or not there were any.
func (s *Store) Purge(ctx context.Context, session string) error {
	if err := mcpsession.ValidateID(session); err != nil {
		return err
	}
	return s.x.WriteTx(ctx, "eventstore: purge", func(tx *sql.Tx) error {
		for _, q := range s.q.Purge {
			if _, err := tx.ExecContext(ctx, q, session); err != nil {
				return s.x.Wrap(ctx, "eventstore: purge", err)
			}
		}
		return nil
	})
}
