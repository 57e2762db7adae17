package mcpgo

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/events"
	"github.com/mcpsession/mcpsession/internal/relay"
)

// spool appends the events of mcp-go's listening pump to sessions'
// standalone streams in the background, in order per session. The pump
// stores each message before it takes the next off queues of ten
// (server-to-client requests whose POST stream ended), which mcp-go
// refuses to fill further ("queue is full - server overloaded"): a
// database round trip per message must not hold it.
type spool struct {
	append func(ctx context.Context, session, stream string, data []byte) (events.Event, error)
	logger *slog.Logger

	mu     sync.Mutex
	queues map[string][][]byte // a session's key is present while it drains
	idle   chan struct{}       // closed when no session drains
}

// spoolTimeout bounds one append.
const spoolTimeout = 30 * time.Second

func newSpool(appendFn func(ctx context.Context, session, stream string, data []byte) (events.Event, error), logger *slog.Logger) *spool {
	idle := make(chan struct{})
	close(idle)
	return &spool{append: appendFn, logger: logger, queues: make(map[string][][]byte), idle: idle}
}

// add queues data for the session's standalone stream.
func (s *spool) add(session string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, draining := s.queues[session]
	s.queues[session] = append(q, data)
	if !draining {
		if len(s.queues) == 1 {
			s.idle = make(chan struct{})
		}
		go s.drain(session)
	}
}

// drain appends the session's queued events until none is left.
func (s *spool) drain(session string) {
	for {
		s.mu.Lock()
		q := s.queues[session]
		if len(q) == 0 {
			delete(s.queues, session)
			if len(s.queues) == 0 {
				close(s.idle)
			}
			s.mu.Unlock()
			return
		}
		s.queues[session] = q[len(q):]
		s.mu.Unlock()
		for _, data := range q {
			ctx, cancel := context.WithTimeout(context.Background(), spoolTimeout)
			_, err := s.append(ctx, session, relay.Standalone, data)
			cancel()
			switch {
			case errors.Is(err, mcpsession.ErrNotFound):
				// The session ended, or is one the store never kept (a GET
				// without a session id): nobody can read its stream.
			case err != nil:
				s.logger.LogAttrs(ctx, slog.LevelWarn, "mcpgo: storing a message of a session's GET stream failed; the client does not get it", slog.String("error", err.Error()))
			}
		}
	}
}

// wait waits until every queued event is appended, or ctx ends.
func (s *spool) wait(ctx context.Context) error {
	s.mu.Lock()
	idle := s.idle
	s.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
