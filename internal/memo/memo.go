// Package memo remembers what a session's stored values decoded to, so that
// an SDK adapter that rebuilds a session's objects on every request (mcp-go
// does) does not decode the same value again.
package memo

import (
	"sync"
	"sync/atomic"

	"github.com/mcpsession/mcpsession/internal/jsonvalue"
)

// DefaultSessions is how many sessions a Memo remembers.
const DefaultSessions = 4096

// Memo remembers, per session, what one of its stored values decoded to, so
// that the session's requests do not decode the same value again: mcp-go
// builds a fresh session object for every request, on which the adapter
// sets the client's info and capabilities from the record. A remembered
// result is used only while the stored value equals (jsonvalue.Equal) the
// one it was decoded from, of which the Memo keeps a copy, so a changed
// record is decoded again. At most max sessions are remembered; past that
// one of them is forgotten for each new one. It is safe for concurrent use.
type Memo[T any] struct {
	max  int
	n    atomic.Int64
	byID sync.Map // session id -> *memoEntry[T]
}

type memoEntry[T any] struct {
	raw any // a copy; never modified
	val T
	ok  bool
}

// New returns a Memo of at most max sessions (DefaultSessions when
// max is not positive).
func New[T any](max int) *Memo[T] {
	if max <= 0 {
		max = DefaultSessions
	}
	return &Memo[T]{max: max}
}

// Decode returns decode(raw), raw being a value of session id's record, or
// what it returned before for an equal value of id. The result is shared
// by the session's requests: callers must not modify what it holds.
func (m *Memo[T]) Decode(id string, raw any, decode func(raw any) (T, bool)) (T, bool) {
	if v, found := m.byID.Load(id); found {
		if e := v.(*memoEntry[T]); jsonvalue.Equal(e.raw, raw) {
			return e.val, e.ok
		}
	}
	val, ok := decode(raw)
	if _, loaded := m.byID.Swap(id, &memoEntry[T]{raw: jsonvalue.Copy(raw), val: val, ok: ok}); !loaded {
		if m.n.Add(1) > int64(m.max) {
			m.evictOne(id)
		}
	}
	return val, ok
}

// evictOne forgets a session other than keep.
func (m *Memo[T]) evictOne(keep string) {
	m.byID.Range(func(k, _ any) bool {
		if k == keep {
			return true
		}
		if _, loaded := m.byID.LoadAndDelete(k); loaded {
			m.n.Add(-1)
		}
		return false
	})
}

// Forget drops what is remembered of session id.
func (m *Memo[T]) Forget(id string) {
	if _, loaded := m.byID.LoadAndDelete(id); loaded {
		m.n.Add(-1)
	}
}

// Len is the number of sessions remembered.
func (m *Memo[T]) Len() int { return int(m.n.Load()) }
