package janitor

import "time"

// clock is the seam between the Janitor and time, so that tests can decide
// when a wait ends instead of sleeping.
type clock interface {
	now() time.Time
	newTimer(d time.Duration) timer
}

// timer is the part of *time.Timer the Janitor uses.
type timer interface {
	c() <-chan time.Time
	stop() bool
}

type realClock struct{}

func (realClock) now() time.Time { return time.Now() }

func (realClock) newTimer(d time.Duration) timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (t realTimer) c() <-chan time.Time { return t.t.C }

func (t realTimer) stop() bool { return t.t.Stop() }
