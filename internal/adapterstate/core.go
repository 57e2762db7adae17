package adapterstate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/mcpsession/mcpsession"
)

// DefaultTouchInterval is the touch interval when the adapter is given
// none, unless the store's idle timeout calls for a shorter one.
const DefaultTouchInterval = time.Minute

// DefaultLocalIdleTTL is how long a replica keeps an SDK's in-memory state
// of a session nobody uses, when the store reports no idle timeout.
const DefaultLocalIdleTTL = 30 * time.Minute

// Config is what an adapter has gathered from its options.
type Config struct {
	// Name prefixes log messages ("mcpgo", "gosdk").
	Name  string
	Store mcpsession.Store
	// TouchInterval 0 means the default (see New).
	TouchInterval time.Duration
	Logger        *slog.Logger // nil: no logs
	Now           func() time.Time
	// Principal gives each request's principal; nil means Anonymous.
	Principal PrincipalFunc
}

// Core is the SDK-independent half of an adapter: reading a session for a
// request, sliding its expiry through the touch gate, creating and writing
// it, and the state helpers. It is safe for concurrent use.
type Core struct {
	name          string
	store         mcpsession.Store
	touchInterval time.Duration
	localTTL      time.Duration
	logger        *slog.Logger
	now           func() time.Time
	gate          *TouchGate
	principal     PrincipalFunc
	failures      failureLog
}

// New checks cfg and returns a Core. The touch interval defaults to
// DefaultTouchInterval or a quarter of the store's idle timeout (when it
// implements mcpsession.IdleTimeouter), whichever is shorter; a given one
// must be below half of the idle timeout, or sessions in use would expire.
// Errors match mcpsession.ErrInvalidOption.
func New(cfg Config) (*Core, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: nil Store", mcpsession.ErrInvalidOption)
	}
	var idle time.Duration
	if it, ok := cfg.Store.(mcpsession.IdleTimeouter); ok {
		idle = it.IdleTimeout()
	}
	interval := cfg.TouchInterval
	switch {
	case interval == 0:
		interval = DefaultTouchInterval
		if idle > 0 {
			interval = min(DefaultTouchInterval, idle/4)
		}
		if interval <= 0 {
			return nil, fmt.Errorf("%w: the store's idle timeout %v is too short for a touch interval", mcpsession.ErrInvalidOption, idle)
		}
	case idle > 0 && interval >= idle/2:
		return nil, fmt.Errorf("%w: WithTouchInterval(%v): must be below half of the store's idle timeout %v, or sessions in use expire",
			mcpsession.ErrInvalidOption, interval, idle)
	}
	localTTL := DefaultLocalIdleTTL
	if idle > 0 {
		localTTL = idle
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	principal := cfg.Principal
	if principal == nil {
		principal = Anonymous
	}
	return &Core{
		name:          cfg.Name,
		store:         cfg.Store,
		touchInterval: interval,
		localTTL:      localTTL,
		logger:        logger,
		now:           now,
		gate:          NewTouchGate(interval),
		principal:     principal,
	}, nil
}

// Store returns the store.
func (c *Core) Store() mcpsession.Store { return c.store }

// TouchInterval returns the touch interval in effect.
func (c *Core) TouchInterval() time.Duration { return c.touchInterval }

// LocalTTL is how long a replica should keep an SDK's memory of a session
// nobody uses: the store's idle timeout, or DefaultLocalIdleTTL.
func (c *Core) LocalTTL() time.Duration { return c.localTTL }

// Logger returns the adapter's logger.
func (c *Core) Logger() *slog.Logger { return c.logger }

// Now reads the adapter's clock.
func (c *Core) Now() time.Time { return c.now() }

// Gate returns the touch gate, for tests.
func (c *Core) Gate() *TouchGate { return c.gate }

// Lookup reads the session id names. An id no session could have is not
// found rather than invalid: to a client both mean "initialize again".
//
// The map is read-only: it may be shared with the store (a
// mcpsession.SharedGetter, such as a cache, is read without a copy), so
// neither the adapters nor anything they hand it to may modify it.
func (c *Core) Lookup(ctx context.Context, id string) (map[string]any, error) {
	if err := mcpsession.ValidateID(id); err != nil {
		return nil, fmt.Errorf("%w: %w", mcpsession.ErrNotFound, err)
	}
	if sg, ok := c.store.(mcpsession.SharedGetter); ok {
		return sg.GetShared(ctx, id)
	}
	return c.store.Get(ctx, id)
}

// Open reads the session id names and slides its expiry (at most once per
// touch interval). It returns an error matching mcpsession.ErrNotFound if
// there is no such live session, or a store error. A failed touch of a
// session that is still there is logged, not returned: the request is
// served anyway.
func (c *Core) Open(ctx context.Context, id string) (map[string]any, error) {
	meta, err := c.Lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	return c.slide(ctx, id, meta)
}

// OpenAs is Open for a request of principal: a session that another
// principal started is an error for which IsForeign holds, and is neither
// touched nor served. The principals must be equal: a session started
// anonymously is not open to a signed-in user either, since its handlers
// would then act for whichever of them came last.
func (c *Core) OpenAs(ctx context.Context, id, principal string) (map[string]any, error) {
	meta, err := c.LookupAs(ctx, id, principal)
	if err != nil {
		return nil, err
	}
	return c.slide(ctx, id, meta)
}

// slide touches the session Lookup read as meta.
func (c *Core) slide(ctx context.Context, id string, meta map[string]any) (map[string]any, error) {
	if err := c.touch(ctx, id, meta); errors.Is(err, mcpsession.ErrNotFound) {
		return nil, err // expired or deleted since the read
	}
	return meta, nil
}

// LookupAs is Lookup with OpenAs's check of the principal.
func (c *Core) LookupAs(ctx context.Context, id, principal string) (map[string]any, error) {
	meta, err := c.Lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if SessionPrincipal(meta) != principal {
		return nil, errForeign
	}
	return meta, nil
}

// touch writes the session's touchedAt if no replica has written the
// session within the touch interval.
func (c *Core) touch(ctx context.Context, id string, meta map[string]any) error {
	now := c.now()
	if !c.gate.Claim(id, TouchedAt(meta), now) {
		return nil
	}
	err := c.store.Update(ctx, id, map[string]any{KeyTouchedAt: now.UnixMilli()})
	if err != nil {
		c.gate.Release(id, now)
		if !errors.Is(err, mcpsession.ErrNotFound) {
			c.logger.LogAttrs(ctx, slog.LevelWarn, c.name+": touching a session failed", slog.String("error", err.Error()))
		}
	}
	return err
}

// Create stores a new session with meta (reserved keys only) and the touch
// time. The caller logs a failure.
func (c *Core) Create(ctx context.Context, id string, meta map[string]any) error {
	now := c.now()
	rec := make(map[string]any, len(meta)+1)
	maps.Copy(rec, meta)
	rec[KeyTouchedAt] = now.UnixMilli()
	if err := c.store.Create(ctx, id, rec); err != nil {
		return err
	}
	c.gate.Note(id, now)
	return nil
}

// Write merges patch (reserved keys the adapter owns) into the session with
// the touch time, which the write slides anyway. The caller logs a failure.
func (c *Core) Write(ctx context.Context, id string, patch map[string]any) error {
	now := c.now()
	p := make(map[string]any, len(patch)+1)
	maps.Copy(p, patch)
	p[KeyTouchedAt] = now.UnixMilli()
	if err := c.store.Update(ctx, id, p); err != nil {
		return err
	}
	c.gate.Note(id, now)
	return nil
}

// Delete ends the session for every replica.
func (c *Core) Delete(ctx context.Context, id string) error {
	if err := c.store.Delete(ctx, id); err != nil {
		return err
	}
	c.gate.Forget(id)
	return nil
}

// Forget drops this replica's bookkeeping of id; the stored session stays.
func (c *Core) Forget(id string) { c.gate.Forget(id) }

// State returns the session's application state, read from the store now:
// every key but the reserved ones, in a map that is the caller's.
func (c *Core) State(ctx context.Context, id string) (map[string]any, error) {
	meta, err := c.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	app, _ := Split(meta)
	return app, nil
}

// UpdateState merges keys into the session's application state with
// Store.Update; a reserved key is an error and nothing is written.
func (c *Core) UpdateState(ctx context.Context, id string, keys map[string]any) error {
	if err := CheckKeys(keys, mcpsession.ErrReservedKey); err != nil {
		return err
	}
	return c.Write(ctx, id, keys)
}

// ModifyState runs a read-modify-write of the session's application state
// with mcpsession.Modifier.Modify, keeping the reserved keys as they were.
func (c *Core) ModifyState(ctx context.Context, id string, fn func(state map[string]any) (map[string]any, error)) error {
	mod, ok := c.store.(mcpsession.Modifier)
	if !ok {
		return mcpsession.ErrModifyUnsupported
	}
	if fn == nil {
		return fmt.Errorf("%w: ModifyState with a nil function", mcpsession.ErrInvalidArgument)
	}
	now := c.now()
	err := mod.Modify(ctx, id, func(meta map[string]any) (map[string]any, error) {
		app, reserved := Split(meta)
		out, err := fn(app)
		if err != nil {
			return nil, err
		}
		if err := CheckKeys(out, mcpsession.ErrReservedKey); err != nil {
			return nil, err
		}
		next := make(map[string]any, len(out)+len(reserved)+1)
		maps.Copy(next, out)
		maps.Copy(next, reserved)
		next[KeyTouchedAt] = now.UnixMilli()
		return next, nil
	})
	if err != nil {
		return err
	}
	c.gate.Note(id, now)
	return nil
}
