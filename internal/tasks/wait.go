package tasks

import (
	"context"
	"time"

	"github.com/mcpsession/mcpsession/internal/msgbus"
)

// Wait returns principal's task id once its status is terminal: at once if
// it is, else when a change of the task announced on the bus says it has
// become so, on whichever replica that happened. It is what tasks/result
// needs. Wait reads the task again when a message wakes it, when the bus
// becomes ready, and every WithBackstop (30 s by default) in case a
// message was lost; it never polls the table in a loop. A task whose
// replica stopped has failed once its lease lapsed: Wait learns so when a
// sweep announces it, or at its backstop.
//
// It returns the same errors as Get (ErrTaskNotFound, also when the task
// is deleted while Wait waits, ErrTaskExpired), and ctx.Err() when ctx
// ends first.
func (s *Store) Wait(ctx context.Context, id, principal string) (Task, error) {
	if err := checkKey(id, principal); err != nil {
		return Task{}, err
	}
	wake := make(chan struct{}, 1)
	stop := s.Watch(id, func(st Status) {
		if st == Working || st == InputRequired {
			return // not what Wait waits for: no need to read
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	defer stop()

	// Until the bus is ready, it may miss a message: read again once it
	// is.
	ready := s.bus.Ready()
	select {
	case <-ready:
		ready = nil
	default:
	}
	backstop := time.NewTimer(s.cfg.backstop)
	defer backstop.Stop()
	for {
		t, err := s.Get(ctx, id, principal)
		if err != nil || t.Status.Terminal() {
			return t, err
		}
		if s.waiting != nil {
			s.waiting()
		}
		select {
		case <-wake:
		case <-ready:
			ready = nil
		case <-backstop.C:
		case <-ctx.Done():
			return Task{}, ctx.Err()
		}
		backstop.Reset(s.cfg.backstop)
	}
}

// Watch calls fn with the new status of task id each time any replica
// changes it (SetStatus, Complete, Fail, Cancel, Sweep), and with "" when
// Sweep deletes it: how the replica running a task learns that it was
// cancelled elsewhere. The lapse of a lease is announced when a sweep
// writes it down. It checks no principal: fn learns only a status,
// and only code of this process can call Watch.
//
// fn runs on the bus's goroutine and must return quickly. Messages arrive
// while the bus runs (bus.Run), once it is ready; a change made by a
// replica that died before it announced it is not reported. The returned
// function stops the watch.
func (s *Store) Watch(id string, fn func(Status)) (stop func()) {
	return s.bus.Subscribe(topic(id), func(m msgbus.Message) { fn(Status(m.Payload)) })
}
