package adapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/optional"
	"github.com/mcpsession/mcpsession/internal/principal"
	"github.com/mcpsession/mcpsession/internal/record"
	"github.com/mcpsession/mcpsession/internal/relay"
	"github.com/mcpsession/mcpsession/internal/touchgate"
	"github.com/mcpsession/mcpsession/requeststate"
)

// DefaultLocalIdleTTL is how long a replica keeps an SDK's in-memory state
// of a session nobody uses, when the store reports no idle timeout.
const DefaultLocalIdleTTL = 30 * time.Minute

// Config is what an adapter gives New: its name and store, and what its
// options set.
type Config struct {
	// Name prefixes log messages ("mcpgo", "gosdk").
	Name  string
	Store mcpsession.Store
	// RefusedState is the SDK's JSON-RPC error for a refused requestState
	// (RefusedStateCode, RefusedStateMessage), which OpenState's error
	// wraps; nil: none.
	RefusedState error
	Settings
}

// Core is the SDK-independent half of an adapter: reading a session for a
// request, sliding its expiry through the touch gate, creating, writing
// and deleting it; the principal of each request; the streams across
// replicas, when the adapter has them. The helpers of this package (State,
// CreateHandle, …) find it in a request's context (Bind). It is safe for
// concurrent use.
type Core struct {
	name          string
	store         mcpsession.Store
	touchInterval time.Duration
	localTTL      time.Duration
	logger        *slog.Logger
	now           func() time.Time
	gate          *touchgate.Gate
	principal     principal.Func
	failures      failureLog
	relay         *relay.Relay // nil without streams across replicas
	sealer        *requeststate.Sealer
	refusedState  error
}

// New checks cfg and returns a Core. The touch interval is
// touchgate.Interval's for the store's idle timeout (when it has an
// IdleTimeout method). Errors match mcpsession.ErrInvalidOption.
func New(cfg Config) (*Core, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: nil Store", mcpsession.ErrInvalidOption)
	}
	var idle time.Duration
	if it, ok := cfg.Store.(optional.IdleTimeouter); ok {
		idle = it.IdleTimeout()
	}
	interval, err := touchgate.Interval(cfg.TouchInterval, idle)
	if err != nil {
		return nil, err
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
	fn := cfg.Principal
	if fn == nil {
		fn = principal.Anonymous
	}
	return &Core{
		name:          cfg.Name,
		store:         cfg.Store,
		touchInterval: interval,
		localTTL:      localTTL,
		logger:        logger,
		now:           now,
		gate:          touchgate.New(interval),
		principal:     fn,
		sealer:        cfg.Sealer,
		refusedState:  cfg.RefusedState,
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

// Gate returns the touch gate, for tests.
func (c *Core) Gate() *touchgate.Gate { return c.gate }

// errForeign means a session's request came from another principal than
// the one that started it.
var errForeign = errors.New("the session belongs to another principal")

// IsForeign reports whether err is OpenAs's refusal of another principal.
func IsForeign(err error) bool { return errors.Is(err, errForeign) }

// Lookup reads the session id names. An id no session could have is not
// found rather than invalid: to a client both mean "initialize again".
//
// The map is read-only: it may be shared with the store (a
// optional.SharedGetter, such as a cache, is read without a copy), so
// neither the adapters nor anything they hand it to may modify it.
func (c *Core) Lookup(ctx context.Context, id string) (map[string]any, error) {
	if err := mcpsession.ValidateID(id); err != nil {
		return nil, fmt.Errorf("%w: %w", mcpsession.ErrNotFound, err)
	}
	if sg, ok := c.store.(optional.SharedGetter); ok {
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

// OpenAs is Open for a request of principal who: a session that another
// principal started is an error for which IsForeign holds, and is neither
// touched nor served. The principals must be equal: a session started
// anonymously is not open to a signed-in user either, since its handlers
// would then act for whichever of them came last.
func (c *Core) OpenAs(ctx context.Context, id, who string) (map[string]any, error) {
	meta, err := c.LookupAs(ctx, id, who)
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
func (c *Core) LookupAs(ctx context.Context, id, who string) (map[string]any, error) {
	meta, err := c.Lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if record.Principal(meta) != who {
		return nil, errForeign
	}
	return meta, nil
}

// touch writes the session's touchedAt if no replica has written the
// session within the touch interval.
func (c *Core) touch(ctx context.Context, id string, meta map[string]any) error {
	now := c.now()
	if !c.gate.Claim(id, record.TouchedAt(meta), now) {
		return nil
	}
	err := c.store.Update(ctx, id, map[string]any{record.KeyTouchedAt: now.UnixMilli()})
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
	rec[record.KeyTouchedAt] = now.UnixMilli()
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
	p[record.KeyTouchedAt] = now.UnixMilli()
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
