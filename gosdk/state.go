package gosdk

import (
	"context"

	"github.com/mcpsession/mcpsession/internal/adapter"
)

type (
	sessionsKey struct{}
	localKey    struct{}
	initKey     struct{}
)

// fromContext returns the Sessions serving ctx's request, or nil. It is in
// the context of every request ServeHTTP serves, those of the sessionless
// revision included (which have no session, but may have state handles).
func fromContext(ctx context.Context) *Sessions {
	s, _ := ctx.Value(sessionsKey{}).(*Sessions)
	return s
}

// current returns the Sessions serving ctx's request and its session, or
// ErrNoSession.
func current(ctx context.Context) (*Sessions, *local, error) {
	s := fromContext(ctx)
	l, _ := ctx.Value(localKey{}).(*local)
	if s == nil || l == nil {
		return nil, nil, ErrNoSession
	}
	return s, l, nil
}

// SessionID returns the id of the session ctx's request belongs to, or an
// error matching ErrNoSession. Tool handlers can also read
// req.Session.ID().
func SessionID(ctx context.Context) (string, error) { return adapter.SessionID(ctx) }

// LogLevel returns the session's log level, as logging/setLevel last set it
// on any replica ("" before any: go-sdk then sends no log messages), or an
// error matching ErrNoSession. go-sdk applies the level in
// ServerSession.Log but has no getter for it.
func LogLevel(ctx context.Context) (string, error) {
	s, l, err := current(ctx)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return l.level, nil
}

// State returns the application state of the session ctx's request belongs
// to, read from the store now: every key but the reserved ones (see
// mcpsession.ReservedPrefix). The map is the caller's. It returns an error
// matching ErrNoSession outside a session, mcpsession.ErrNotFound if the
// session has ended, or a store error.
func State(ctx context.Context) (map[string]any, error) { return adapter.State(ctx) }

// UpdateState merges keys into the session's application state with
// Store.Update: each key given replaces its value whole, the others are
// kept, and concurrent updates of different keys all land. A key with the
// reserved prefix is an error matching ErrReservedKey, and nothing is
// written. Errors are otherwise as for State.
//
// For a change that depends on the current value (a counter), use
// ModifyState: two UpdateStates that each read and then write lose one of
// the writes.
func UpdateState(ctx context.Context, keys map[string]any) error {
	return adapter.UpdateState(ctx, keys)
}

// ModifyState runs a read-modify-write of the session's application state
// with mcpsession.Modifier.Modify: fn receives the current state (its own
// copy, without the reserved keys) and returns the whole new state, so it
// can remove keys; the reserved keys are kept as they were. Concurrent
// ModifyStates of one session, on any replica, run one after another, so
// fn always sees the previous one's result. fn should be quick and must not
// call the store: on SQL stores it runs inside the transaction that holds
// the session's lock.
//
// If fn returns an error, nothing is written and ModifyState returns that
// error. A returned key with the reserved prefix is an error matching
// ErrReservedKey, and nothing is written. A store without Modify gives an
// error matching ErrModifyUnsupported. Errors are otherwise as for State.
func ModifyState(ctx context.Context, fn func(state map[string]any) (map[string]any, error)) error {
	return adapter.ModifyState(ctx, fn)
}
