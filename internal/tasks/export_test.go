package tasks

import "time"

// SetClock makes every statement of s take now() for now instead of the
// database's clock. Call it before s is used.
func SetClock(s *Store, now func() time.Time) { s.clock = now }

// OnWaiting calls fn each time Wait on s has read a task that is not
// finished and is about to wait. Call it before s is used.
func OnWaiting(s *Store, fn func()) { s.waiting = fn }

// Topic is the bus topic of task id's changes.
func Topic(id string) string { return topic(id) }
