package adapter

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/eventstore"
	"github.com/mcpsession/mcpsession/internal/events"
	"github.com/mcpsession/mcpsession/internal/msgbus"
	"github.com/mcpsession/mcpsession/internal/principal"
	"github.com/mcpsession/mcpsession/requeststate"
)

// Settings are what the options every adapter takes set. Each adapter's
// configuration embeds them, beside what its options of its own set.
type Settings struct {
	// TouchInterval 0 means touchgate.Interval's default.
	TouchInterval time.Duration
	Logger        *slog.Logger   // nil: no logs
	Principal     principal.Func // nil: principal.Anonymous
	// Bus and Events, both or neither: streams across replicas.
	Bus    *msgbus.Bus
	Events *events.Store
	Now    func() time.Time // nil: time.Now
	// Sealer seals and opens requestState (SealState, OpenState); nil:
	// those helpers fail.
	Sealer *requeststate.Sealer
}

// A Setting is one option every adapter takes (see Share). It rejects a
// bad argument with an error matching mcpsession.ErrInvalidOption.
type Setting func(*Settings) error

// WithTouchInterval sets how often, at most, a session in use is written
// only to slide its idle expiry; it must be positive (touchgate.Interval
// checks it against the store's idle timeout).
func WithTouchInterval(d time.Duration) Setting {
	return func(s *Settings) error {
		if d <= 0 {
			return fmt.Errorf("%w: WithTouchInterval(%v): must be positive", mcpsession.ErrInvalidOption, d)
		}
		s.TouchInterval = d
		return nil
	}
}

// WithLogger sets where the adapter logs.
func WithLogger(l *slog.Logger) Setting {
	return func(s *Settings) error {
		if l == nil {
			return fmt.Errorf("%w: WithLogger(nil)", mcpsession.ErrInvalidOption)
		}
		s.Logger = l
		return nil
	}
}

// WithPrincipal sets the function that gives each request's principal.
func WithPrincipal(fn func(r *http.Request) (string, error)) Setting {
	return func(s *Settings) error {
		if fn == nil {
			return fmt.Errorf("%w: WithPrincipal(nil)", mcpsession.ErrInvalidOption)
		}
		s.Principal = fn
		return nil
	}
}

// WithStreams carries the sessions' streams and server-to-client messages
// across replicas over b, with their events kept in e.
func WithStreams(b *bus.Bus, e *eventstore.Store) Setting {
	return func(s *Settings) error {
		switch {
		case b == nil:
			return fmt.Errorf("%w: WithStreams: nil bus", mcpsession.ErrInvalidOption)
		case e == nil:
			return fmt.Errorf("%w: WithStreams: nil event store", mcpsession.ErrInvalidOption)
		}
		s.Bus, s.Events = (*msgbus.Bus)(b), (*events.Store)(e)
		return nil
	}
}

// WithClock replaces the clock; tests use it to step past touch intervals.
func WithClock(now func() time.Time) Setting {
	return func(s *Settings) error {
		s.Now = now
		return nil
	}
}

// Option is the option type of an adapter whose configuration is C (which
// embeds Settings): the module's one option style, an interface whose
// apply is unexported, so that options are made only by the functions
// that check their arguments. Each adapter names it: type Option =
// adapter.Option[config].
type Option[C any] interface {
	apply(*C) error
}

type option[C any] func(*C) error

func (f option[C]) apply(c *C) error { return f(c) }

// Own returns an option of one adapter's configuration alone.
func Own[C any](set func(*C) error) Option[C] { return option[C](set) }

// Configuration is a pointer to an adapter's configuration, which gives
// its Settings.
type Configuration[C any] interface {
	*C
	Shared() *Settings
}

// Share returns s, an option every adapter takes, as an option of the
// adapter whose configuration is C.
func Share[C any, P Configuration[C]](s Setting) Option[C] {
	return option[C](func(c *C) error { return s(P(c).Shared()) })
}

// Configure applies opts to c in order: a nil option, or the first that
// fails, is the error.
func Configure[C any](c *C, opts []Option[C]) error {
	for i, o := range opts {
		if o == nil {
			return fmt.Errorf("%w: option %d is nil", mcpsession.ErrInvalidOption, i)
		}
		if err := o.apply(c); err != nil {
			return err
		}
	}
	return nil
}
