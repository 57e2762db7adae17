package adapter

import (
	"context"
	"fmt"
	"maps"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/record"
)

// The state helpers: what a tool handler does with the application state
// of its request's session (keys without the reserved prefix), in the
// session-based protocol revisions. Each adapter re-exports them under
// the same names, and finds the session in the request's context: Bind
// put the Core there, WithSession the session's id.

type (
	coreKey    struct{}
	sessionKey struct{}
)

// Bind returns ctx carrying c, for the helpers of the request's handlers.
func (c *Core) Bind(ctx context.Context) context.Context {
	return context.WithValue(ctx, coreKey{}, c)
}

// WithSession returns ctx carrying the id of the request's session.
func WithSession(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, sessionKey{}, id)
}

// bound returns the Core ctx carries, or nil.
func bound(ctx context.Context) *Core {
	c, _ := ctx.Value(coreKey{}).(*Core)
	return c
}

// session returns the Core serving ctx's request and its session's id, or
// mcpsession.ErrNoSession.
func session(ctx context.Context) (*Core, string, error) {
	c := bound(ctx)
	id, _ := ctx.Value(sessionKey{}).(string)
	if c == nil || id == "" {
		return nil, "", mcpsession.ErrNoSession
	}
	return c, id, nil
}

// SessionID returns the id of the session ctx's request belongs to, or an
// error matching mcpsession.ErrNoSession.
func SessionID(ctx context.Context) (string, error) {
	_, id, err := session(ctx)
	return id, err
}

// State returns the application state of the session ctx's request
// belongs to, read from the store now, in a map that is the caller's.
func State(ctx context.Context) (map[string]any, error) {
	c, id, err := session(ctx)
	if err != nil {
		return nil, err
	}
	return c.state(ctx, id)
}

// UpdateState merges keys into the session's application state.
func UpdateState(ctx context.Context, keys map[string]any) error {
	c, id, err := session(ctx)
	if err != nil {
		return err
	}
	return c.updateState(ctx, id, keys)
}

// ModifyState runs a read-modify-write of the session's application state.
func ModifyState(ctx context.Context, fn func(state map[string]any) (map[string]any, error)) error {
	c, id, err := session(ctx)
	if err != nil {
		return err
	}
	return c.modifyState(ctx, id, fn)
}

// state returns the session's application state, read from the store now:
// every key but the reserved ones, in a map that is the caller's.
func (c *Core) state(ctx context.Context, id string) (map[string]any, error) {
	meta, err := c.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	app, _ := record.Split(meta)
	return app, nil
}

// updateState merges keys into the session's application state with
// Store.Update; a reserved key is an error and nothing is written.
func (c *Core) updateState(ctx context.Context, id string, keys map[string]any) error {
	if err := record.CheckKeys(keys, mcpsession.ErrReservedKey); err != nil {
		return err
	}
	return c.Write(ctx, id, keys)
}

// modifyState runs a read-modify-write of the session's application state
// with mcpsession.Modifier.Modify, keeping the reserved keys as they were.
func (c *Core) modifyState(ctx context.Context, id string, fn func(state map[string]any) (map[string]any, error)) error {
	mod, ok := c.store.(mcpsession.Modifier)
	if !ok {
		return mcpsession.ErrModifyUnsupported
	}
	if fn == nil {
		return fmt.Errorf("%w: ModifyState with a nil function", mcpsession.ErrInvalidArgument)
	}
	now := c.now()
	err := mod.Modify(ctx, id, func(meta map[string]any) (map[string]any, error) {
		app, reserved := record.Split(meta)
		out, err := fn(app)
		if err != nil {
			return nil, err
		}
		if err := record.CheckKeys(out, mcpsession.ErrReservedKey); err != nil {
			return nil, err
		}
		next := make(map[string]any, len(out)+len(reserved)+1)
		maps.Copy(next, out)
		maps.Copy(next, reserved)
		next[record.KeyTouchedAt] = now.UnixMilli()
		return next, nil
	})
	if err != nil {
		return err
	}
	c.gate.Note(id, now)
	return nil
}
