// Package testsignal lets a test wait for the moment production code
// reaches, instead of sleeping or polling: river's testsignal. The code
// fires a Signal where something happens (a lease taken, an invalidation
// applied); that does nothing, and costs one atomic load, unless a test
// armed the Signal, in which case the test receives what was fired.
//
// It does not import package testing, so that a program's binary does not
// link it: TB is the part of testing.TB a Signal needs.
package testsignal

import (
	"sync/atomic"
	"time"
)

// TB is what a Signal needs of a test: testing.TB has it.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// capacity is how many fired values an armed Signal keeps for its test:
// the newest, so that a test that let values pile up still receives the
// one it waits for.
const capacity = 1024

// Timeout is how long Wait waits: a deadline for a broken test, never part
// of the timing under test.
const Timeout = 30 * time.Second

// A Signal is fired by production code with a value of type T. Its zero
// value is disarmed. It is safe for concurrent use.
type Signal[T any] struct {
	ch atomic.Pointer[chan T]
}

// Arm makes s keep what is fired from now until t ends.
func (s *Signal[T]) Arm(t TB) {
	t.Helper()
	ch := make(chan T, capacity)
	s.ch.Store(&ch)
	t.Cleanup(func() { s.ch.Store(nil) })
}

// Fire hands v to the test that armed s, if any, without ever blocking:
// when the test has capacity values waiting, the oldest goes.
func (s *Signal[T]) Fire(v T) {
	ch := s.ch.Load()
	if ch == nil {
		return
	}
	for {
		select {
		case *ch <- v:
			return
		default:
		}
		select {
		case <-*ch:
		default:
		}
	}
}

// Drain drops what was fired and not yet received: a test that waits for
// what happens next.
func (s *Signal[T]) Drain() {
	for c := s.C(); ; {
		select {
		case <-c:
		default:
			return
		}
	}
}

// C returns the channel an armed s delivers on, for a test that waits for
// it beside other things; nil when s is not armed.
func (s *Signal[T]) C() <-chan T {
	if ch := s.ch.Load(); ch != nil {
		return *ch
	}
	return nil
}

// Wait returns the next value fired, failing t after Timeout, or at once
// when s is not armed.
func (s *Signal[T]) Wait(t TB) T {
	t.Helper()
	var zero T
	c := s.C()
	if c == nil {
		t.Fatalf("testsignal: waiting on a signal that is not armed")
		return zero
	}
	select {
	case v := <-c:
		return v
	case <-time.After(Timeout):
		t.Fatalf("testsignal: nothing fired within %v", Timeout)
		return zero
	}
}
