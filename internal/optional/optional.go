// Package optional holds the methods a session store may have beside the
// contract of package mcpsession, which only this module's packages look
// for: a store that has one is used better, one that has not is used all
// the same. A store outside the module gains by them only by having the
// methods, which is why they are not part of the contract.
package optional

import (
	"context"
	"time"
)

// IdleTimeouter is a store that reports its idle timeout (sqlstore's Store,
// and a cache over it): the adapters derive their touch interval from it,
// and a janitor its ttl. Zero means sessions do not expire when idle.
type IdleTimeouter interface {
	IdleTimeout() time.Duration
}

// SharedGetter is a store that can return a session's metadata without
// copying it (a cache): the map is shared with the store and other callers
// and must not be modified. The adapters read sessions with it, only to
// read.
type SharedGetter interface {
	GetShared(ctx context.Context, id string) (map[string]any, error)
}
